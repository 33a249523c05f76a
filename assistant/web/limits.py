"""Bounded bookkeeping of the page: rate limits per client address and the votable answers."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque

from ..results import Answer

MAX_VOTABLE = 10_000  # answers the thumbs buttons can still rate (the oldest are forgotten)


class RateLimiter:
    """At most `limit` events per client address in any `window` seconds (0: no limit)."""

    def __init__(self, limit: int, window: float, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.lock = threading.Lock()
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, client: str, now: float | None = None) -> float:
        """0 and the event counted if `client` may go on, else the seconds to wait."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self.lock:
            times = self.seen.pop(client, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self.seen[client] = times
            while len(self.seen) > self.max_clients:
                self.seen.popitem(last=False)
            if len(times) >= self.limit:
                return max(0.1, times[0] + self.window - now)
            times.append(now)
            return 0.0


class Votes:
    """The answers the page's thumbs buttons can rate, by an unguessable id (bounded)."""

    def __init__(self, limit: int = MAX_VOTABLE) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.answers: OrderedDict[str, tuple[str, Answer, str]] = OrderedDict()

    def add(self, question: str, answer: Answer, article: str = "") -> str:
        """An id for this answer (`article`: the pasted article's key, "" for the page's)."""
        key = secrets.token_hex(8)
        with self.lock:
            self.answers[key] = (question, answer, article)
            while len(self.answers) > self.limit:
                self.answers.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[str, Answer, str] | None:
        with self.lock:
            return self.answers.get(key)
