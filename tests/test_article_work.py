"""The article's stored work (translations of every sentence, overviews), with a scripted chat
model: verified before it is stored, stored beside the index, resumed, keyed, replaced."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.article import parse_article
from assistant.article_work import ArticleWork
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
