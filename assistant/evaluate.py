"""Run the fixed question set and measure answers, citations, refusals, retrieval and latency.

    assistant eval [--part dev|dev2|heldout|all] [--json]
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .chain import Engine
from .results import Answer
from .text import fold, strip_markup

QUESTION_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
# dev: tuned on. dev2: written later by helpers who had not seen the engine; it first checked
# that what was tuned on dev carried over, then was tuned on too. heldout: never read, never
# tuned on, only measured.
PARTS = {"dev": "questions_dev.yaml", "dev2": "questions_dev2.yaml",
         "heldout": "questions_heldout.yaml"}


@dataclass(frozen=True)
class Case:
    """One question of the set and what a right answer must hold."""

    id: str
    question: str
    language: str
    kind: str
    expect: str  # "answer" or "refuse"
    history: tuple[tuple[str, str], ...] = ()
    facts: tuple[str, ...] = ()
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    case: Case
    answer: Answer
    seconds: float
    correct: bool
    fact_ok: bool
    cite_ok: bool
    language_ok: bool
    rank: int | None  # rank of the expected sentence in retrieval (0 = first), None if absent


@dataclass
class Report:
    part: str
    outcomes: list[Outcome] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        answerable = [o for o in self.outcomes if o.case.expect == "answer"]
        refusals = [o for o in self.outcomes if o.case.expect == "refuse"]
        followups = [o for o in self.outcomes if o.case.kind == "followup"]
        said_no = [o for o in self.outcomes if not o.answer.found]
        ranks = [o.rank for o in answerable]
        times = sorted(o.seconds * 1000 for o in self.outcomes)

        def rate(items: list[Outcome], ok: Any) -> float:
            return round(sum(1 for o in items if ok(o)) / len(items), 3) if items else 0.0

        return {
            "part": self.part,
            "cases": len(self.outcomes),
            "answerable": len(answerable),
            "unanswerable": len(refusals),
            "answer_accuracy": rate(answerable, lambda o: o.correct),
            "fact_accuracy": rate(answerable, lambda o: o.fact_ok and o.answer.found),
            "citation_accuracy": rate(answerable, lambda o: o.cite_ok and o.answer.found),
            "refusal_recall": rate(refusals, lambda o: not o.answer.found),
            "refusal_precision": rate(said_no, lambda o: o.case.expect == "refuse"),
            "false_refusals": rate(answerable, lambda o: not o.answer.found),
            "false_answers": rate(refusals, lambda o: o.answer.found),
            "followup_accuracy": rate(followups, lambda o: o.correct),
            "language_accuracy": rate(self.outcomes, lambda o: o.language_ok),
            "recall_at_1": round(sum(1 for r in ranks if r == 0) / len(ranks), 3) if ranks else 0,
            "recall_at_3": round(sum(1 for r in ranks if r is not None and r < 3) / len(ranks), 3)
            if ranks else 0,
            "latency_p50_ms": round(statistics.median(times), 1) if times else 0,
            "latency_p95_ms": round(times[int(0.95 * (len(times) - 1))], 1) if times else 0,
        }

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]


def load_cases(part: str, directory: Path = QUESTION_DIR) -> list[Case]:
    """The cases of one part of the question set."""
    raw = yaml.safe_load((directory / PARTS[part]).read_text("utf-8")) or []
    return [
        Case(
            id=str(c["id"]),
            question=str(c["question"]),
            language=str(c.get("language", "fr")),
            kind=str(c.get("kind", "paraphrase")),
            expect=str(c.get("expect", "answer")),
            history=tuple((str(q), str(a)) for q, a in c.get("history") or []),
            facts=tuple(str(f) for f in c.get("facts") or []),
            cite=tuple(str(x) for x in c.get("cite") or []),
        )
        for c in raw
    ]


def judge(case: Case, answer: Answer, seconds: float, rank: int | None) -> Outcome:
    """Is the answer right for this case?"""
    text = fold(answer.text)
    fact_ok = not case.facts or any(fold(f) in text for f in case.facts)
    first = answer.citations[0].text if answer.citations else ""
    cite_ok = not case.cite or any(c in first for c in case.cite)
    language_ok = answer.language == case.language
    if case.expect == "refuse":
        correct = not answer.found
    else:
        correct = answer.found and fact_ok and cite_ok and language_ok
    return Outcome(case, answer, seconds, correct, fact_ok, cite_ok, language_ok, rank)


def run(engine: Engine, part: str, cases: list[Case] | None = None) -> Report:
    """Ask every case of `part` and judge the answers."""
    report = Report(part)
    sentences = engine.article.sentences
    for case in cases if cases is not None else load_cases(part):
        started = time.perf_counter()
        answer = engine.ask(case.question, list(case.history))
        seconds = time.perf_counter() - started
        rank = None
        if case.expect == "answer":
            scored = engine.searcher.score(_searched(answer), engine.settings.top_k)
            order = [s.sentence for s in scored]
            targets = [s.index for s in sentences if any(c in s.text for c in case.cite)]
            hits = [order.index(t) for t in targets if t in order]
            rank = min(hits) if hits else None
        report.outcomes.append(judge(case, answer, seconds, rank))
    return report


def _searched(answer: Answer) -> str:
    return strip_markup(answer.query)
