"""The index on a real Chroma server (`chroma run` on loopback, temporary path, free port): built
there, opened again without a rebuild by a second process, same answers as the local index."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Settings, get_engine
from assistant.chain import Engine
from assistant.errors import IndexBuildError
from assistant.evaluate import load_cases
from assistant.store import open_index


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, (data / "server.log").read_text()
                assert time.monotonic() < deadline, "chroma run did not start in 60 s"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


@pytest.fixture(scope="module")
def local() -> Engine:
    return get_engine(Settings.from_env())


@pytest.fixture(scope="module")
def remote(local: Engine, chroma_url: str) -> Engine:
    return Engine(replace(local.settings, chroma_url=chroma_url))


def test_built_on_the_server_and_answers_like_the_local_index(local: Engine,
                                                              remote: Engine) -> None:
    assert remote.index.manifest["store"].startswith("article-")
    assert remote.index.manifest["count"] == local.index.manifest["count"]
    cases = load_cases("dev")
    for case in cases:
        here = local.ask(case.question, list(case.history))
        there = remote.ask(case.question, list(case.history))
        assert (there.text, there.found, there.citations) == (here.text, here.found,
                                                              here.citations), case.id


def test_another_process_opens_it_without_a_rebuild(remote: Engine, chroma_url: str) -> None:
    code = ("import json,sys;from assistant import Settings,get_engine;"
            "e=get_engine(Settings.from_env());a=e.ask('Qui dirige la NASA ?');"
            "print(json.dumps([e.index.manifest['store'],a.found]))")
    env = {"ASSISTANT_CHROMA_URL": chroma_url}
    import os

    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=240, check=True)
    store, found = json.loads(out.stdout.strip().splitlines()[-1])
    assert store == remote.index.manifest["store"] and found


def test_stale_or_foreign_manifest_on_the_server_rebuilds(remote: Engine, chroma_url: str,
                                                          caplog) -> None:
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]))
    record = client.get_collection("assistant-manifest")
    manifest = json.loads(record.get(ids=["manifest"])["documents"][0])
    record.upsert(ids=["manifest"], documents=[json.dumps({**manifest, "store": "../etc"})],
                  embeddings=[[0.0]])
    with caplog.at_level(logging.INFO, logger="assistant.store"):
        rebuilt = open_index(remote.settings, remote.article, remote.embeddings)
    assert "refused" in caplog.text
    assert rebuilt.manifest["store"] != manifest["store"]
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    assert rebuilt.manifest["store"] in names and "assistant-manifest" in names
    assert len([n for n in names if n.startswith("article-")]) <= 2  # old ones are deleted


def test_unreachable_server_is_a_clear_error(local: Engine) -> None:
    settings = replace(local.settings, chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(IndexBuildError, match="Chroma server"):
        open_index(settings, local.article, local.embeddings)
