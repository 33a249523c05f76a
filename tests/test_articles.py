"""Any article through the API (`answer(..., article=...)`, `assistant.library.engine_for`):
real e5, real Chroma, the rules (ASSISTANT_LLM=none, as the suite sets). A second article is
answered with citations exact in its text while the bundled one still answers in the same
process; the memory and disk bounds hold; bad input fails with an `ArticleError` subclass and
leaves nothing on disk; two threads asking for the same new article build it once."""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest

from assistant import (
    Answer,
    ArticleNotTextError,
    ArticleTooLongError,
    ArticleWithoutSentencesError,
    EmptyArticleError,
    Progress,
    Settings,
    answer,
    answer_stream,
    article_key,
    engine_for,
    get_engine,
)
from assistant.config import DEFAULT_ARTICLE
from assistant.errors import ConfigError, IndexBuildError
from assistant.library import stored_articles

NEWS = (Path(__file__).parent / "data" / "texts" / "news" / "article.txt").read_text("utf-8")
COST = "Quelle somme la rénovation a-t-elle coûté au total ?"


def tiny(n: int) -> str:
    """A small article of its own (a title, two paragraphs): a build of about a second."""
    return (f"La passerelle numéro {n} rouvre à Valmorin\n"
            f"La passerelle numéro {n} de Valmorin a rouvert lundi après {n + 2} mois de travaux. "
            f"Le chantier a coûté {n + 1} millions d'euros, selon la commune.\n"
            f"L'ingénieure Lise Armand a dirigé la rénovation de l'ouvrage.\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Settings:
    """The suite's settings, the readers' articles stored under a directory of this module."""
    return dataclasses.replace(Settings.from_env(), llm="none",
                               index_dir=tmp_path_factory.mktemp("articles-index"))


def exact(a: Answer, text: str) -> None:
    assert a.citations, a
    for c in a.citations:
        assert text[c.start:c.end] == c.text, c


def listing(settings: Settings) -> list[str]:
    root = Path(settings.index_dir) / "articles"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_a_second_article_is_answered_from_its_own_text(base):
    steps: list[Progress] = []
    engine = engine_for(NEWS, base, progress=steps.append)
    assert engine.article.text == NEWS
    a = answer(COST, article=NEWS, settings=base)
    assert a.found and "4,2 millions" in a.text
    assert "Le chantier a coûté 4,2 millions d'euros" in a.citations[0].text
    exact(a, NEWS)
    english = answer("Who was put in charge of restoring the building?", article=NEWS,
                     settings=base)
    assert english.found and english.language == "en" and "Vidalou" in english.text
    exact(english, NEWS)
    *pieces, final = list(answer_stream(COST, article=NEWS, settings=base))
    assert isinstance(final, Answer) and final.text == a.text and "".join(pieces) == a.text
    # the build's steps, with their counts, for a progress bar
    names = [s.step for s in steps]
    assert names[0] == "reading" and names[-1] == "ready"
    assert {"tagging", "embedding", "writing"} <= set(names)
    for step in ("tagging", "embedding", "writing"):
        last = [s for s in steps if s.step == step][-1]
        assert last.done == last.total > 0, last
    # stored under the index directory by its content, the text byte for byte
    stored = Path(base.index_dir) / "articles" / article_key(NEWS)
    assert (stored / "article.txt").read_bytes() == NEWS.encode("utf-8")
    assert (stored / "manifest.json").is_file()
    assert engine.settings.index_dir == stored
    assert engine_for(NEWS, base) is engine  # cached


def test_the_bundled_article_still_answers_in_the_same_process(base):
    bundled = DEFAULT_ARTICLE.read_text("utf-8")
    a = answer("Jusqu'à quand l'ISS sera-t-elle exploitée ?", settings=base)
    assert a.found and "2028" in a.text
    exact(a, bundled)
    assert engine_for(None, base) is get_engine(base)
    assert engine_for(DEFAULT_ARTICLE, base) is get_engine(base)  # its own file: the same engine
    assert answer(COST, article=NEWS, settings=base).citations[0].text in NEWS


def test_a_path_article_is_read_where_it_is(base, tmp_path):
    # a byte order mark and Windows line ends, as a pasted or saved text may have them
    text = "\ufeff" + NEWS.replace("\n", "\r\n")
    path = tmp_path / "castelbrac.txt"
    path.write_bytes(text.encode("utf-8"))
    a = answer(COST, article=path, settings=base)
    assert a.found and "4,2 millions" in a.text
    exact(a, text)
    engine = engine_for(path, base)
    assert engine.article.title == NEWS.splitlines()[0]
    stored = Path(base.index_dir) / "articles" / article_key(text)
    assert engine.settings.index_dir == stored and not (stored / "article.txt").exists()
    # the same text pasted: its offsets index the pasted text too
    exact(answer(COST, article=text, settings=base), text)


def test_memory_bound_drops_the_least_recently_used_engine(base):
    settings = dataclasses.replace(base, max_articles=2)
    first, second = engine_for(tiny(1), settings), engine_for(tiny(2), settings)
    assert engine_for(tiny(1), settings) is first  # now the most recently used
    dropped = weakref.ref(second)
    del second
    third = engine_for(tiny(3), settings)
    gc.collect()
    assert dropped() is None  # the second one's engine is gone from memory
    assert engine_for(tiny(1), settings) is first
    assert engine_for(tiny(3), settings) is third
    again = engine_for(tiny(2), settings)  # built again from its directory on disk
    assert again.article.text == tiny(2)
    assert answer("Qui a dirigé la rénovation ?", article=tiny(2), settings=settings).found


def test_disk_bound_removes_the_least_recently_used_directory(tmp_path):
    settings = dataclasses.replace(Settings.from_env(), llm="none", index_dir=tmp_path,
                                   max_articles=1, max_stored_articles=2)
    held = engine_for(tiny(10), settings)  # the oldest, but in use: never removed
    engine_for(tiny(11), settings)
    engine_for(tiny(12), settings)
    keys = {n: article_key(tiny(n)) for n in (10, 11, 12, 13)}
    assert listing(settings) == sorted([keys[10], keys[12]])
    # a build killed midway (no manifest, no lease held) is cleaned by the next build
    killed = tmp_path / "articles" / "0123456789abcdef"
    (killed / "store-000000000000").mkdir(parents=True)
    (killed / "article.txt").write_text(tiny(99), "utf-8")
    del held
    engine_for(tiny(13), settings)
    assert listing(settings) == sorted([keys[12], keys[13]])
    assert [p.name for p in stored_articles(settings)] == [keys[12], keys[13]]


@pytest.mark.parametrize("article, error, words", [
    ("", EmptyArticleError, "empty"),
    (" \n\t\r\n ", EmptyArticleError, "empty"),
    ("Un titre sans rien dessous", ArticleWithoutSentencesError, "no sentences"),
    (b"Un titre\nUne phrase.", ArticleNotTextError, "bytes"),
    (bytearray(b"\xff\xfe\x00"), ArticleNotTextError, "bytes"),
    ("Un titre\nUne phrase avec un \x00 dedans.", ArticleNotTextError, "NUL"),
    ("Un titre\nUne phrase \ud800 cassée.", ArticleNotTextError, "surrogate"),
    (42, ArticleNotTextError, "int"),
    ("Un titre\n" + "Une phrase assez longue pour dépasser la limite. " * 30, ArticleTooLongError,
     "limit is 1,000"),
])
def test_bad_input_fails_clearly_and_leaves_nothing(base, article, error, words):
    settings = dataclasses.replace(base, max_article_chars=1000)
    before = listing(settings)
    with pytest.raises(error, match=words):
        engine_for(article, settings)
    with pytest.raises(error):
        answer(COST, article=article, settings=settings)
    assert listing(settings) == before


def test_files_that_are_not_text_fail_clearly(base, tmp_path):
    before = listing(base)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Un titre\nUne phrase accentuée à la française.".encode("latin-1"))
    with pytest.raises(ArticleNotTextError, match="not UTF-8"):
        answer(COST, article=latin1, settings=base)
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ArticleNotTextError):
        engine_for(binary, base)
    assert listing(base) == before


