"""`assistant calibrate`: run the dev halves of every text with the LLM, record each candidate
answer's signals and whether it was right, choose the decision model by leave-one-text-out
cross-validation, store it in `assistant/data/decision.json`, and print what each policy does on
the same runs (replayed)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .calibration import MODEL_PATH, calibrate, outcome_counts
from .chain import Engine
from .config import Settings
from .evaluate import DEV_PARTS, PARTS, ready, run, settings_for

SIGNALS_PATH = Path("artifacts") / "calibration-signals.json"


def collect(settings: Settings, parts: tuple[str, ...] = DEV_PARTS) -> list[dict[str, Any]]:
    """Every dev case's candidates: their signals and whether each is right. Run with the
    rules' order of decision, so that what is recorded does not depend on an earlier model. The
    decision needs no translation or overview: the article's stored work is not run."""
    settings = replace(settings, decision="rules", llm_max_wait=600.0, article_work=False)
    engines: dict[Settings, Engine] = {}
    cases: list[dict[str, Any]] = []
    for part in parts:
        part_settings = settings_for(part, settings)
        if part_settings not in engines:
            engines[part_settings] = ready(Engine(part_settings))
        report = run(engines[part_settings], part, write=False)
        for o in report.outcomes:
            if o.case.kind == "overview":  # an overview is always written, never refused
                continue
            cases.append({"text": PARTS[part][0], "part": part, "id": o.case.id,
                          "expect": o.case.expect, "kind": o.case.kind,
                          "candidates": list(o.candidates)})
    return cases


def replayed(cases: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """What the policies before the measured decision do on the same cases."""

    def pick(case: dict[str, Any], policy: str) -> dict[str, Any] | None:
        by_name = {c["name"]: c for c in case["candidates"]}
        rules, llm = by_name.get("rules"), by_name.get("llm")
        if policy == "rules alone":
            return rules
        if policy == "a rules refusal stands, else the LLM's answer, else the rules'":
            return None if rules is None else (llm or rules)
        return llm or rules  # every verified LLM answer first

    out = {}
    for policy in ("rules alone", "a rules refusal stands, else the LLM's answer, else the rules'",
                   "every verified LLM answer first, else the rules'"):
        answerable = [c for c in cases if c["expect"] == "answer"]
        unanswerable = [c for c in cases if c["expect"] == "refuse"]
        picks = {c["id"]: pick(c, policy) for c in cases}
        out[policy] = {
            "right": round(sum(1 for c in answerable if (p := picks[c["id"]]) and p["right"])
                           / max(1, len(answerable)), 3),
            "refusals": round(sum(picks[c["id"]] is None for c in unanswerable)
                              / max(1, len(unanswerable)), 3),
            "false_refusals": round(sum(picks[c["id"]] is None for c in answerable)
                                    / max(1, len(answerable)), 3),
        }
    return out


def replay_saved(path: str) -> dict[str, Any]:
    """Per part of an `assistant eval --save` file: what was shown, and what the earlier
    policies would have shown on the same runs (from each case's recorded candidates)."""
    rows = json.loads(Path(path).read_text("utf-8"))
    out: dict[str, Any] = {}
    for part in dict.fromkeys(r["part"] for r in rows):
        cases = [{**r, "id": r["id"]} for r in rows if r["part"] == part
                 and r["kind"] != "overview"]
        answerable = [r for r in cases if r["expect"] == "answer"]
        unanswerable = [r for r in cases if r["expect"] == "refuse"]
        shown = {"right": round(sum(r["correct"] for r in answerable) / max(1, len(answerable)),
                                3),
                 "refusals": round(sum(not r["found"] for r in unanswerable)
                                   / max(1, len(unanswerable)), 3),
                 "false_refusals": round(sum(not r["found"] for r in answerable)
                                         / max(1, len(answerable)), 3)}
        out[part] = {"shown": shown, **replayed(cases)}
    return out


def main(settings: Settings, signals: str | None, save: str | None,
         replay: str | None = None) -> int:
    if replay:
        print(json.dumps(replay_saved(replay), indent=1))
        return 0
    if signals:
        cases = json.loads(Path(signals).read_text("utf-8"))
    else:
        cases = collect(settings)
        target = Path(save) if save else SIGNALS_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(cases, ensure_ascii=False, indent=1), "utf-8")
        print(f"signals of {len(cases)} dev cases saved to {target}")
    model = calibrate(cases)
    report = {**model.report, "replayed_on_dev": replayed(cases),
              "measured_on_dev_fit_on_all": outcome_counts(model, cases)}
    stored = model.to_json()
    stored["report"] = report
    MODEL_PATH.write_text(json.dumps(stored, indent=1), "utf-8")
    print(json.dumps(report, indent=1))
    print(f"decision model stored in {MODEL_PATH}")
    return 0
