"""Thumbs up/down on answers, appended as JSON lines to `Settings.feedback_path`.

One record per vote: timestamp (UTC, ISO 8601), rating ("up" or "down"), the question, the
answer text, whether the article answered it, the searched query and the citations. A write
failure is logged and reported by the return value, never raised: feedback must not break a chat.

Bounded on what is stored: the question is cleaned and cut to `MAX_QUESTION_CHARS`, the answer
and query likewise, at most `MAX_CITATIONS` citations (`"truncated": true` says a field was cut),
so one record stays under about 16 kB. When the file would pass `max_bytes`
(`ASSISTANT_FEEDBACK_MAX_BYTES`), it is renamed to `<path>.1` (replacing the older one) and a new
file is started: the votes never take more than twice `max_bytes` on disk.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .results import Answer
from .text import clean_question, drop_surrogates

log = logging.getLogger(__name__)
_lock = threading.Lock()

RATINGS = ("up", "down")
DEFAULT_MAX_BYTES = 5_000_000  # Settings.feedback_max_bytes
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 4_000
MAX_CITATIONS = 5
MAX_CITATION_CHARS = 1_000
MAX_LABEL_CHARS = 200


def feedback_record(question: str, answer: Answer, rating: str,
                    article: str = "") -> dict[str, Any]:
    """The JSON-ready record for one vote, every text field cleaned and bounded. `article`
    names a pasted article by its content key ("" for the page's own article)."""
    cut: list[bool] = []

    def bounded(value: object, limit: int, clean: Callable[[str], str] = drop_surrogates) -> str:
        # Cut before cleaning too: cleaning is linear in the raw size, which nothing else caps.
        raw = str(value).lstrip()
        text = clean(raw[: 4 * limit])
        if len(text) > limit or len(raw) > 4 * limit:
            cut.append(True)
            return text[: limit - 1] + "…"
        return text

    citations = list(answer.citations)
    if len(citations) > MAX_CITATIONS:
        cut.append(True)
    record: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "rating": rating,
        "question": bounded(question, MAX_QUESTION_CHARS, clean_question),
        "answer": bounded(answer.text, MAX_ANSWER_CHARS),
        "found": bool(answer.found),
        "language": bounded(answer.language, 8),
        "query": bounded(answer.query, MAX_QUESTION_CHARS, clean_question),
        "citations": [
            {
                "text": bounded(c.text, MAX_CITATION_CHARS),
                "start": int(c.start),
                "end": int(c.end),
                "section": bounded(c.section, MAX_LABEL_CHARS),
                "score": float(c.score),
            }
            for c in citations[:MAX_CITATIONS]
        ],
    }
    if article:
        record["article"] = bounded(article, 64)
    if cut:
        record["truncated"] = True
    return record


def record_feedback(path: Path | str, question: str, answer: Answer, rating: str,
                    max_bytes: int = DEFAULT_MAX_BYTES, article: str = "") -> bool:
    """Append one vote to the JSON-lines file at `path`, rotating it to `<path>.1` past
    `max_bytes`; False (and a log line) if it failed."""
    if rating not in RATINGS:
        log.warning("feedback ignored: rating %r is not one of %s", rating, RATINGS)
        return False
    try:
        record = feedback_record(question, answer, rating, article)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        data = line.encode("utf-8")
        target = Path(path)
        with _lock:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Several page processes may share the file: they take turns across processes too.
            with FileLock(f"{target}.lock", timeout=10):
                _rotate_if_full(target, len(data), max_bytes)
                with target.open("ab") as out:
                    out.write(data)
    except Timeout:
        log.error("could not save feedback to %s: its lock %s.lock is held", path, path)
        return False
    except (OSError, TypeError, ValueError, AttributeError) as exc:
        log.error("could not save feedback to %s: %s", path, exc)
        return False
    return True


def _rotate_if_full(target: Path, adding: int, max_bytes: int) -> None:
    if not target.is_file():
        return
    size = target.stat().st_size
    if size and size + adding > max_bytes:
        os.replace(target, target.with_name(target.name + ".1"))
        log.info("feedback file %s reached %d bytes: moved to %s.1", target, size, target.name)
