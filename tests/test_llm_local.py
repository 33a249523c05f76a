"""End to end with the real local LLM (the bundled GGUF through llama.cpp, installed by
`make llm`) and, through the OpenAI-compatible backend, the same model behind llama-cpp-python's
real server on loopback. Whatever the model writes, what is shown is verified."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Answer, Settings, answer_stream
from assistant.chain import Engine
from assistant.evaluate import ready, run, settings_for, unsupported_claims
from assistant.model_files import model_ready

# Floors below what the measured decision (assistant/data/decision.json) reached on the dev
# halves by leave-one-text-out (README, "How the LLM and the rules decide": 50-58% right,
# 44-100% refusals per text), so that a regression shows; the held-out numbers are in the README.
# Two held-out parts (the bundled article and one text nobody tuned on) keep `make test` under
# its 30 minutes; `assistant eval --part heldouts --llm local` measures all eight texts.
FLOORS = {"heldout": {"answer_accuracy": 0.35, "refusal_recall": 0.6},
          "news-heldout": {"answer_accuracy": 0.3, "refusal_recall": 0.5}}


@pytest.fixture(scope="module")
def settings() -> Settings:
    # A long timeout: on a busy machine the first read of the article takes a while.
    # A reader waits as long as the model needs here (no quick answers): these tests measure
    # what the LLM reads and writes.
    settings = replace(Settings.from_env(), llm="local", llm_timeout=180.0, llm_max_wait=600.0)
    assert model_ready(settings.llm_model_path), "the model is missing: run `make llm`"
    import llama_cpp  # noqa: F401 - fails here, not later, when `make llm` has not run

    return settings


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Engine:
    return ready(Engine(settings))


def _verified(engine: Engine, result: Answer) -> None:
    for c in result.citations:
        assert engine.article.text[c.start:c.end] == c.text
    assert unsupported_claims(result, engine.matcher, engine.article.text) == 0, result.text


def test_reads_answers_and_refuses(engine: Engine) -> None:
    when = engine.ask("Jusqu'à quand l'ISS sera-t-elle exploitée ?")
    assert when.found and "2028" in when.citations[0].text
    _verified(engine, when)
    who = engine.ask("Who is the acting administrator of NASA?")
    assert who.found and who.language == "en" and "Duffy" in who.text
    _verified(engine, who)
    unknown = engine.ask("Combien d'astronautes japonais sont à bord ?")
    assert not unknown.found
    assert engine.llm is not None
    assert "local" in {when.backend, who.backend}  # the LLM answered, not only the rules


def test_overview_in_the_readers_language(engine: Engine) -> None:
    for question, language in (("De quoi parle cet article ?", "fr"),
                               ("What is this article about?", "en")):
        result = engine.ask(question)
        assert result.found and result.language == language and result.citations
        _verified(engine, result)


def test_stream_ends_with_the_answer(engine: Engine) -> None:
    pieces = list(answer_stream("Where did the two directors meet?", engine=engine))
    final = pieces[-1]
    assert isinstance(final, Answer)
    assert "".join(p for p in pieces[:-1] if isinstance(p, str)) == final.text
    _verified(engine, final)


def test_followup_with_typed_turns(engine: Engine) -> None:
    # The first question is one `test_reads_answers_and_refuses` requires answered.
    question = "Who is the acting administrator of NASA?"
    first = engine.ask(question)
    second = engine.ask("And what did he say?", [(question, first)])
    # The follow-up leans on the typed first answer: it is searched with what that answer named.
    assert first.found and "Duffy" in first.direct, first.text
    assert "Duffy" in second.query, second.query
    # The measured decision may refuse it (it refuses more than it used to: README, "How the
    # LLM and the rules decide"); whatever it shows is verified.
    _verified(engine, second)


@pytest.mark.parametrize("part", list(FLOORS))
def test_heldout_quality_with_the_local_llm(settings: Settings, part: str) -> None:
    report = run(ready(Engine(settings_for(part, settings))), part)
    metrics = report.metrics()
    print(part, metrics)
    out = Path("artifacts")  # what this run measured, for the README's tables
    out.mkdir(exist_ok=True)
    (out / f"llm-{part}.json").write_text(json.dumps(metrics, indent=1), "utf-8")
    assert metrics["unverified_claims_shown"] == 0
    assert metrics["unsupported_text_shown"] == 0, [
        (o.case.id, o.unsupported_words) for o in report.outcomes if o.unsupported_words]
    for key, floor in FLOORS[part].items():
        assert metrics[key] >= floor, f"{part} {key} fell to {metrics[key]} (floor {floor})"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_openai_backend_against_a_real_server(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(settings.llm_model_path),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
         "--n_threads", str(settings.llm_threads), "--model_alias", "qwen"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
                assert time.time() < deadline, "the llama.cpp server did not start"
                time.sleep(1)
        remote = replace(settings, llm="openai", llm_url=f"http://127.0.0.1:{port}/v1",
                         llm_model="qwen", llm_timeout=120.0)
        engine = Engine(remote)
        result = engine.ask("Jusqu'à quand l'ISS sera-t-elle exploitée ?")
        assert result.found and result.backend == "openai" and "2028" in result.text
        _verified(engine, result)
        refusal = engine.ask("Quel est le budget annuel de la station ?")
        assert not refusal.found
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
