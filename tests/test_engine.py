"""The engine with the real embedding model and a real Chroma store on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.documents import Document

from assistant import (
    Answer,
    EmptyQuestionError,
    ModelLoadError,
    QuestionTooLongError,
    Settings,
    answer,
    get_engine,
)
from assistant.chain import Engine
from assistant.store import open_index


@pytest.fixture(scope="session")
def engine() -> Engine:
    return get_engine(Settings.from_env())


def _check_citations(engine: Engine, result: Answer) -> None:
    for c in result.citations:
        assert engine.article.text[c.start : c.end] == c.text
        assert c.section


def test_answers_with_exact_citations(engine: Engine) -> None:
    result = answer("Jusqu'en quelle année la NASA pense-t-elle garder la station en orbite ?",
                    engine=engine)
    assert result.found and result.language == "fr"
    assert "[1]" in result.text and result.citations
    assert result.citations[0].text in result.text  # the quote is verbatim
    _check_citations(engine, result)


def test_english_question_gets_english_framing(engine: Engine) -> None:
    result = answer("Where did the Russian director meet the acting NASA administrator?",
                    engine=engine)
    assert result.language == "en"
    assert result.text.split(".")[0] and "According to the article" in result.text
    _check_citations(engine, result)


def test_unknown_name_is_not_guessed(engine: Engine) -> None:
    result = answer("Quel rôle le Canada joue-t-il dans la station ?", engine=engine)
    assert not result.found
    assert result.text.startswith("L'article ne le dit pas")


def test_followup_returns_standalone_query(engine: Engine) -> None:
    first = answer("Qui est le directeur russe ?", engine=engine)
    second = answer("Et qu'a-t-il déclaré ?", history=[("Qui est le directeur russe ?",
                                                        first.text)], engine=engine)
    assert second.query != "Et qu'a-t-il déclaré ?" and "Bakanov" in second.query
    assert second.found and "déclaré" in second.citations[0].text
    _check_citations(engine, second)


def test_bad_questions(engine: Engine) -> None:
    with pytest.raises(EmptyQuestionError):
        answer("   \n\t ", engine=engine)
    with pytest.raises(EmptyQuestionError):
        answer("<b></b>", engine=engine)
    with pytest.raises(QuestionTooLongError, match="limit is 2,000"):
        answer("x" * 2001, engine=engine)
    binary = answer("\x00\x01Qui\x07 dirige la NASA ?\x1b", engine=engine)
    assert "\x00" not in binary.query and "\x07" not in binary.query


def test_thread_safe(engine: Engine) -> None:
    questions = ["Quand ?", "Who met in Houston?", "Pourquoi la Russie garde-t-elle son segment ?"]
    expected = {q: answer(q, engine=engine).text for q in questions}
    results: list[tuple[str, str]] = []

    def ask(q: str) -> None:
        results.append((q, answer(q, engine=engine).text))

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12 and all(expected[q] == text for q, text in results)


def test_retriever_is_a_langchain_retriever(engine: Engine) -> None:
    docs = engine.retriever.invoke("Qui dirige l'agence spatiale russe ?")
    assert docs and isinstance(docs[0], Document) and len(docs) == engine.settings.top_k
    assert {"sentence", "rank", "start", "end", "section"} <= set(docs[0].metadata)
    first = engine.article.sentences[docs[0].metadata["sentence"]]
    assert docs[0].page_content == first.text


def test_overview_without_an_llm_quotes_the_lead(engine: Engine) -> None:
    for question in ("De quoi parle cet article ?", "What is this article about?"):
        result = answer(question, engine=engine)
        assert result.found and result.backend == "rules"
        assert engine.article.title in result.text
        lead = engine.article.sentences[0]
        assert result.citations[0].text == lead.text and "[1]" in result.text
        _check_citations(engine, result)


def test_index_reopens_rebuilds_when_stale_or_damaged(engine: Engine, tmp_path: Path) -> None:
    settings = replace(engine.settings, index_dir=tmp_path / "index")
    first = open_index(settings, engine.article, engine.embeddings)
    store = first.manifest["store"]
    again = open_index(settings, engine.article, engine.embeddings)
    assert again.manifest["store"] == store  # reused, not rebuilt

    manifest = tmp_path / "index" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["article_sha256"] = "stale"
    manifest.write_text(json.dumps(data))
    stale = open_index(settings, engine.article, engine.embeddings)
    assert stale.manifest["store"] != store and stale.manifest["article_sha256"] != "stale"

    manifest.write_text("{not json")
    damaged = open_index(settings, engine.article, engine.embeddings)
    assert len(damaged.chunks) == len(engine.article.sentences)
    for path in (tmp_path / "index" / damaged.manifest["store"]).rglob("*.sqlite3"):
        path.write_bytes(b"garbage")
    fixed = open_index(settings, engine.article, engine.embeddings)
    assert len(fixed.chunks) == len(engine.article.sentences)


def test_other_article(tmp_path: Path) -> None:
    article = tmp_path / "other.txt"
    article.write_text(
        "Le port ouvre un nouveau quai\nLa ville investit dans son port\n"
        "La mairie de Brest a inauguré un quai en 2025. Il a coûté 12 millions d'euros.\n"
        "Les travaux\nLes travaux ont été menés par l'entreprise Atlantique Travaux.\n",
        "utf-8",
    )
    settings = replace(Settings.from_env(), article_path=article, index_dir=tmp_path / "idx")
    other = Engine(settings)
    result = other.ask("Combien a coûté le quai ?")
    assert result.found and result.citations[0].text == "Il a coûté 12 millions d'euros."
    assert "12 millions" in result.text


def test_cli_ask_json_and_errors() -> None:
    env = {**os.environ}
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "Qui est Sean Duffy ?",
                          "--json"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"text", "found", "citations", "language", "query"}
    empty = subprocess.run([sys.executable, "-m", "assistant", "ask", "  "],
                           capture_output=True, text=True, env=env, timeout=120, check=False)
    assert empty.returncode == 2 and "empty" in empty.stderr and "Traceback" not in empty.stderr


def test_sentence_transformers_backend(tmp_path: Path) -> None:
    settings = replace(Settings.from_env(), embedding_backend="st", index_dir=tmp_path / "st")
    st = Engine(settings)
    assert st.index.manifest["embedding"]["backend"] == "st"
    assert st.index.sentence_vecs.shape[1] == 384
    result = st.ask("Where did Bakanov meet the NASA administrator?")
    for c in result.citations:
        assert st.article.text[c.start : c.end] == c.text


def test_model_that_cannot_load(tmp_path: Path) -> None:
    settings = replace(Settings.from_env(), embedding_backend="st",
                       embedding_model=str(tmp_path / "no-such-model"), index_dir=tmp_path / "x")
    with pytest.raises(ModelLoadError, match="ASSISTANT_EMBEDDING_MODEL"):
        Engine(settings)
