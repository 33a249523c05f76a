"""The measured decision to answer or refuse: signals that do not depend on one article, a
logistic model over them (the probability that a candidate answer is right), and its fit by
leave-one-text-out cross-validation over the dev halves of every text.

    assistant calibrate            # run the dev halves with the LLM, refit, store the weights
    assistant calibrate --from F   # refit from signals saved by an earlier run

The weights are data (`assistant/data/decision.json`), never set by hand."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .answerer import relevance_margin
from .drafts import Draft
from .question import Question
from .retrieve import Retrieval

MODEL_PATH = Path(__file__).resolve().parent / "data" / "decision.json"
FEATURES = (
    "bias", "is_llm", "candidate_margin", "candidate_rank", "top_margin", "fused_top",
    "fused_gap", "rules_found", "llm_found", "agree", "llm_confidence", "llm_null_confidence",
    "kind_ok", "wants_kind", "followup", "cross_lingual", "llm_rejected",
)
# Errors weigh more than refusals: a confident wrong answer is the worst outcome.
WRONG_COST = 2.0


def signals(question: Question, found: Retrieval, ruled: Draft, proposed: Draft | None,
            candidate: Draft, kind_ok: bool, followup: bool, article_language: str
            ) -> dict[str, float]:
    """The signals about one candidate answer (the rules' or the LLM's verified draft).
    `proposed`: the LLM's verified draft (None when it failed verification)."""
    passages = found.passages
    by_sentence = {p.sentence: p for p in passages}
    first = by_sentence.get(candidate.cites[0]) if candidate.cites else None
    fused = [p.scores.fused for p in passages]
    llm_found = bool(proposed is not None and proposed.found)
    return {
        "bias": 1.0,
        "is_llm": float(candidate.backend != "rules"),
        "candidate_margin": relevance_margin(first.scores, found.stats) if first else 0.0,
        "candidate_rank": 1.0 / (1 + first.rank) if first else 0.0,
        "top_margin": relevance_margin(passages[0].scores, found.stats) if passages else 0.0,
        "fused_top": found.stats.fused_top,
        "fused_gap": fused[0] - fused[1] if len(fused) > 1 else 0.0,
        "rules_found": float(ruled.found),
        "llm_found": float(llm_found),
        "agree": float(llm_found and ruled.found and proposed is not None
                       and proposed.cites[:1] == ruled.cites[:1]),
        "llm_confidence": proposed.confidence if llm_found and proposed is not None else 0.0,
        "llm_null_confidence": (proposed.confidence if proposed is not None and not llm_found
                                else 0.0),
        "kind_ok": float(kind_ok),
        "wants_kind": float(bool(question.wants)),
        "followup": float(followup),
        "cross_lingual": float(question.language != article_language),
        "llm_rejected": float(proposed is None),  # the LLM's draft failed verification
    }


@dataclass(frozen=True)
class Model:
    """A logistic model over `FEATURES` (standardised), and the probability a candidate must
    reach to be shown."""

    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    report: dict[str, Any]

    def probability(self, features: dict[str, float]) -> float:
        x = (np.array([features.get(f, 0.0) for f in FEATURES]) - np.array(self.mean)) / np.array(
            self.scale)
        x[0] = 1.0
        return float(1 / (1 + math.exp(-float(np.dot(self.weights, x)))))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "weights": list(self.weights),
                "mean": list(self.mean), "scale": list(self.scale),
                "threshold": self.threshold, "report": self.report}


