"""Command line: `assistant ask "..." [--json]`, `assistant index [--rebuild]`,
`assistant eval [--part dev|dev2|heldout|all]`, `assistant bench`."""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from .chain import Engine, answer
from .config import Settings
from .errors import AssistantError
from .evaluate import PARTS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assistant", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question about the article")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    idx = sub.add_parser("index", help="build the index if missing or stale")
    idx.add_argument("--rebuild", action="store_true", help="rebuild even if up to date")
    ev = sub.add_parser("eval", help="run the question set and print the metrics")
    ev.add_argument("--part", choices=[*PARTS, "all", "heldouts"], default="all",
                    help="a part, every part, or the three held-out parts")
    ev.add_argument("--llm", choices=["local", "openai", "none"],
                    help="the answer backend (default: ASSISTANT_LLM)")
    ev.add_argument("--save", help="write every case's outcome to this JSON file")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--failures", action="store_true", help="list the cases answered wrongly")
    sub.add_parser("setup-llm", help="download and check the bundled LLM (1.1 GB, once)")
    bench = sub.add_parser("bench", help="time index build, first answer and warm answers")
    bench.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets "?"
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "index":  # a long build shows its progress
        logging.getLogger("assistant.store").setLevel(logging.INFO)
    try:
        settings = Settings.from_env()
        if args.command == "ask":
            return _ask(args.question, args.json, settings)
        if args.command == "index":
            return _index(settings, args.rebuild)
        if args.command == "eval":
            if args.llm:
                settings = replace(settings, llm=args.llm)
                settings.validate()
            return _eval(settings, args.part, args.json, args.failures, args.save)
        if args.command == "setup-llm":
            from .model_files import ensure_model

            print(ensure_model(settings.llm_model_path))
            return 0
        return _bench(settings, args.runs)
    except AssistantError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2


def _ask(question: str, as_json: bool, settings: Settings) -> int:
    if any("\udc80" <= c <= "\udcff" for c in question):
        # Python keeps bytes of the command line that are not UTF-8 as lone surrogates.
        print("assistant: the question is not valid UTF-8 text; check the terminal's encoding "
              "(e.g. LANG=C.UTF-8) and type it again", file=sys.stderr)
        return 2
    result = answer(question, settings=settings)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(result.text)
    for i, c in enumerate(result.citations, 1):
        print(f"  [{i}] {c.section} (characters {c.start}-{c.end})")
    return 0


def _index(settings: Settings, rebuild: bool) -> int:
    started = time.perf_counter()
    engine = Engine(settings, rebuild=rebuild)
    m = engine.index.manifest
    print(f"index ready in {settings.index_dir} ({m['sentences']} sentences, {m['count']} "
          f"vectors, {m['embedding']['model']}); {time.perf_counter() - started:.1f}s")
    return 0


def _eval(settings: Settings, part: str, as_json: bool, failures: bool,
          save: str | None) -> int:
    from .evaluate import HELDOUT_PARTS, run, settings_for

    parts = {"all": list(PARTS), "heldouts": list(HELDOUT_PARTS)}.get(part, [part])
    results: list[dict[str, Any]] = []
    saved: list[dict[str, Any]] = []
    engines: dict[Settings, Engine] = {}
    for name in parts:
        part_settings = settings_for(name, settings)
        if part_settings not in engines:
            engines[part_settings] = Engine(part_settings)
        report = run(engines[part_settings], name)
        results.append({**report.metrics(), "rejections": report.rejections()})
        saved.extend({"part": name, "id": o.case.id, "expect": o.case.expect,
                      "kind": o.case.kind, "correct": o.correct, "found": o.answer.found,
                      "backend": o.answer.backend, "rules_found": o.rules_found,
                      "proposed_found": o.proposed_found, "kind_ok": o.kind_ok,
                      "seconds": round(o.seconds, 3),
                      "text": o.answer.text, "reason": o.answer.reason,
                      "rejected": list(o.rejected)} for o in report.outcomes)
        if failures and not as_json:
            for o in report.failures():
                first = o.answer.citations[0].text[:70] if o.answer.citations else "-"
                print(f"  FAIL {o.case.id} [{o.case.expect}] {o.case.question!r}\n"
                      f"       found={o.answer.found} backend={o.answer.backend} cite={first!r}\n"
                      f"       text={o.answer.text[:110]!r}\n       reason={o.answer.reason!r}")
    if save:
        Path(save).write_text(json.dumps(saved, ensure_ascii=False, indent=1), "utf-8")
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for m in results:
            print(f"== {m['part']} ({settings.llm}): {m['cases']} cases ({m['answerable']} "
                  f"answerable, {m['unanswerable']} not in the article)")
            for key, value in m.items():
                if key not in ("part", "cases", "answerable", "unanswerable"):
                    print(f"  {key:<24} {value}")
    return 0