class Gone(Exception):
    """A reader who left while the article was being indexed."""


def test_a_failed_build_removes_its_directory(base):
    text = tiny(20)

    def interrupt(step: Progress) -> None:
        if step.step == "writing":
            raise Gone

    with pytest.raises(IndexBuildError):
        engine_for(text, base, progress=interrupt)
    assert article_key(text) not in listing(base)
    assert engine_for(text, base).article.text == text  # and the next call builds it


def test_two_threads_asking_for_a_new_article_build_it_once(base):
    text = tiny(30)
    barrier = threading.Barrier(2)
    engines, steps = [], [[], []]

    def ask(n: int) -> None:
        barrier.wait()
        engines.append(engine_for(text, base, progress=steps[n].append))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(engines) == 2 and engines[0] is engines[1]
    builders = [s for s in steps if any(p.step == "embedding" for p in s)]
    assert len(builders) == 1  # one thread built, the other waited for its engine
    assert all(s[-1].step == "ready" for s in steps)
    stored = Path(base.index_dir) / "articles" / article_key(text)
    assert len(list(stored.glob("store-*"))) == 1


def test_the_bounds_are_settings():
    env = {"ASSISTANT_MAX_ARTICLES": "3", "ASSISTANT_MAX_STORED_ARTICLES": "7"}
    settings = Settings.from_env(env)
    assert (settings.max_articles, settings.max_stored_articles) == (3, 7)
    assert (Settings().max_articles, Settings().max_stored_articles) == (8, 50)
    for bad in ({"ASSISTANT_MAX_ARTICLES": "0"}, {"ASSISTANT_MAX_STORED_ARTICLES": "-1"},
                {"ASSISTANT_MAX_ARTICLES": "many"}):
        with pytest.raises(ConfigError, match="ASSISTANT_MAX"):
            Settings.from_env(bad)