def load_model(path: Path = MODEL_PATH) -> Model | None:
    """The stored model, or None when there is none (or it was fit on other features)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if tuple(data.get("features", ())) != FEATURES:
        return None
    return Model(tuple(data["weights"]), tuple(data["mean"]), tuple(data["scale"]),
                 float(data["threshold"]), dict(data.get("report", {})))


def fit(rows: list[dict[str, Any]], l2: float = 1.0) -> Model:
    """Logistic regression (Newton's method, L2 penalty) on candidate rows
    {"features": {...}, "right": bool}."""
    x = np.array([[r["features"].get(f, 0.0) for f in FEATURES] for r in rows], dtype=float)
    y = np.array([1.0 if r["right"] else 0.0 for r in rows])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    mean[0], scale[0] = 0.0, 1.0
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w = np.zeros(len(FEATURES))
    penalty = np.full(len(FEATURES), l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-6)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return Model(tuple(float(v) for v in w), tuple(float(v) for v in mean),
                 tuple(float(v) for v in scale), 0.5, {})


def choose(model: Model, candidates: list[dict[str, Any]]) -> tuple[int | None, float]:
    """The candidate to show (its position) and its probability; None: refuse."""
    if not candidates:
        return None, 0.0
    probabilities = [model.probability(c["features"]) for c in candidates]
    best = int(np.argmax(probabilities))
    return (best if probabilities[best] >= model.threshold else None), probabilities[best]


def outcome_counts(model: Model, cases: list[dict[str, Any]]) -> dict[str, float]:
    """What the model decides on `cases` ({"expect", "candidates": [{"features", "right"}]}):
    right answers, refusals and false refusals, as rates."""
    answerable = [c for c in cases if c["expect"] == "answer"]
    unanswerable = [c for c in cases if c["expect"] == "refuse"]
    right = refused = false_refusals = 0
    for case in cases:
        pick, _ = choose(model, case["candidates"])
        if case["expect"] == "refuse":
            refused += pick is None
        elif pick is None:
            false_refusals += 1
        else:
            right += bool(case["candidates"][pick]["right"])
    return {"right": right / max(1, len(answerable)),
            "refusals": refused / max(1, len(unanswerable)),
            "false_refusals": false_refusals / max(1, len(answerable)),
            "answerable": len(answerable), "unanswerable": len(unanswerable)}


def utility(model: Model, cases: list[dict[str, Any]]) -> float:
    """+1 a right answer or a right refusal, -WRONG_COST a wrong answer, 0 a false refusal."""
    total = 0.0
    for case in cases:
        pick, _ = choose(model, case["candidates"])
        if pick is None:
            total += case["expect"] == "refuse"
        elif case["expect"] == "answer" and case["candidates"][pick]["right"]:
            total += 1
        else:
            total -= WRONG_COST
    return total


def with_threshold(model: Model, threshold: float) -> Model:
    return Model(model.weights, model.mean, model.scale, threshold, model.report)


THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(13))  # 0.2 ... 0.8
PENALTIES = (0.3, 1.0, 3.0, 10.0)


def calibrate(cases: list[dict[str, Any]], thresholds: tuple[float, ...] = THRESHOLDS,
              l2s: tuple[float, ...] = PENALTIES) -> Model:
    """Choose the penalty and the threshold by leave-one-text-out cross-validation over the
    texts of `cases` (each {"text", "expect", "candidates"}), then fit on them all."""
    texts = sorted({c["text"] for c in cases})
    scores: dict[tuple[float, float], float] = {}
    per_text: dict[tuple[float, float], dict[str, dict[str, float]]] = {}
    for l2 in l2s:
        for text in texts:
            train = [r for c in cases if c["text"] != text for r in c["candidates"]]
            test = [c for c in cases if c["text"] == text]
            if not train or not test:
                continue
            model = fit(train, l2)
            for threshold in thresholds:
                key = (l2, threshold)
                tuned = with_threshold(model, threshold)
                scores[key] = scores.get(key, 0.0) + utility(tuned, test)
                per_text.setdefault(key, {})[text] = outcome_counts(tuned, test)
    best = max(scores, key=lambda k: (scores[k], -abs(k[1] - 0.5)))
    l2, threshold = best
    final = with_threshold(fit([r for c in cases for r in c["candidates"]], l2), threshold)
    report = {"l2": l2, "threshold": threshold, "texts": texts, "cases": len(cases),
              "cv_utility": round(scores[best], 2),
              "cv_per_text": {t: {k: round(v, 3) for k, v in m.items()}
                              for t, m in per_text[best].items()}}
    return Model(final.weights, final.mean, final.scale, threshold, report)
