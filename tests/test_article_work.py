"""The article's stored work (translations of every sentence, overviews), with a scripted chat
model: verified before it is stored, stored beside the index, resumed, keyed, replaced."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.article import parse_article
from assistant.article_work import ArticleWork
from assistant.chat import Completion
from assistant.decide import LLMPreempted, LLMUnavailable
from assistant.llm import LangChainChat, LLMAnswerer
from assistant.support import Aligner
from assistant.verify import NameMatcher

ARTICLE = parse_article(
    "Le musée rouvre\nLa ville de Brest inaugure son musée\n"
    "Le musée de Brest a rouvert en 2025 après deux ans de travaux. "
    "La rénovation a coûté 8 millions d'euros, selon Claire Morvan, sa directrice.\n"
)
REPLIES = [
    {"translation": "The Brest museum reopened in 2025 after two years of work."},
    {"translation": "The renovation cost 9 million euros, according to Claire Morvan."},
    {"summary": "Le musée de Brest a rouvert en 2025 après deux ans de travaux. La "
                "rénovation a coûté 8 millions d'euros."},
    {"summary": "The Brest museum reopened in 2025 after two years of work. It cost a lot."},
]


def _work(directory: Path, replies: list[dict], model: str = "m1") -> ArticleWork:
    chat = LangChainChat(FakeListChatModel(responses=[json.dumps(r) for r in replies]),
                         name="scripted")
    llm = LLMAnswerer(chat, ARTICLE)
    work = ArticleWork(ARTICLE, llm, NameMatcher(None), Aligner(None, 0.9), directory,
                       {"article_sha256": ARTICLE.sha256, "store": "s"}, model)
    llm.work = work
    return work


def test_translations_and_overviews_are_verified_stored_and_reused(tmp_path: Path) -> None:
    work = _work(tmp_path, REPLIES)
    work.run()
    assert work.translation(0, "en") == REPLIES[0]["translation"]
    assert work.translation(1, "en") == ""  # it added 9: rejected, never stored
    assert "9" in work.stored.rejected[1]
    fr = work.overview("fr")
    assert fr is not None and fr.found and [c.cites for c in fr.claims] == [(0,), (1,)]
    assert work.overview("en") is None and "en" in work.stored.overview_rejected
    assert work.coverage()["complete"] and work.path.is_file()
    # Another process finds it all on disk: nothing is asked again.
    again = _work(tmp_path, [{"translation": "never asked"}])
    assert again.stored.complete and again.translation(0, "en") == REPLIES[0]["translation"]
    again.run()
    # Another model: computed again, and the older files removed when it is saved.
    other = _work(tmp_path, REPLIES, model="m2")
    assert other.translation(0, "en") == ""
    other.run()
    assert [p.name for p in tmp_path.glob("work-*.json")] == [other.path.name]


def test_a_run_stopped_midway_resumes(tmp_path: Path) -> None:
    work = _work(tmp_path, REPLIES)
    work.stored.translations[0] = REPLIES[0]["translation"]
    work._save()  # as a killed run leaves it: some sentences done, not complete
    resumed = _work(tmp_path, REPLIES[1:])
    assert not resumed.stored.complete and resumed.translation(0, "en")
    resumed.run()
    assert resumed.stored.complete and 1 in resumed.stored.rejected


class _GivesWay:
    """A chat that gives way once (`first` raised on the first call), then answers."""

    def __init__(self, inner: LangChainChat, first: Exception) -> None:
        self.inner, self.first, self.name, self.calls = inner, first, inner.name, 0

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict | None = None, background: bool = False) -> Completion:
        self.calls += 1
        if self.calls == 1:
            raise self.first
        return self.inner.complete(messages, max_tokens=max_tokens, schema=schema)


def test_preempted_work_is_tried_again_and_a_failed_llm_pauses_it(tmp_path: Path) -> None:
    preempted = _work(tmp_path / "a", REPLIES)
    preempted.llm.chat = _GivesWay(preempted.llm.chat, LLMPreempted("preempted: a reader"))
    preempted.run()  # tried again after the reader: nothing lost
    assert preempted.stored.complete and preempted.translation(0, "en")
    failed = _work(tmp_path / "b", REPLIES)
    failed.llm.chat = _GivesWay(failed.llm.chat, LLMUnavailable("the server is down"))
    failed.run()  # paused, not marked done: the next start resumes it
    assert not failed.stored.complete and failed.translation(0, "en") == ""
