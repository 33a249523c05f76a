"""The local LLM's turns: one model, one caller at a time. Readers are served in arrival order
(a ticket queue, not a lock whose wake-up order is random) and told at once, with `LLMBusy`,
when the work queued ahead of them would make them wait past a bound; background work starts
only when no reader waits and is preempted (at its next token) when one arrives.

    queue = TurnQueue()
    ticket = queue.ticket("answer", max_tokens=48)
    with queue.turn(ticket, max_wait=2.0, deadline=time.monotonic() + 20):
        ...  # the model is ours; a background ticket checks `ticket.preempted` as it goes
    queue.record(ticket, seconds)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .cancel import cancelled
from .decide import LLMBusy, LLMPreempted, LLMUnavailable

# Before a task's duration is measured: seconds per token it may generate (a 2-core CPU writes
# 6-25 tokens a second with the 1.5B model; its prompt is read at about 100 tokens a second).
PRIOR_SECONDS_PER_TOKEN = 0.03
# What a running background call costs a reader who arrives: it stops at its next token or
# after the chunk of prompt it is reading (BACKGROUND_CHUNK tokens in local_chat).
PREEMPT_SECONDS = 0.5
# Background work waits this long after a reader's turn: an answer's next step (its sentence,
# a translation) follows its reading within milliseconds and should not find the model taken.
BACKGROUND_GRACE = 0.5
SMOOTHING = 0.3  # weight of the newest duration in a task's running mean
POLL_SECONDS = 0.05  # how often a waiting caller looks at its stop event


@dataclass(eq=False)
class Ticket:
    """One call waiting for, or holding, the model."""

    task: str  # what kind of call, for its running mean ("answer/2": reading, <= 64 tokens)
    estimate: float  # seconds it is expected to hold the model
    background: bool = False
    arrived: float = field(default_factory=time.monotonic)
    started: float = 0.0
    preempted: bool = False  # set when a reader arrives while this background call runs


@dataclass(frozen=True)
class QueueStats:
    """What the queue has seen since the process started."""

    calls: int  # turns taken (readers and background)
    busy: int  # readers sent away at once (their wait would have passed the bound)
    stopped: int  # callers whose answer was stopped while they waited
    preempted: int  # background calls stopped for a reader
    waiting: int  # readers waiting now
    max_waiting: int  # the most readers waiting at once (the one running not counted)
    means: dict[str, float]  # running mean of seconds per task


class TurnQueue:
    """Readers first come, first served; background work in the gaps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running: Ticket | None = None
        self._reader_left = -float("inf")  # when the last reader's turn ended
        self._means: dict[str, float] = {}
        self._calls = self._busy = self._stopped = self._preempted = self._max_waiting = 0

    def ticket(self, task: str, max_tokens: int, background: bool = False,
               extra: float = 0.0) -> Ticket:
        """A ticket for a call of this task (`extra`: seconds it needs besides, e.g. loading
        its article's state)."""
        with self._cond:
            mean = self._means.get(task, PRIOR_SECONDS_PER_TOKEN * max_tokens)
        return Ticket(task, mean + extra, background)

    def wait_ahead(self) -> float:
        """Seconds of work ahead of a reader arriving now."""
        with self._cond:
            return self._ahead()

    def _ahead(self) -> float:
        now = time.monotonic()
        running = self._running
        total = sum(t.estimate for t in self._waiting)
        if running is not None:
            if running.background:
                total += PREEMPT_SECONDS
            else:
                total += max(PREEMPT_SECONDS, running.estimate - (now - running.started))
        return total

    @contextmanager
    def turn(self, ticket: Ticket, *, max_wait: float, deadline: float) -> Iterator[Ticket]:
        """Hold the model for `ticket`. A reader raises LLMBusy at once when the work ahead
        passes `max_wait` seconds; any caller leaves the queue with LLMUnavailable when its
        answer is stopped (`cancel.cancelled()`) or `deadline` (monotonic) passes."""
        with self._cond:
            if not ticket.background:
                ahead = self._ahead()
                if ahead > max_wait:
                    self._busy += 1
                    raise LLMBusy(
                        f"the local LLM is busy: about {ahead:.1f} s of work is queued ahead "
                        f"of this question, over the {max_wait:g} s bound "
                        f"(ASSISTANT_LLM_MAX_WAIT); the rules answer at once")
                self._waiting.append(ticket)
                self._max_waiting = max(self._max_waiting, len(self._waiting))
                if self._running is not None and self._running.background:
                    self._running.preempted = True
            try:
                while not self._free_for(ticket):
                    if cancelled():
                        self._stopped += 1
                        raise LLMUnavailable("stopped: the answer was stopped while it waited "
                                             "for the local LLM")
                    if time.monotonic() > deadline:
                        busy = LLMPreempted if ticket.background else LLMUnavailable
                        raise busy("the local LLM was busy with other questions for "
                                             "longer than the LLM timeout")
                    self._cond.wait(POLL_SECONDS)
            except BaseException:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            if not ticket.background:
                self._waiting.popleft()
            self._running = ticket
            ticket.started = time.monotonic()
            self._calls += 1
        try:
            yield ticket
        finally:
            with self._cond:
                if ticket.preempted:
                    self._preempted += 1
                if not ticket.background:
                    self._reader_left = time.monotonic()
                self._running = None
                self._cond.notify_all()

    def _free_for(self, ticket: Ticket) -> bool:
        if self._running is not None:
            return False
        if ticket.background:
            return not self._waiting and (
                time.monotonic() - self._reader_left >= BACKGROUND_GRACE)
        return self._waiting[0] is ticket

    def record(self, ticket: Ticket, seconds: float) -> None:
        """A call of this task that ran to its end took `seconds` holding the model."""
        with self._cond:
            old = self._means.get(ticket.task)
            self._means[ticket.task] = seconds if old is None else (
                (1 - SMOOTHING) * old + SMOOTHING * seconds)

    def stats(self) -> QueueStats:
        with self._cond:
            return QueueStats(self._calls, self._busy, self._stopped, self._preempted,
                              len(self._waiting), self._max_waiting,
                              {k: round(v, 3) for k, v in self._means.items()})
