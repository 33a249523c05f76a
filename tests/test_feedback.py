"""Thumbs up/down feedback: JSON lines appended, failures logged and never raised."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime

from assistant.feedback import feedback_record, record_feedback
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


def test_stored_fields_are_cleaned_and_bounded(tmp_path):
    path = tmp_path / "feedback.jsonl"
    padded = "  Qui\u200b dirige\x00 la NASA ?" + " " * 500_000 + "x" * 500_000 + "\ud800"
    long_cite = Citation("y" * 50_000, 0, 50_000, "s" * 5_000, 0.5)
    huge = Answer("z" * 1_000_000, True, [long_cite] * 50, "fr", "q" * 1_000_000)
    assert record_feedback(path, padded, huge, "up")
    (record,) = read(path)
    assert record["question"].startswith("Qui dirige la NASA ?")
    assert len(record["question"]) <= 2_000 and len(record["answer"]) <= 4_000
    assert len(record["query"]) <= 2_000 and len(record["citations"]) == 5
    assert all(len(c["text"]) <= 1_000 and len(c["section"]) <= 200 for c in record["citations"])
    assert record["truncated"] is True
    assert path.stat().st_size < 16_000
    assert "truncated" not in feedback_record("Qui ?", ANSWER, "up")


def test_file_rotates_past_its_cap_and_disk_use_stays_bounded(tmp_path):
    path = tmp_path / "feedback.jsonl"
    huge = Answer("z" * 100_000, True, [CITE], "fr", "q")
    for i in range(300):  # the attack: 300 thumbs-up on a huge answer (225 MB before)
        assert record_feedback(path, "x" * 100_000, huge, "up", max_bytes=200_000)
    rotated = tmp_path / "feedback.jsonl.1"
    assert rotated.is_file()
    assert path.stat().st_size <= 200_000 and rotated.stat().st_size <= 200_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "feedback.jsonl", "feedback.jsonl.1", "feedback.jsonl.lock"]
    for f in (path, rotated):  # whole records on both sides of the rotation
        assert all(r["rating"] == "up" for r in read(f))


def test_question_with_lone_surrogates_is_stored_as_utf8(tmp_path):
    path = tmp_path / "feedback.jsonl"
    assert record_feedback(path, "\udcff Qui ?", ANSWER, "down")
    assert read(path)[0]["question"] == "Qui ?"


def test_a_vote_on_a_pasted_article_names_it_by_its_key(tmp_path):
    path = tmp_path / "feedback.jsonl"
    assert record_feedback(path, "Q ?", ANSWER, "up", article="0123456789abcdef")
    assert record_feedback(path, "Q ?", ANSWER, "down")
    pasted, bundled = read(path)
    assert pasted["article"] == "0123456789abcdef"
    assert "article" not in bundled
    assert len(feedback_record("Q ?", ANSWER, "up", "k" * 500)["article"]) <= 64
