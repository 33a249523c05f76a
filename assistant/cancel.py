"""Stopping an answer that is being written: the page's Stop sets an event; the LLM call running
for that answer sees it within one generated token and gives up (`cancelled()`).

    with cancel_scope(event):
        ...  # LLM calls made here, in this thread, stop when `event` is set
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


@contextmanager
def cancel_scope(event: threading.Event | None) -> Iterator[None]:
    """LLM calls made in this thread inside the block stop when `event` is set."""
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        yield
    finally:
        _local.event = previous


def cancelled() -> bool:
    """Whether the answer this thread is working on was stopped."""
    event = getattr(_local, "event", None)
    return event is not None and event.is_set()
