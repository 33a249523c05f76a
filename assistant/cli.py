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
    ev.add_argument("--part", choices=[*PARTS, "all", "heldouts", "devs"], default="all",
                    help="a part, every part, the held-out parts or the dev parts")
    ev.add_argument("--llm", choices=["local", "openai", "none"],
                    help="the answer backend (default: ASSISTANT_LLM)")
    ev.add_argument("--save", help="write every case's outcome to this JSON file")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--failures", action="store_true", help="list the cases answered wrongly")
    ev.add_argument("--decision-only", action="store_true",
                    help="judge the verified short answer and its quote, without what the LLM "
                         "writes after them (faster; the answer sentence is not checked)")
    cal = sub.add_parser("calibrate", help="fit the decision to answer or refuse on the dev "
                                           "halves of every text (leave-one-text-out)")
    cal.add_argument("--from", dest="signals", help="refit from signals saved by an earlier run")
    cal.add_argument("--save", help="where to save the signals (artifacts/ by default)")
    cal.add_argument("--llm", choices=["local", "openai"], help="the LLM (default: ASSISTANT_LLM)")
    cal.add_argument("--replay", help="an `eval --save` file: what each policy would have shown "
                                      "on its runs, per part (no fitting)")
    chk = sub.add_parser("check-verifier", help="measure the verifier on the corrupted set")
    chk.add_argument("--save", help="write every item's verdict to this JSON file")
    sub.add_parser("setup-llm", help="download and check the bundled LLM (1.1 GB, once)")
    bench = sub.add_parser("bench", help="time index build, first answer and warm answers")
    bench.add_argument("--runs", type=int, default=200, help="warm rules answers timed")
    bench.add_argument("--questions", type=int, default=8,
                       help="LLM questions timed per language (French, English)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
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
            return _eval(settings, args.part, args.json, args.failures, args.save,
                         not args.decision_only)
        if args.command == "calibrate":
            from .calibrate import main as calibrate

            if args.llm:
                settings = replace(settings, llm=args.llm)
            return calibrate(settings, args.signals, args.save, args.replay)
        if args.command == "check-verifier":
            from .embed import make_embeddings
            from .verifier_bench import measure

            measured = measure(make_embeddings(settings))
            if args.save:
                Path(args.save).write_text(json.dumps(measured, ensure_ascii=False, indent=1),
                                           "utf-8")
            print(json.dumps({k: v for k, v in measured.items() if k != "rows"}, indent=1,
                             ensure_ascii=False))
            return 0
        if args.command == "setup-llm":
            from .model_files import ensure_model

            print(ensure_model(settings.llm_model_path))
            return 0
        return _bench(settings, args.runs, args.json, args.questions)
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
          save: str | None, write: bool = True) -> int:
    from .evaluate import DEV_PARTS, HELDOUT_PARTS, ready, run, settings_for

    parts = {"all": list(PARTS), "heldouts": list(HELDOUT_PARTS),
             "devs": list(DEV_PARTS)}.get(part, [part])
    results: list[dict[str, Any]] = []
    saved: list[dict[str, Any]] = []
    engines: dict[Settings, Engine] = {}
    for name in parts:
        part_settings = settings_for(name, settings)
        if part_settings not in engines:
            # No quick answers in an evaluation: the LLM reads the article first, and a
            # question waits for it as long as it takes.
            engines[part_settings] = ready(Engine(replace(part_settings, llm_max_wait=600.0,
                                                          article_work=write)))
        report = run(engines[part_settings], name, write=write)
        results.append({**report.metrics(), "rejections": report.rejections()})
        saved.extend({"part": name, "id": o.case.id, "expect": o.case.expect,
                      "kind": o.case.kind, "correct": o.correct, "found": o.answer.found,
                      "backend": o.answer.backend, "rules_found": o.rules_found,
                      "proposed_found": o.proposed_found, "kind_ok": o.kind_ok,
                      "seconds": round(o.seconds, 3),
                      "text": o.answer.text, "reason": o.answer.reason,
                      "rejected": list(o.rejected),
                      "unsupported_words": list(o.unsupported_words),
                      "probability": o.probability,
                      "candidates": list(o.candidates)} for o in report.outcomes)
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


