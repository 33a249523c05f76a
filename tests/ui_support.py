"""Helpers for the chat page tests: launch the app on a free port, read its HTML, fake engines."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.article import Article
from assistant.config import Settings
from assistant.results import Answer, Citation


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(demo: Any, settings: Settings) -> str:
    """Start `demo` in this process with the options `python ui.py` uses; return its URL."""
    import ui

    options = ui.launch_options(settings)
    options.update(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    demo.launch(**options)
    return f"http://127.0.0.1:{options['server_port']}"


def settings_with_feedback(directory: Path) -> Settings:
    """The environment's settings, with votes written under `directory`."""
    return replace(Settings.from_env(), feedback_path=directory / "feedback.jsonl")


@contextmanager
def real_app(settings: Settings) -> Iterator[tuple[str, Article]]:
    """The page as `python ui.py` serves it: default engine (real models, real Chroma)."""
    import assistant
    import ui

    engine = assistant.get_engine(settings)  # load once, before the first request
    demo = ui.build_demo(settings)
    try:
        yield launch(demo, settings), engine.article
    finally:
        demo.close()


MARK = re.compile(r'<mark class="([^"]*)"[^>]*>(.*?)</mark>', re.DOTALL)
SOURCE = re.compile(r'<button type="button" class="src-btn" value="(\d+):(\d+):(\d+)"')


def marked(panel_html: str, number: int) -> str:
    """The text highlighted as citation `number` in the article panel (pieces joined)."""
    pieces = [
        html.unescape(text)
        for classes, text in MARK.findall(panel_html)
        if f"c{number}" in classes.split()
    ]
    return "".join(pieces)


def mark_classes(panel_html: str) -> list[set[str]]:
    return [set(classes.split()) for classes, _ in MARK.findall(panel_html)]


def sources(answer_html: str) -> list[tuple[int, int, int]]:
    """(number, start, end) of each source button under an answer."""
    return [(int(n), int(s), int(e)) for n, s, e in SOURCE.findall(answer_html)]


def message_html(message: dict[str, Any]) -> str:
    """The HTML of one chat message as gradio_client returns it."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def visible_text(fragment: str) -> str:
    """Text of an HTML fragment without tags, entities decoded (hidden copy text excluded)."""
    fragment = re.sub(r'<pre class="copy-text" hidden>.*?</pre>', "", fragment, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@dataclass
class FakeEngine:
    """A scripted engine with the real interface (`.ask`, `.article`, `.settings`).

    Each call pops the next item of `script`: an Answer is returned, an exception raised;
    `delay` seconds are slept first (to fill the queue). While `gate` is clear, a call waits for
    it (a test holds the engine "answering" for as long as it looks at the page, then opens it);
    `done` counts the calls that returned.
    """

    article: Article
    settings: Settings
    script: list[Answer | Exception] = field(default_factory=list)
    delay: float = 0.0
    calls: list[tuple[str, list[tuple[str, Answer]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event = field(default_factory=threading.Event)
    done: int = 0

    def __post_init__(self) -> None:
        self.gate.set()

    def ask(self, question: str, history: list[tuple[str, Answer]] | None = None) -> Answer:
        with self.lock:
            self.calls.append((question, list(history or [])))
            item = self.script.pop(0) if self.script else self.default(question)
        if self.delay:
            time.sleep(self.delay)
        self.gate.wait(timeout=300)
        with self.lock:
            self.done += 1
        if isinstance(item, Exception):
            raise item
        return item

    def default(self, question: str) -> Answer:
        sentence = self.article.sentences[0]
        cite = Citation(sentence.text, sentence.start, sentence.end, sentence.section, 1.0)
        return Answer(f"« {sentence.text} » [1]", True, [cite], "fr", question)


@dataclass
class StreamingFakeEngine(FakeEngine):
    """A scripted engine that streams: the answer's words one by one, `word_delay` apart."""

    word_delay: float = 0.1

    cancels: list[threading.Event] = field(default_factory=list)

    def stream(self, question: str, history: list[tuple[str, Answer]] | None = None,
               cancel: threading.Event | None = None):
        if cancel is not None:
            self.cancels.append(cancel)
        result = self.ask(question, history)
        words = result.text.split(" ")
        for i, word in enumerate(words):
            time.sleep(self.word_delay)
            yield word if i == 0 else " " + word
        yield result


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()
