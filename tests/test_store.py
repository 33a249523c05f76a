"""Index faults on a real Chroma store: a read-only directory, a manifest pointing elsewhere,
Chroma's own error messages, a build killed midway."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Settings, get_engine
from assistant.chain import Engine
from assistant.errors import IndexBuildError
from assistant.store import ArticleIndex, _chroma, open_index


@pytest.fixture(scope="module")
def engine() -> Engine:
    return get_engine(Settings.from_env())


@pytest.fixture
def index_copy(engine: Engine, tmp_path: Path) -> Path:
    """A copy of the session's built index, to damage."""
    copy = tmp_path / "index"
    shutil.copytree(engine.settings.index_dir, copy,
                    ignore=shutil.ignore_patterns("*.lock", "manifest.json.*"))
    return copy


def _open(engine: Engine, root: Path, **kwargs: bool) -> ArticleIndex:
    settings = replace(engine.settings, index_dir=root)
    return open_index(settings, engine.article, engine.embeddings, **kwargs)


def _stores(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("store-*"))


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text("utf-8"))


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` read-only for this process: a read-only bind mount for root (who ignores file
    modes), the write bits off otherwise."""
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "--bind", "-o", "ro", str(path), str(path)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("running as root without the right to mount read-only")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=False)
        try:
            yield
        finally:
            subprocess.run(["umount", str(path)], check=False)
    else:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_read_only_index_is_opened_from_a_private_copy(engine: Engine, index_copy: Path,
                                                       caplog) -> None:
    before = _manifest(index_copy)
    with read_only(index_copy), caplog.at_level(logging.INFO, logger="assistant.store"):
        with pytest.raises(OSError):
            (index_copy / "probe").write_text("x")
        index = _open(engine, index_copy)
        assert index.manifest["store"] == before["store"]  # the same store, not a rebuild
        assert "read-only: opening a private copy" in caplog.text
        assert "RustBindingsAPI" not in caplog.text
        ranked = index.vectorstore.similarity_search_by_vector(
            engine.embeddings.query_array("Qui dirige la NASA ?").tolist(), k=3)
        assert len(ranked) == 3  # the copy answers queries
    assert _manifest(index_copy) == before


def test_chroma_errors_are_ours_not_rustbindings(engine: Engine, index_copy: Path,
                                                 caplog) -> None:
    store = index_copy / _manifest(index_copy)["store"]
    with read_only(index_copy), caplog.at_level(logging.DEBUG):
        for _ in range(2):  # the second try used to fail with "... no attribute 'bindings'"
            with pytest.raises(IndexBuildError, match="Chroma cannot open the store") as caught:
                _chroma(store, engine.embeddings)
            assert "RustBindingsAPI" not in str(caught.value)
    assert "RustBindingsAPI" not in caplog.text
    _chroma(store, engine.embeddings)  # writable again: opens


def test_read_only_and_stale_index_is_built_privately(engine: Engine, index_copy: Path,
                                                      caplog) -> None:
    manifest = _manifest(index_copy)
    (index_copy / "manifest.json").write_text(json.dumps({**manifest, "article_sha256": "x"}))
    with read_only(index_copy), caplog.at_level(logging.WARNING, logger="assistant.store"):
        index = _open(engine, index_copy)
    assert index.manifest["article_sha256"] == engine.article.sha256
    assert "directory is read-only: building a private copy" in caplog.text
    assert _stores(index_copy) == [manifest["store"]]  # nothing written in the read-only one


@pytest.mark.parametrize("name", ["../outside", "/etc", "store-../../x", "..", "",
                                  None, 42, "store-0123456789ab/../../outside", "STORE-X"])
def test_manifest_naming_a_store_outside_the_index_is_refused(engine: Engine, tmp_path: Path,
                                                              name: object, caplog) -> None:
    from assistant.store import _try_open, expected_manifest

    root = tmp_path / "index"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "chroma.sqlite3").write_text("not a database")
    expected = expected_manifest(engine.article, engine.embeddings)
    (root / "manifest.json").write_text(json.dumps({**expected, "store": name, "count": 1}))
    with caplog.at_level(logging.WARNING, logger="assistant.store"):
        assert _try_open(root, engine.article, engine.embeddings, expected) is None
    assert "refused" in caplog.text
    assert (outside / "chroma.sqlite3").read_text() == "not a database"
    assert sorted(p.name for p in outside.iterdir()) == ["chroma.sqlite3"]


def test_a_symbolic_link_out_of_the_index_is_refused(engine: Engine, index_copy: Path,
                                                     tmp_path: Path, caplog) -> None:
    from assistant.store import _try_open, expected_manifest

    manifest = _manifest(index_copy)
    elsewhere = tmp_path / "elsewhere"
    (index_copy / manifest["store"]).rename(elsewhere)
    (index_copy / manifest["store"]).symlink_to(elsewhere)
    expected = expected_manifest(engine.article, engine.embeddings)
    with caplog.at_level(logging.WARNING, logger="assistant.store"):
        assert _try_open(index_copy, engine.article, engine.embeddings, expected) is None
    assert "refused" in caplog.text


def test_a_build_killed_midway_leaves_nothing_to_trip_on(engine: Engine, index_copy: Path,
                                                         caplog) -> None:
    before = _manifest(index_copy)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_copy)}
    build = subprocess.Popen([sys.executable, "-m", "assistant", "index", "--rebuild"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        # Kill it as soon as the new store is being written, the worst moment.
        while len(_stores(index_copy)) < 2 and build.poll() is None:
            assert time.monotonic() < deadline, "the build never started writing"
            time.sleep(0.02)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait(30)
    if build.returncode == 0:
        pytest.skip("the build finished before it could be killed")
    assert _manifest(index_copy) == before
    with caplog.at_level(logging.INFO, logger="assistant.store"):
        index = _open(engine, index_copy)  # the next start opens the previous store at once
    assert index.manifest["store"] == before["store"]
    assert "rebuilding" not in caplog.text
    orphans = [s for s in _stores(index_copy) if s != before["store"]]
    assert orphans  # the killed build's partial store...
    rebuilt = _open(engine, index_copy, rebuild=True)
    assert not set(orphans) & set(_stores(index_copy))  # ...is removed by the next build
    assert _stores(index_copy) == sorted([before["store"], rebuilt.manifest["store"]])
    assert not list(index_copy.glob("manifest.json.*"))


def test_damaged_store_is_rebuilt_with_our_message(engine: Engine, index_copy: Path,
                                                   caplog) -> None:
    store = index_copy / _manifest(index_copy)["store"]
    (store / "chroma.sqlite3").write_bytes(b"\0garbage" * 1000)
    with caplog.at_level(logging.WARNING, logger="assistant.store"):
        index = _open(engine, index_copy)
    assert index.manifest["store"] != store.name
    assert "cannot be read" in caplog.text and "RustBindingsAPI" not in caplog.text