def test_article_keys_are_content_keys():
    assert article_key(NEWS) == article_key(str(NEWS)) != article_key(NEWS + " ")
    assert len(article_key(NEWS)) == 16 and int(article_key(NEWS), 16) >= 0
    assert os.sep not in article_key(NEWS)


def test_an_index_directory_that_cannot_hold_articles_fails_clearly(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", "utf-8")
    settings = dataclasses.replace(Settings.from_env(), llm="none", index_dir=blocker)
    with pytest.raises(IndexBuildError, match="ASSISTANT_INDEX_DIR"):
        engine_for(tiny(40), settings)


def test_a_build_killed_midway_is_removed_by_the_next(tmp_path):
    """A process killed (SIGKILL) while it writes an article's index: its lease dies with it,
    and the next build in another process removes the half-built directory."""
    script = ("import os, signal, sys\n"
              "from assistant import engine_for\n"
              "def die(step):\n"
              "    if step.step == 'writing':\n"
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "engine_for(sys.argv[1], progress=die)\n")
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path), "ASSISTANT_LLM": "none"}
    killed = subprocess.run([sys.executable, "-c", script, tiny(50)], env=env, timeout=600,
                            check=False)
    assert killed.returncode == -signal.SIGKILL
    half = tmp_path / "articles" / article_key(tiny(50))
    assert half.is_dir() and not (half / "manifest.json").exists()
    settings = dataclasses.replace(Settings.from_env(), llm="none", index_dir=tmp_path)
    engine_for(tiny(51), settings)
    assert listing(settings) == [article_key(tiny(51))]
