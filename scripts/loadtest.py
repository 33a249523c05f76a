"""Load test of the chat page over HTTP: a burst of concurrent users, then a soak.

    .venv/bin/python scripts/loadtest.py [--users 20] [--questions 10] [--soak 180] [--url URL]

Starts the page as `python ui.py` serves it on a free loopback port (unless --url names a
running page), each final `Answer` recorded (backend, verified, the local LLM's queue), then:
1. burst: `--users` users at once, each with its own session and client address, ask
   `--questions` questions in a row (follow-ups stay in their conversation) through the page's
   `/ask` API with gradio_client; every refusal (queue full, busy, rate limited) and error is
   counted, and latencies are measured end to end;
2. soak: the same users keep asking for `--soak` seconds, one question every `--think` seconds
   each, in conversations never reset; the server's RSS is sampled every 5 s and latency is
   reported per 30 s window.
Prints a summary and a JSON line (per phase: the answers' backends, the quick answers the rules
gave because the local LLM was busy, unverified answers, the LLM queue seen); exits 1 if a
target is missed (any refusal, error or unverified answer, burst p95 over --max-p95 seconds).
Every request has a timeout: the run is bounded. `--save FILE` writes the JSON there too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Jusqu'à quand l'ISS sera-t-elle exploitée ?",
    "Qui dirige Roscosmos ?",
    "Et où a-t-il rencontré son homologue ?",
    "Who is the acting NASA administrator?",
    "When did the two agency heads last meet in person?",
    "Pourquoi la Russie veut-elle quitter l'ISS ?",
    "Quelle station la Russie veut-elle construire ?",
    "What did NASA say about the space station?",
    "Combien de temps l'ISS restera-t-elle en orbite ?",
    "Et ensuite ?",
    "Qui a annoncé l'accord ?",
    "Where did they meet?",
]


@dataclass
class Result:
    started: float
    seconds: float
    outcome: str  # "ok", "refused: <text>" or "error: <text>"


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: Result) -> None:
        with self.lock:
            self.results.append(result)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(records: str) -> None:
    """The page exactly as `python ui.py` serves it, its engine's final answers recorded, one
    JSON line each (what the HTTP API does not show: backend, verified, the LLM's queue)."""
    import logging

    sys.path.insert(0, str(ROOT))
    import ui
    from assistant.chain import get_engine
    from assistant.config import Settings
    from assistant.results import Answer

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings.from_env()
    engine = get_engine(settings)
    lock = threading.Lock()

    def queue() -> dict[str, Any]:
        if settings.llm != "local":
            return {}
        from assistant.local_chat import runtime_stats

        q = runtime_stats(settings).queue
        return {"waiting": q.waiting, "max_waiting": q.max_waiting, "busy": q.busy,
                "preempted": q.preempted, "calls": q.calls}

    class Recorded:
        """The engine, its final answers written to `records`."""

        article = engine.article

        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def ask(self, question: str, history: Any = None) -> Answer:
            return self._record(engine.ask(question, history))

        def stream(self, question: str, history: Any = None, cancel: Any = None) -> Any:
            for piece in engine.stream(question, history, cancel=cancel):
                yield self._record(piece) if isinstance(piece, Answer) else piece

        def _record(self, answer: Answer) -> Answer:
            line = json.dumps({"at": time.time(), "backend": answer.backend,
                               "verified": answer.verified, "found": answer.found,
                               "reason": answer.reason[:160], **queue()})
            with lock, open(records, "a", encoding="utf-8") as f:
                f.write(line + "\n")
            return answer

    demo = ui.build_demo(settings, Recorded())
    demo.launch(**ui.launch_options(settings))


def answers(records: Path, since: float, until: float) -> dict[str, Any]:
    """What the page's engine answered between two times (`serve`'s records)."""
    rows = []
    if records.is_file():
        for line in records.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if since <= row["at"] < until:
                rows.append(row)
    backends: dict[str, int] = {}
    for row in rows:
        backends[row["backend"]] = backends.get(row["backend"], 0) + 1
    waiting = [row["waiting"] for row in rows if "waiting" in row]
    return {"answers": len(rows), "backends": backends,
            "quick": sum(1 for row in rows if row["backend"] == "quick"),
            "unverified": sum(1 for row in rows if not row["verified"]),
            "llm_queue_max": max(waiting) if waiting else None,
            "llm_queue_p50": statistics.median(waiting) if waiting else None,
            "llm_busy_total": rows[-1].get("busy") if rows else None,
            "llm_max_waiting_total": rows[-1].get("max_waiting") if rows else None}


def start_page(env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    work = Path(mkdtemp(prefix="assistant-loadtest-"))
    env = {**os.environ, "ASSISTANT_UI_HOST": "127.0.0.1", "ASSISTANT_UI_PORT": str(port),
           "ASSISTANT_FEEDBACK_PATH": str(work / "feedback.jsonl"),
           "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False",
           "HF_HUB_OFFLINE": "1", **env_extra}
    log = (work / "page.log").open("wb")
    page = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve",
                             str(work / "answers.jsonl")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=5):
                return page, url, work
        except OSError:
            if page.poll() is not None or time.monotonic() > deadline:
                page.kill()
                raise SystemExit(f"the page did not start; see {work / 'page.log'}") from None
            time.sleep(0.5)


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children, in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out.extend(_children(k))
    return out


def _outcome(value: Any) -> str:
    """'ok', or why the page did not answer (its status message)."""
    if not isinstance(value, list | tuple) or len(value) < 4:
        return f"error: unexpected result {str(value)[:80]}"
    status = re.sub(r"<[^>]+>", " ", str(value[3] or "")).strip()
    if status:
        return "refused: " + re.sub(r"\s+", " ", status)[:100]
    chat = value[0]
    return "ok" if chat else "error: empty chat"


def user(url: str, number: int, questions: int, until: float, think: float, run: Run,
         timeout: float) -> None:
    """One user: own session and client address; asks until `questions` or `until`."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, download_files=False,
                        headers={"X-Forwarded-For": f"10.0.{number // 250}.{number % 250 + 1}"},
                        httpx_kwargs={"timeout": timeout})
    except Exception as exc:  # noqa: BLE001 - counted, not raised: the run goes on
        run.add(Result(time.monotonic(), 0.0, f"error: connect: {exc}"[:120]))
        return
    asked = 0
    while asked < questions and time.monotonic() < until:
        question = QUESTIONS[(number + asked) % len(QUESTIONS)]
        started = time.monotonic()
        try:
            job = client.submit(question, api_name="/ask")
            outcome = _outcome(job.result(timeout=timeout))
        except Exception as exc:  # noqa: BLE001 - "Queue is full", timeouts: counted
            outcome = f"error: {type(exc).__name__}: {exc}"[:140]
        run.add(Result(started, time.monotonic() - started, outcome))
        asked += 1
        if think:
            time.sleep(think)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(results: list[Result]) -> dict[str, Any]:
    ok = [r.seconds for r in results if r.outcome == "ok"]
    refused = [r.outcome for r in results if r.outcome.startswith("refused")]
    errors = [r.outcome for r in results if r.outcome.startswith("error")]
    return {
        "requests": len(results), "ok": len(ok), "refused": len(refused), "errors": len(errors),
        "p50": round(statistics.median(ok), 3) if ok else None,
        "p95": round(percentile(ok, 0.95), 3) if ok else None,
        "max": round(max(ok), 3) if ok else None,
        "examples": sorted(set(refused + errors))[:5],
    }


def burst(url: str, users: int, questions: int, timeout: float) -> dict[str, Any]:
    run = Run()
    threads = [threading.Thread(target=user, args=(url, i, questions, float("inf"), 0.0, run,
                                                   timeout)) for i in range(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * questions + 60)
    return {**summary(run.results), "users": users, "questions_each": questions,
            "seconds": round(time.monotonic() - started, 1)}


def soak(url: str, pid: int | None, users: int, seconds: float, think: float,
         timeout: float) -> dict[str, Any]:
    run = Run()
    started = time.monotonic()
    until = started + seconds
    threads = [threading.Thread(target=user, args=(url, 1000 + i, 10**9, until, think, run,
                                                   timeout)) for i in range(users)]
    for t in threads:
        t.start()
    samples: list[tuple[float, float]] = []
    while any(t.is_alive() for t in threads):
        if pid is not None:
            samples.append((time.monotonic() - started, rss_mb(pid)))
        time.sleep(5)
    for t in threads:
        t.join(timeout + 10)
    windows = []
    for w in range(0, int(seconds) + 1, 30):
        inside = [r for r in run.results if w <= r.started - started < w + 30]
        if inside:
            s = summary(inside)
            windows.append({"from_s": w, "requests": s["requests"], "p50": s["p50"],
                            "p95": s["p95"], "refused": s["refused"], "errors": s["errors"]})
    rss = [m for _, m in samples]
    return {**summary(run.results), "users": users, "think_s": think, "seconds": seconds,
            "windows": windows,
            "rss_mb": {"first": round(rss[0]) if rss else None,
                       "last": round(rss[-1]) if rss else None,
                       "max": round(max(rss)) if rss else None,
                       "after_1min": round(next((m for t, m in samples if t >= 60), 0)) or None}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running page (default: start ui.py on a free port)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--soak", type=float, default=180, help="seconds (0: no soak)")
    parser.add_argument("--think", type=float, default=2.5, help="seconds between a soak "
                        "user's questions (below the page's per-address rate limit)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request")
    parser.add_argument("--max-p95", type=float, default=2.0)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the page started (e.g. ASSISTANT_UI_QUEUE_SIZE=64)")
    parser.add_argument("--save", help="write the JSON report to this file too")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: the page, recording
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    page = None
    url = args.url
    if not url:
        extra = dict(item.split("=", 1) for item in args.env)
        page, url, work = start_page(extra)
        print(f"page started on {url} (pid {page.pid}; log {work / 'page.log'})", flush=True)
    try:
        records = work / "answers.jsonl" if page else Path("/nonexistent")
        user(url, 999, 1, float("inf"), 0.0, Run(), 600)  # the first answer loads the models
        # The local LLM reads the article (or loads its stored state) in the background: the
        # run starts once it answers.
        ready_by = time.monotonic() + 300
        while (page is not None and "ASSISTANT_LLM=none" not in args.env
               and not answers(records, 0, time.time())["backends"].get("local")
               and time.monotonic() < ready_by):
            time.sleep(5)
            user(url, 998, 1, float("inf"), 0.0, Run(), 600)
        report: dict[str, Any] = {"env": args.env, "load_before": os.getloadavg()[0],
                                  "rss_mb_start": round(rss_mb(page.pid)) if page else None}
        since = time.time()
        report["burst"] = burst(url, args.users, args.questions, args.timeout)
        report["burst"]["engine"] = answers(records, since, time.time())
        b = report["burst"]
        print(f"burst: {b['users']} users x {b['questions_each']} questions: {b['ok']} ok, "
              f"{b['refused']} refused, {b['errors']} errors; p50 {b['p50']} s, p95 {b['p95']} "
              f"s, max {b['max']} s; {b['seconds']} s in all {b['examples'] or ''}", flush=True)
        print(f"  engine: {b['engine']}", flush=True)
        if args.soak > 0:
            since = time.time()
            report["soak"] = soak(url, page.pid if page else None, args.users, args.soak,
                                  args.think, args.timeout)
            report["soak"]["engine"] = answers(records, since, time.time())
            s = report["soak"]
            print(f"soak: {s['seconds']:.0f} s, {s['users']} users, one question every "
                  f"{s['think_s']} s each: {s['requests']} requests, {s['ok']} ok, "
                  f"{s['refused']} refused, {s['errors']} errors; p50 {s['p50']} s, p95 "
                  f"{s['p95']} s; RSS {s['rss_mb']}", flush=True)
            for w in s["windows"]:
                print(f"  {w['from_s']:>4}-{w['from_s'] + 30:<4}s  {w['requests']:>4} requests  "
                      f"p50 {w['p50']} s  p95 {w['p95']} s  refused {w['refused']}  errors "
                      f"{w['errors']}")
            print(f"  engine: {s['engine']}", flush=True)
        report["load_after"] = os.getloadavg()[0]
        print(json.dumps(report))
        if args.save:
            Path(args.save).write_text(json.dumps(report, indent=1), encoding="utf-8")
    finally:
        if page is not None:
            page.terminate()
            try:
                page.wait(20)
            except subprocess.TimeoutExpired:
                page.kill()
    failed = [p for p in ("burst", "soak") if p in report and
              (report[p]["refused"] or report[p]["errors"]
               or report[p].get("engine", {}).get("unverified"))]
    if report["burst"]["p95"] is None or report["burst"]["p95"] > args.max_p95:
        failed.append("burst p95")
    print("targets met" if not failed else f"targets missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
