"""Thumbs up/down on answers, appended as JSON lines to `Settings.feedback_path`.

One record per vote: timestamp (UTC, ISO 8601), rating ("up" or "down"), the question, the
answer text, whether the article answered it, the searched query and the citations. A write
failure is logged and reported by the return value, never raised: feedback must not break a chat.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .results import Answer

log = logging.getLogger(__name__)
_lock = threading.Lock()

RATINGS = ("up", "down")


def feedback_record(question: str, answer: Answer, rating: str) -> dict[str, Any]:
    """The JSON-ready record for one vote."""
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "rating": rating,
        "question": question,
        "answer": answer.text,
        "found": answer.found,
        "language": answer.language,
        "query": answer.query,
        "citations": [
            {
                "text": c.text,
                "start": int(c.start),
                "end": int(c.end),
                "section": c.section,
                "score": float(c.score),
            }
            for c in answer.citations
        ],
    }


def record_feedback(path: Path | str, question: str, answer: Answer, rating: str) -> bool:
    """Append one vote to the JSON-lines file at `path`; False (and a log line) if it failed."""
    if rating not in RATINGS:
        log.warning("feedback ignored: rating %r is not one of %s", rating, RATINGS)
        return False
    try:
        line = json.dumps(feedback_record(question, answer, rating), ensure_ascii=False)
        target = Path(path)
        with _lock:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
    except (OSError, TypeError, ValueError) as exc:
        log.error("could not save feedback to %s: %s", path, exc)
        return False
    return True