def _bench(settings: Settings, runs: int) -> int:
    """Time each stage for the rules backend and, unless ASSISTANT_LLM=none, the LLM's."""
    import os
    import subprocess
    from tempfile import mkdtemp

    from .evaluate import load_cases, scripted_turns

    tmp = Path(mkdtemp(prefix="assistant-bench-"))
    code = ("import time;t=time.perf_counter();from assistant import answer;"
            "a=answer({q!r});print(round(time.perf_counter()-t,2), a.backend)")

    def fresh(q: str, llm: str) -> str:
        env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp), "ASSISTANT_LLM": llm}
        out = subprocess.run([sys.executable, "-c", code.format(q=q)], capture_output=True,
                             text=True, env=env, check=True)
        return out.stdout.strip().splitlines()[-1]

    print("== rules (ASSISTANT_LLM=none)")
    print(f"cold: build index + first answer   {fresh('Bonjour ?', 'none')}")
    print(f"first answer, index on disk        {fresh('Bonjour ?', 'none')}")
    rules_settings = replace(settings, index_dir=tmp, llm="none")
    engine = Engine(rules_settings)
    started = time.perf_counter()
    Engine(rules_settings, rebuild=True)
    print(f"index rebuild (in process)         {time.perf_counter() - started:.2f}s")
    cases = load_cases("dev")
    times = []
    for i in range(runs):
        case = cases[i % len(cases)]
        turns = scripted_turns(engine, case.history)
        t = time.perf_counter()
        engine.ask(case.question, turns)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"warm answer() over {runs} questions: p50 {statistics.median(times):.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms")
    if settings.llm != "none":
        _bench_llm(replace(settings, index_dir=tmp), fresh, cases)
    return 0


def _bench_llm(settings: Settings, fresh: Any, cases: list[Any]) -> None:
    from .evaluate import scripted_turns

    question = "Jusqu'à quand l'ISS sera-t-elle exploitée ?"
    print(f"== LLM ({settings.llm})")
    print(f"fresh process, no prefix cache: first answer   {fresh(question, settings.llm)}")
    print(f"fresh process, prefix cache on disk: first answer {fresh(question, settings.llm)}")
    engine = Engine(settings)
    assert engine.llm is not None
    engine.ask(question)  # loaded and warm
    stages: dict[str, list[float]] = {}
    chat = cast(Any, engine.llm).chat
    complete = chat.complete

    def timed(messages: list[dict[str, str]], **kwargs: Any) -> Any:
        stage = next(iter((kwargs.get("schema") or {}).get("properties", {"other": 0})))
        t = time.perf_counter()
        try:
            return complete(messages, **kwargs)
        finally:
            stages.setdefault(stage, []).append(time.perf_counter() - t)

    chat.complete = timed
    totals, firsts = [], []
    sample = [c for c in cases if c.expect == "answer"][:12]
    for case in sample:
        turns = scripted_turns(engine, case.history)
        t = time.perf_counter()
        first = None
        for piece in engine.stream(case.question, turns):
            if first is None:
                first = time.perf_counter() - t
        totals.append(time.perf_counter() - t)
        firsts.append(first or totals[-1])
    names = {"answer": "reading (copied phrase)", "sentence": "answer sentence",
             "translation": "translation of a quote", "summary": "overview"}
    for stage, values in stages.items():
        print(f"{names.get(stage, stage):<32} p50 {statistics.median(values):.2f}s "
              f"(n={len(values)})")
    print(f"first streamed piece over {len(sample)} questions: p50 "
          f"{statistics.median(firsts):.2f}s; full answer p50 {statistics.median(totals):.2f}s, "
          f"max {max(totals):.2f}s")


if __name__ == "__main__":
    raise SystemExit(main())
