"""One browser session's conversation and article, kept in `gr.State` and changed in place."""

from __future__ import annotations

import secrets
import threading
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..article import Article
from ..results import Answer
from .chat_html import Exchange, chat_messages
from .strings import DEFAULT_LANGUAGE

MAX_WAITING = 3  # questions one conversation may have waiting behind the one being answered

# Example questions come from `<article>.examples.txt` beside the article (one per line);
# an article without that file, or a pasted one, gets these generic ones.
GENERIC_EXAMPLES = [
    "De quoi parle l'article ?",
    "Qui est cité dans l'article ?",
    "What is the article about?",
    "What dates does the article mention?",
]


def example_questions(article_path: Path) -> list[str]:
    """The questions in `<article>.examples.txt` beside the article, else generic ones."""
    path = Path(article_path).with_suffix(".examples.txt")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return list(GENERIC_EXAMPLES)
    questions = [line.strip() for line in lines if line.strip()]
    return questions or list(GENERIC_EXAMPLES)


class Conversation:
    """A session's conversation: its exchanges, its language and its article.

    The page's events share it: sending adds a waiting exchange; one answering loop at a time
    answers the waiting ones in order; Stop, New conversation and a change of article bump
    `token`, which ends a loop, and set `cancel`, which ends the engine's work on the answer.
    `text` is the pasted article's text (None: the bundled article); `article` is what the
    article panel shows; `session` names the session to the page's script (never shown to
    another reader).
    """

    def __init__(self, lang: str = DEFAULT_LANGUAGE, article: Article | None = None) -> None:
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.lang = lang
        self.token = 0
        self.running = False
        self.cancel: threading.Event | None = None  # set by Stop: the answer being written
        self.bundled = article
        self.article = article
        self.text: str | None = None
        self.text_lang = "fr"  # the article's own language
        self.session = secrets.token_urlsafe(18)

    def __deepcopy__(self, memo: dict[int, Any]) -> Conversation:
        # gr.State deep-copies its initial value for each new session: a fresh conversation.
        return Conversation(self.lang, self.bundled)

    def history(self) -> list[tuple[str, Answer]]:
        """The answered turns, as the engine takes them."""
        return [(e.question, e.answer) for e in self.exchanges
                if e.state == "done" and e.answer is not None]

    def add(self, exchange: Exchange) -> None:
        """Add a waiting question, in the order the page sent it (two quick questions may
        reach the server the other way round)."""
        at = len(self.exchanges)
        for i, e in enumerate(self.exchanges):
            if e.state == "waiting" and exchange.seq and e.seq > exchange.seq:
                at = i
                break
        self.exchanges.insert(at, exchange)

    def waiting(self) -> int:
        return sum(e.state in ("waiting", "streaming") for e in self.exchanges)

    def messages(self) -> list[dict[str, str]]:
        return chat_messages(self.exchanges, self.lang)

    def article_key(self) -> str:
        """The pasted article's content key, "" for the bundled one (for feedback records)."""
        if self.text is None:
            return ""
        from ..library import article_key

        return article_key(self.text)

    def begin_answer(self) -> threading.Event:
        """A fresh cancel event for the answer about to be written."""
        self.cancel = threading.Event()
        return self.cancel

    def stop(self) -> None:
        """End the answer being written (kept as stopped); waiting questions stay."""
        self._end()
        self.exchanges = [
            replace(e, state="stopped") if e.state == "streaming" else e for e in self.exchanges
        ]

    def clear(self) -> None:
        self._end()
        self.exchanges = []

    def use_article(self, text: str | None, article: Article | None,
                    text_lang: str = "fr") -> None:
        """Read `text` from now on (None: the bundled article, in French); the conversation
        starts over."""
        self.clear()
        self.text = text
        self.article = article if text is not None else self.bundled
        self.text_lang = text_lang if text is not None else "fr"

    def _end(self) -> None:
        self.token += 1
        self.running = False
        if self.cancel is not None:
            self.cancel.set()


class Sessions:
    """The live sessions' conversations by their `session` name (entries go with the session)."""

    def __init__(self) -> None:
        self.live: weakref.WeakValueDictionary[str, Conversation] = weakref.WeakValueDictionary()

    def add(self, conv: Conversation) -> None:
        self.live[conv.session] = conv

    def get(self, name: object) -> Conversation | None:
        return self.live.get(name) if isinstance(name, str) else None
