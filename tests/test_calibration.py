"""The measured decision's wiring, without models: the logistic fit, the choice among
candidates, leave-one-text-out, the stored model; and the evaluation's independent check of
unsupported words."""

from __future__ import annotations

import json
import random
from pathlib import Path

from assistant.calibration import FEATURES, calibrate, choose, fit, load_model
from assistant.evaluate import unsupported_words
from assistant.results import Answer, Citation


def _case(text: str, expect: str, margin: float, rng: random.Random) -> dict:
    right = expect == "answer"
    features = {f: 0.0 for f in FEATURES}
    features.update(bias=1.0, candidate_margin=margin + rng.gauss(0, 0.02), rules_found=1.0)
    return {"text": text, "expect": expect,
            "candidates": [{"name": "rules", "features": features, "right": right}]}


def test_the_fit_separates_what_its_signals_separate(tmp_path: Path) -> None:
    rng = random.Random(7)
    cases = [_case(t, e, 0.12 if e == "answer" else 0.02, rng)
             for t in ("a", "b", "c") for e in ("answer", "refuse") * 10]
    model = calibrate(cases)
    assert model.report["texts"] == ["a", "b", "c"]
    for case in cases:
        pick, p = choose(model, case["candidates"])
        assert (pick is not None) == (case["expect"] == "answer"), (case, p)
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(model.to_json()), "utf-8")
    stored = load_model(path)
    assert stored is not None and stored.threshold == model.threshold
    path.write_text(json.dumps({**model.to_json(), "features": ["other"]}), "utf-8")
    assert load_model(path) is None  # fit on other signals: not used


def test_the_better_candidate_is_chosen() -> None:
    rng = random.Random(3)
    rows = []
    for _ in range(40):
        good = rng.random() < 0.5
        features = {f: 0.0 for f in FEATURES}
        features.update(bias=1.0, llm_confidence=0.9 if good else 0.3)
        rows.append({"features": features, "right": good})
    model = fit(rows)
    weak = {**rows[0]["features"], "llm_confidence": 0.3}
    strong = {**rows[0]["features"], "llm_confidence": 0.9}
    pick, _ = choose(model, [{"features": weak}, {"features": strong}])
    assert pick == 1


def test_unsupported_words_outside_the_quotes_are_counted() -> None:
    quote = "Le musée de Brest a rouvert en 2025 après deux ans de travaux."
    cited = [Citation(quote, 0, len(quote), "", 0.0)]
    honest = Answer(f"En 2025. Selon l'article : « {quote} » [1]\n\nLe musée a rouvert en "
                    "2025. [1]", True, cited, direct="en 2025")
    assert unsupported_words(honest, "Quand le musée a-t-il rouvert ?") == []
    invented = Answer(f"En 2025. Selon l'article : « {quote} » [1]\n\nLe maire a inauguré le "
                      "musée. [1]", True, cited, direct="en 2025")
    assert unsupported_words(invented, "Quand ?") == ["maire", "inaugure"]
    assert unsupported_words(Answer("L'article ne le dit pas.", False), "") == []
