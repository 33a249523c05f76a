"""The fixed question set against the real models and a real Chroma store.

The floors below are the numbers measured when this test was written (README, "Quality"):
they stop regressions. They are BELOW the targets of the answer-engine issue (95% / 90%
answers, 95% refusals), which the engine does not reach yet; the README says so.
"""

from __future__ import annotations

import pytest

from assistant import Settings, get_engine
from assistant.article import load_article
from assistant.chain import Engine
from assistant.evaluate import DEV_PARTS, PARTS, TEXTS, Report, load_cases, run, settings_for

FLOORS = {
    "dev": {"answer_accuracy": 0.72, "refusal_recall": 0.75, "recall_at_3": 0.9,
            "followup_accuracy": 0.8},
    "dev2": {"answer_accuracy": 0.72, "refusal_recall": 0.85, "recall_at_3": 0.9,
             "followup_accuracy": 0.75},
    "heldout": {"answer_accuracy": 0.6, "refusal_recall": 0.8, "recall_at_3": 0.8},
    # The unseen texts (rules alone, measured before any tuning on them).
    "news-dev": {"answer_accuracy": 0.5, "refusal_recall": 0.6},
    "news-heldout": {"answer_accuracy": 0.45, "refusal_recall": 0.5},
    "encyclopedia-dev": {"answer_accuracy": 0.5, "refusal_recall": 0.4},
    "encyclopedia-heldout": {"answer_accuracy": 0.6, "refusal_recall": 0.4},
    # Five more texts nobody tuned on (rules alone, measured when they were added: README).
    # 0.44 -> 0.33 when quoted sentences became sentences of their own (one case; README)
    "sport-dev": {"answer_accuracy": 0.35, "refusal_recall": 0.3},
    "sport-heldout": {"answer_accuracy": 0.5, "refusal_recall": 0.2},
    "economy-dev": {"answer_accuracy": 0.5, "refusal_recall": 0.2},
    "economy-heldout": {"answer_accuracy": 0.5, "refusal_recall": 0.3},
    "science-dev": {"answer_accuracy": 0.6, "refusal_recall": 0.35},
    "science-heldout": {"answer_accuracy": 0.45, "refusal_recall": 0.1},
    "culture-dev": {"answer_accuracy": 0.45, "refusal_recall": 0.2},
    "culture-heldout": {"answer_accuracy": 0.5, "refusal_recall": 0.2},
    "harbour-dev": {"answer_accuracy": 0.4, "refusal_recall": 0.45},
    "harbour-heldout": {"answer_accuracy": 0.6, "refusal_recall": 0.2},
}
CEILINGS = {
    "dev": {"false_refusals": 0.1},
    "dev2": {"false_refusals": 0.06},
    "heldout": {"false_refusals": 0.1},
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return get_engine(Settings.from_env())


@pytest.fixture(scope="module")
def reports(engine: Engine) -> dict[str, Report]:
    engines: dict[Settings, Engine] = {engine.settings: engine}
    out = {}
    for part in PARTS:
        settings = settings_for(part, engine.settings)
        if settings not in engines:
            engines[settings] = Engine(settings)
        out[part] = run(engines[settings], part)
    return out


def test_question_set_shape() -> None:
    dev = load_cases("dev") + load_cases("dev2")
    heldout = load_cases("heldout")
    everything = dev + heldout
    assert len(everything) >= 60 and len(heldout) >= 25
    assert sum(c.expect == "refuse" and c.kind == "unanswerable" for c in everything) >= 10
    assert sum(c.kind == "followup" and c.history != () for c in everything) >= 6
    assert sum(c.kind == "hostile" for c in everything) >= 3
    assert {c.language for c in everything} == {"fr", "en"}
    assert len({c.id for c in everything}) == len(everything)
    assert not {c.question for c in dev} & {c.question for c in heldout}
    for text in TEXTS:
        tuned, measured = load_cases(f"{text}-dev"), load_cases(f"{text}-heldout")
        assert len(tuned) + len(measured) >= 25
        assert sum(c.expect == "refuse" for c in measured) >= 3
        assert {c.language for c in measured} == {"fr", "en"}
        assert any(c.kind == "followup" for c in measured)
        assert not {c.question for c in tuned} & {c.question for c in measured}
    # At least 200 dev cases over at least six texts; conversations of several turns.
    devs = [c for part in DEV_PARTS for c in load_cases(part)]
    assert len(devs) >= 200 and len({PARTS[p][0] for p in DEV_PARTS}) >= 6
    conversations = {c.conversation for c in devs if c.conversation}
    assert len(conversations) >= 10
    assert all(sum(c.conversation == k for c in devs) >= 2 for k in conversations)


@pytest.mark.parametrize("part", list(PARTS))
def test_quality_floors(reports: dict[str, Report], part: str) -> None:
    metrics = reports[part].metrics()
    print(part, metrics)
    for key, floor in FLOORS[part].items():
        assert metrics[key] >= floor, f"{part} {key} fell to {metrics[key]} (floor {floor})"
    for key, ceiling in CEILINGS.get(part, {}).items():
        assert metrics[key] <= ceiling, f"{part} {key} rose to {metrics[key]} (ceiling {ceiling})"
    assert metrics["language_accuracy"] >= 0.95
    assert metrics["unverified_claims_shown"] == 0
    assert metrics["unsupported_text_shown"] == 0


@pytest.mark.parametrize("part", list(PARTS))
def test_every_citation_is_verbatim(engine: Engine, reports: dict[str, Report], part: str) -> None:
    text = load_article(settings_for(part, engine.settings).article_path).text
    for outcome in reports[part].outcomes:
        a = outcome.answer
        assert a.text.strip(), outcome.case.id
        if a.found:
            assert a.citations and "[1]" in a.text, outcome.case.id
        for c in a.citations:
            assert text[c.start : c.end] == c.text, outcome.case.id
            assert c.text in a.text, outcome.case.id  # quoted word for word


def test_hostile_questions_do_not_leak_markup(reports: dict[str, Report]) -> None:
    for outcome in [o for report in reports.values() for o in report.outcomes]:
        if outcome.case.kind == "hostile":
            assert "<script" not in outcome.answer.text.lower()  # the answer never echoes it
