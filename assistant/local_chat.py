"""The bundled GGUF through llama-cpp-python, in process: `LocalChat`, its article prefix
state saved beside the index, and the probability of each generated token."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import math
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .chat import RETRY_SECONDS, Completion, render_chatml
from .config import Settings
from .decide import LLMUnavailable
from .model_files import model_ready

log = logging.getLogger(__name__)


class LocalChat:
    """The bundled GGUF through llama-cpp-python, loaded on first use. If llama-cpp-python is
    not installed yet (`make llm` builds it) or the model file is missing, it says so once and
    looks again a minute later: the rules answer meanwhile."""

    name = "local"

    def __init__(self, settings: Settings, prefix_key: str = "") -> None:
        self.settings = settings
        self.prefix_key = prefix_key
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._failed_at = -math.inf
        self._failure = ""
        self._said = False

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None) -> Completion:
        started = time.perf_counter()
        if not self._lock.acquire(timeout=self.settings.llm_timeout):
            raise LLMUnavailable("the local LLM is busy with other questions")
        try:
            llama = self._load()
            prompt = render_chatml(messages)
            grammar = self._grammar(schema) if schema else None
            probe = _Confidence()
            deadline = started + self.settings.llm_timeout

            def past_deadline(_ids: Any, _logits: Any) -> bool:
                return time.perf_counter() > deadline

            from llama_cpp import LogitsProcessorList, StoppingCriteriaList

            try:
                out = llama.create_completion(
                    prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, grammar=grammar,
                    stop=["<|im_end|>", "<|endoftext|>"],
                    logits_processor=LogitsProcessorList([probe]),
                    stopping_criteria=StoppingCriteriaList([past_deadline]),
                )
            except (ValueError, RuntimeError) as exc:  # a prompt over the context, a decode error
                raise LLMUnavailable(f"the local LLM could not answer ({exc})") from None
            if time.perf_counter() > deadline:
                raise LLMUnavailable(f"the local LLM took over {self.settings.llm_timeout:.0f} s")
            text = out["choices"][0]["text"]
            return Completion(text, probe.lowest(), time.perf_counter() - started)
        finally:
            self._lock.release()

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Read the shared prefix now, or load its state saved on disk by an earlier process
        (keyed with the index manifest, the model and the prefix itself)."""
        with self._lock:
            llama = self._load()
            prefix = render_chatml(messages)[: -len("<|im_end|>\n<|im_start|>assistant\n")]
            tokens = llama.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
            state_file = self._state_file(prefix)
            if state_file is not None and _load_state(llama, state_file, tokens):
                return
            if len(tokens) >= self.settings.llm_context - 256:
                return  # too long to keep: each question reads its own passages
            llama.reset()
            try:
                llama.eval(tokens)
            except (ValueError, RuntimeError) as exc:
                log.warning("the local LLM could not read the article (%s)", exc)
                llama.reset()
                return
            if state_file is not None:
                _save_state(llama, state_file, len(tokens))

    def _state_file(self, prefix: str) -> Path | None:
        if not self.prefix_key:
            return None
        digest = hashlib.sha256(f"{self.prefix_key}\n{self.settings.llm_model_path}\n{prefix}"
                                .encode()).hexdigest()[:16]
        return Path(self.settings.index_dir) / f"llm-prefix-{digest}.state"

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        if time.monotonic() - self._failed_at < RETRY_SECONDS:
            raise LLMUnavailable(self._failure)
        try:
            importlib.invalidate_caches()  # it may have been installed since the last look
            import llama_cpp
        except ImportError:
            self._fail("the local LLM is not installed yet (llama-cpp-python: `make llm` builds "
                       "it, about 20 minutes on 2 cores); answering with the rules meanwhile")
        path = Path(self.settings.llm_model_path)
        if not model_ready(path):
            self._fail(f"the local LLM's model is not at {path} yet (`assistant setup-llm` "
                       "downloads it); answering with the rules meanwhile")
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=self.settings.llm_context,
                n_threads=self.settings.llm_threads, n_batch=512, verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - any load failure: the rules answer
            self._fail(f"the local LLM failed to load ({exc}); answering with the rules")
        log.info("local LLM loaded from %s", path)
        return self._llama

    def _fail(self, message: str) -> None:
        self._failed_at = time.monotonic()
        self._failure = message
        if not self._said:
            log.warning("%s", message)
            self._said = True
        raise LLMUnavailable(message)

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]


class _Confidence:
    """A llama.cpp logits processor that records, at each step, the probability of the token
    the previous step chose (greedy decoding: the most probable one allowed)."""

    def __init__(self) -> None:
        self.probabilities: list[float] = []
        self._last: np.ndarray | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._last is not None and len(input_ids):
            self.probabilities.append(float(self._last[int(input_ids[-1])]))
        logits = np.asarray(scores, dtype=np.float64)
        exp = np.exp(logits - logits.max())
        self._last = exp / exp.sum()
        return scores

    def lowest(self) -> float:
        return min(self.probabilities) if self.probabilities else 1.0


def _save_state(llama: Any, path: Path, n_tokens: int) -> None:
    """The KV state of the prefix (not llama-cpp-python's logits copy: hundreds of MB)."""
    import ctypes

    import llama_cpp

    try:
        size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        used = llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size)
        for old in path.parent.glob("llm-prefix-*.state"):
            old.unlink(missing_ok=True)  # one cached prefix per index directory
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"tokens": list(llama.input_ids[:n_tokens]), "state": bytes(buffer)[:used]},
                        f)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the LLM prefix cache %s (%s)", path, exc)


def _load_state(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Restore a saved prefix state if it is the state of exactly `tokens`."""
    import ctypes

    import llama_cpp

    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            saved = pickle.load(f)
        if [int(t) for t in saved["tokens"]] != list(tokens):
            return False
        data = saved["state"]
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, len(data)) != len(data):
            return False
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        llama._requires_eval = True
        return True
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
        log.warning("cannot load the LLM prefix cache %s (%s)", path, exc)
        return False
