"""Thumbs up/down feedback: JSON lines appended, failures logged and never raised."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime

from assistant.feedback import record_feedback
from assistant.results import Answer, Citation

CITE = Citation("La Russie a annoncé son intention.", 1595, 1629, "Projets spatiaux", 0.42)
ANSWER = Answer("« La Russie a annoncé son intention. » [1]", True, [CITE], "fr", "Que dit-on ?")


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_votes_are_appended_as_json_lines(tmp_path):
    path = tmp_path / "sub" / "feedback.jsonl"
    assert record_feedback(path, "Que dit la Russie ?", ANSWER, "up")
    assert record_feedback(path, "Et ensuite ?", ANSWER, "down")
    first, second = read(path)
    assert first["rating"] == "up" and second["rating"] == "down"
    assert first["question"] == "Que dit la Russie ?"
    assert first["answer"] == ANSWER.text
    assert first["found"] is True and first["language"] == "fr"
    assert first["query"] == "Que dit-on ?"
    assert first["citations"] == [
        {"text": CITE.text, "start": 1595, "end": 1629, "section": "Projets spatiaux",
         "score": 0.42}
    ]
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    assert "« La Russie" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_write_failure_is_logged_not_raised(tmp_path, caplog):
    blocked = tmp_path / "a-directory"
    blocked.mkdir()
    with caplog.at_level(logging.ERROR, logger="assistant.feedback"):
        assert record_feedback(blocked, "q", ANSWER, "up") is False
    assert "could not save feedback" in caplog.text
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert record_feedback(not_a_dir / "feedback.jsonl", "q", ANSWER, "down") is False


def test_unknown_rating_is_refused(tmp_path, caplog):
    path = tmp_path / "feedback.jsonl"
    with caplog.at_level(logging.WARNING, logger="assistant.feedback"):
        assert record_feedback(path, "q", ANSWER, "meh") is False
    assert not path.exists()
    assert "rating" in caplog.text


def test_concurrent_votes_each_write_one_whole_line(tmp_path):
    path = tmp_path / "feedback.jsonl"
    threads = [
        threading.Thread(target=record_feedback, args=(path, f"question {i}", ANSWER, "up"))
        for i in range(40)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read(path)
    assert sorted(r["question"] for r in records) == sorted(f"question {i}" for i in range(40))