def _bench(settings: Settings, runs: int, as_json: bool = False, questions: int = 8) -> int:
    """Time each stage for the rules backend and, unless ASSISTANT_LLM=none, the LLM's; with
    `as_json`, one JSON object of every measure (the progress goes to stderr)."""
    import os
    import subprocess
    from tempfile import mkdtemp

    from .evaluate import load_cases, scripted_turns

    out = sys.stderr if as_json else sys.stdout
    result: dict[str, Any] = {"load_before": round(os.getloadavg()[0], 2)}
    tmp = Path(mkdtemp(prefix="assistant-bench-"))
    # The result goes to a file: llama.cpp's model load points the process's stdout at
    # /dev/null while it runs (llama-cpp-python's verbose=False), in another thread.
    said = tmp / "fresh.txt"
    code = ("import time;t=time.perf_counter();from assistant import answer;"
            "a=answer({q!r});open({said!r},'w').write(f'{{time.perf_counter()-t:.2f}} "
            "{{a.backend}}')")

    def fresh(q: str, llm: str) -> tuple[float, str]:
        env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp), "ASSISTANT_LLM": llm}
        said.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-c", code.format(q=q, said=str(said))],
                              capture_output=True, text=True, env=env, check=False)
        parts = said.read_text().split() if said.is_file() else []
        if len(parts) == 2:
            return float(parts[0]), parts[1]
        print(f"a fresh process failed (exit {done.returncode}): {done.stderr[-300:]}",
              file=sys.stderr)
        return -1.0, "failed"

    print("== rules (ASSISTANT_LLM=none)", file=out)
    result["rules_cold_build_and_first_answer_s"] = fresh("Bonjour ?", "none")[0]
    result["rules_fresh_first_answer_s"] = fresh("Bonjour ?", "none")[0]
    print(f"cold: build index + first answer   {result['rules_cold_build_and_first_answer_s']}s",
          file=out)
    print(f"first answer, index on disk        {result['rules_fresh_first_answer_s']}s",
          file=out)
    rules_settings = replace(settings, index_dir=tmp, llm="none")
    engine = Engine(rules_settings)
    started = time.perf_counter()
    Engine(rules_settings, rebuild=True)
    result["index_rebuild_s"] = round(time.perf_counter() - started, 2)
    print(f"index rebuild (in process)         {result['index_rebuild_s']:.2f}s", file=out)
    cases = load_cases("dev")
    times = []
    for i in range(runs):
        case = cases[i % len(cases)]
        turns = scripted_turns(engine, case.history)
        t = time.perf_counter()
        engine.ask(case.question, turns)
        times.append(time.perf_counter() - t)
    times.sort()
    result["rules_p50_s"] = round(statistics.median(times), 4)
    result["rules_p95_s"] = round(times[int(0.95 * (len(times) - 1))], 4)
    print(f"warm answer() over {runs} questions: p50 {1000 * result['rules_p50_s']:.1f} ms, "
          f"p95 {1000 * result['rules_p95_s']:.1f} ms, max {1000 * times[-1]:.1f} ms", file=out)
    if settings.llm != "none":
        result.update(_bench_llm(replace(settings, index_dir=tmp), fresh, cases, questions, out))
        reading = result.get("reading_p50_s")
        if reading:
            result["ratios_to_reading"] = {
                key: round(result[f"{key}_p50_s"] / reading, 3)
                for key in ("first_piece", "full_answer", "full_answer_en", "rules")
                if result.get(f"{key}_p50_s") is not None}
            print(f"ratios to reading: {result['ratios_to_reading']}", file=out)
    result["load_after"] = round(os.getloadavg()[0], 2)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _bench_llm(settings: Settings, fresh: Any, cases: list[Any], questions: int,
               out: Any) -> dict[str, Any]:
    """The LLM path: fresh processes with and without the article's stored state, each stage
    of a warm answer, French and English questions, and what switching articles costs."""
    from .evaluate import article_path, scripted_turns
    from .local_chat import runtime_stats

    result: dict[str, Any] = {"llm": settings.llm}
    question = "Jusqu'à quand l'ISS sera-t-elle exploitée ?"
    print(f"== LLM ({settings.llm})", file=out)
    seconds, backend = fresh(question, settings.llm)
    result["fresh_no_state_first_answer_s"] = seconds
    result["fresh_no_state_first_answer_backend"] = backend
    print(f"fresh process, no stored state: first answer {seconds}s ({backend}; the article "
          "is read in the background meanwhile)", file=out)
    engine = Engine(settings)
    assert engine.llm is not None
    started = time.perf_counter()
    cast(Any, engine.llm).warm()  # the article read (or its state loaded) and saved
    result["article_read_s"] = round(time.perf_counter() - started, 2)
    print(f"this process: model loaded and article read in {result['article_read_s']}s",
          file=out)
    seconds, backend = fresh(question, settings.llm)
    result["fresh_first_answer_s"] = seconds
    result["fresh_first_answer_backend"] = backend
    print(f"fresh process, stored state on disk: first answer {seconds}s ({backend})", file=out)
    engine.ask(question)
    stages: dict[str, list[float]] = {}
    chat = cast(Any, engine.llm).chat
    complete = chat.complete

    def timed(messages: list[dict[str, str]], **kwargs: Any) -> Any:
        stage = next(iter((kwargs.get("schema") or {}).get("properties", {"other": 0})))
        if kwargs.get("background"):
            return complete(messages, **kwargs)
        t = time.perf_counter()
        try:
            return complete(messages, **kwargs)
        finally:
            stages.setdefault(stage, []).append(time.perf_counter() - t)

    chat.complete = timed
    backends: dict[str, int] = {}
    for language in ("fr", "en"):
        sample = [c for c in cases if c.expect == "answer" and c.language == language
                  and not c.history][:questions]
        totals, firsts = [], []
        for case in sample:
            turns = scripted_turns(engine, case.history)
            t = time.perf_counter()
            first = None
            final: Any = None
            for piece in engine.stream(case.question, turns):
                if first is None and isinstance(piece, str) and piece.strip():
                    first = time.perf_counter() - t
                final = piece
            totals.append(time.perf_counter() - t)
            firsts.append(first or totals[-1])
            backends[final.backend] = backends.get(final.backend, 0) + 1
        suffix = "" if language == "fr" else "_en"
        result[f"first_piece{suffix}_p50_s"] = _p50(firsts)
        result[f"full_answer{suffix}_p50_s"] = _p50(totals)
        result[f"full_answer{suffix}_max_s"] = round(max(totals), 3) if totals else None
        print(f"{language} questions ({len(sample)}): first piece p50 {_p50(firsts)}s; full "
              f"answer p50 {_p50(totals)}s, max {result[f'full_answer{suffix}_max_s']}s",
              file=out)
    chat.complete = complete
    names = {"answer": "reading", "sentence": "sentence", "translation": "translation",
             "summary": "overview"}
    for stage, values in stages.items():
        result[f"{names.get(stage, stage)}_p50_s"] = _p50(values)
        print(f"{names.get(stage, stage):<12} p50 {_p50(values)}s (n={len(values)})", file=out)
    result["backends"] = backends
    # Switching articles: a second article read into the same model, then each asked in turn.
    other = replace(settings, article_path=article_path("news"),
                    index_dir=Path(settings.index_dir) / "texts" / "news")
    second = Engine(other)
    assert second.llm is not None
    cast(Any, second.llm).warm()
    for _ in range(2):
        engine.ask(question)
        second.ask("Qui ?")
    stats = runtime_stats(settings)
    result["switch_load_s"] = stats.switch_load_s
    result["switch_read_s"] = stats.switch_read_s
    result["queue"] = {"calls": stats.queue.calls, "busy": stats.queue.busy,
                       "preempted": stats.queue.preempted, "means": stats.queue.means}
    print(f"switching articles: saved state loaded in {stats.switch_load_s}s (mean), an "
          f"article read in {stats.switch_read_s}s (mean)", file=out)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
