"""The bundled GGUF through llama-cpp-python, in process: one model shared by every article's
`LocalChat`, its turns (`llm_queue`), each article's prefix state saved in that article's index
directory, and the probability of each generated token.

One llama.cpp context holds one article's prefix at a time. A call about another article
switches it: its saved state is loaded (fast), or, when none is saved yet, the reader gets the
rules (`LLMBusy`) while the article is read in the background, yielding to readers and resuming
where it was preempted."""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import json
import logging
import math
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cancel import cancel_scope, cancelled
from .chat import RETRY_SECONDS, Completion, render_chatml
from .config import Settings
from .decide import LLMBusy, LLMPreempted, LLMUnavailable
from .llm_queue import QueueStats, Ticket, TurnQueue
from .model_files import model_ready

log = logging.getLogger(__name__)

# Background work reads its prompt (an article, a task) this many tokens at a time, looking
# for a waiting reader in between; a reader's own prompt is read in one go: smaller batches
# cost it up to 1.8x (64) and 2.5x (32) the time of llama.cpp's 512 on a loaded 2-core machine.
BACKGROUND_CHUNK = 128
# The LLM timeout keeps a reader from waiting; no reader waits on background work (a reader
# preempts it), so one background call (an overview of the article) may run this many times
# longer. With 20 s, an overview (about 200 tokens) timed out on every new article here.
BACKGROUND_TIMEOUT_FACTOR = 6.0
ASSISTANT_TURN = "<|im_end|>\n<|im_start|>assistant\n"


@dataclass(frozen=True)
class RuntimeStats:
    """The shared model's queue and what its article switches cost (seconds, means)."""

    queue: QueueStats
    loaded: bool  # the model is in memory
    switch_load_s: float | None  # loading an article's saved prefix state (the last 50)
    switch_read_s: float | None  # reading an article with no saved state (in the background)
    switches: int


class LocalChat:
    """One article's view of the shared local model: its prefix (the article block, registered
    by `warm`) and where its state is saved (this article's index directory). The model loads
    on first use; if llama-cpp-python is not installed yet (`make llm` builds it) or the model
    file is missing, it says so once and looks again a minute later: the rules answer
    meanwhile."""

    name = "local"

    def __init__(self, settings: Settings, prefix_key: str = "") -> None:
        self.settings = settings
        self.prefix_key = prefix_key
        self.model = shared_model(settings)
        self.prefix: str | None = None  # the ChatML text every prompt of this article starts with
        self.state_file: Path | None = None
        self.tokens: list[int] | None = None  # the prefix's tokens, once the model is loaded

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None, background: bool = False) -> Completion:
        started = time.perf_counter()
        deadline = time.monotonic() + self.settings.llm_timeout
        prompt = render_chatml(messages)
        mine = self.prefix is not None and prompt.startswith(self.prefix)
        model = self.model
        model.check()
        if not background:
            model.wait_loaded(self.settings.llm_max_wait)
        switch = 0.0
        if mine and not model.holds(self):
            if not background and not self._saved():
                model.read_later(self)
                raise LLMBusy("the local LLM is still reading this article (its state is "
                              "not saved yet); the rules answer meanwhile")
            switch = model.mean_switch()
        ticket = model.queue.ticket(_task(schema, max_tokens), max_tokens, background, switch)
        with model.queue.turn(ticket, max_wait=self.settings.llm_max_wait,
                              deadline=math.inf if background else deadline):
            llama = model.load()
            if mine:
                model.switch_to(self, ticket)
            if background:  # from its turn on: no reader waits on it
                deadline = time.monotonic() + BACKGROUND_TIMEOUT_FACTOR * self.settings.llm_timeout
            return model.generate(llama, prompt, max_tokens, schema, ticket, deadline, started)

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Register this article's prefix, then have it in the model: its state loaded from
        this article's index directory (saved by an earlier process, keyed with the index
        manifest, the model and the prefix itself) or the article read and its state saved.
        Background work: it yields to readers. Returns when done."""
        self.prefix = render_chatml(messages)[: -len(ASSISTANT_TURN)]
        self.state_file = self._state_file(self.prefix)
        self.model.read_later(self).join()

    def _saved(self) -> bool:
        return self.state_file is not None and self.state_file.is_file()

    def _state_file(self, prefix: str) -> Path | None:
        if not self.prefix_key:
            return None
        digest = hashlib.sha256(f"{self.prefix_key}\n{self.settings.llm_model_path}\n{prefix}"
                                .encode()).hexdigest()[:16]
        return Path(self.settings.index_dir) / f"llm-prefix-{digest}.state"


_models: dict[tuple[str, int, int], SharedModel] = {}
_models_lock = threading.Lock()


def shared_model(settings: Settings) -> SharedModel:
    """The process's model for these settings (path, threads, context), shared by every
    article's LocalChat: a second article costs its prefix state, not another 1.9 GB."""
    key = (str(settings.llm_model_path), settings.llm_threads, settings.llm_context)
    with _models_lock:
        if key not in _models:
            _models[key] = SharedModel(*key)
        return _models[key]


def runtime_stats(settings: Settings) -> RuntimeStats:
    """The shared model's queue and switching costs, for the bench, the load test and logs."""
    return shared_model(settings).stats()


class SharedModel:
    """One llama.cpp model and context, its queue of turns, and the article prefix it holds."""

    def __init__(self, path: str, threads: int, context: int) -> None:
        self.path = Path(path)
        self.threads = threads
        self.context = context
        self.queue = TurnQueue()
        self.llama: Any = None
        self._load_lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._failed_at = -math.inf
        self._failure = ""
        self._said = False
        self._readers: dict[Path | None, threading.Thread] = {}  # articles being read
        self._readers_lock = threading.Lock()
        self._partial: dict[Path, tuple[list[int], bytes]] = {}  # preempted reads, to resume
        self._switch_load: list[float] = []
        self._switch_read: list[float] = []
        self._switches = 0

    # -- loading ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise LLMUnavailable at once if the model failed to load less than a minute ago."""
        if self.llama is None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            raise LLMUnavailable(self._failure)

    def wait_loaded(self, seconds: float) -> None:
        """A reader waits this long at most for a model being loaded, else gets the rules."""
        if self.llama is not None:
            return
        if not self._load_lock.acquire(timeout=seconds):
            raise LLMBusy("the local LLM is loading; the rules answer meanwhile")
        self._load_lock.release()
        self.check()

    def load(self) -> Any:
        if self.llama is not None:
            return self.llama
        with self._load_lock:
            if self.llama is not None:
                return self.llama
            self.check()
            try:
                importlib.invalidate_caches()  # it may have been installed since the last look
                import llama_cpp
            except ImportError:
                self._fail("the local LLM is not installed yet (llama-cpp-python: `make llm` "
                           "builds it, about 20 minutes on 2 cores); answering with the rules "
                           "meanwhile")
            if not model_ready(self.path):
                self._fail(f"the local LLM's model is not at {self.path} yet (`assistant "
                           "setup-llm` downloads it); answering with the rules meanwhile")
            try:
                self.llama = llama_cpp.Llama(
                    model_path=str(self.path), n_ctx=self.context, n_threads=self.threads,
                    n_batch=512, verbose=False,
                )
            except Exception as exc:  # noqa: BLE001 - any load failure: the rules answer
                self._fail(f"the local LLM failed to load ({exc}); answering with the rules")
            log.info("local LLM loaded from %s", self.path)
            return self.llama

    def _fail(self, message: str) -> None:
        self._failed_at = time.monotonic()
        self._failure = message
        if not self._said:
            log.warning("%s", message)
            self._said = True
        raise LLMUnavailable(message)

    # -- which article the context holds ---------------------------------------------------

    def holds(self, chat: LocalChat) -> bool:
        """Whether the context starts with this article's prefix now."""
        llama, tokens = self.llama, chat.tokens
        if llama is None or tokens is None or llama.n_tokens < len(tokens):
            return False
        return bool(np.array_equal(llama.input_ids[: len(tokens)], tokens))

    def _tokens(self, llama: Any, chat: LocalChat) -> list[int]:
        if chat.tokens is None:
            assert chat.prefix is not None
            chat.tokens = [int(t) for t in llama.tokenize(chat.prefix.encode("utf-8"),
                                                           add_bos=False, special=True)]
        return chat.tokens

    def mean_switch(self) -> float:
        return sum(self._switch_load[-8:]) / len(self._switch_load[-8:]) if self._switch_load \
            else 0.2

    def switch_to(self, chat: LocalChat, ticket: Ticket) -> None:
        """In `ticket`'s turn: make the context hold `chat`'s article, from its saved state,
        else (background work only) by reading it, preemptibly."""
        llama = self.load()
        tokens = self._tokens(llama, chat)
        if self.holds(chat):
            return
        started = time.perf_counter()
        if chat.state_file is not None and _load_state(llama, chat.state_file, tokens):
            self._switch_load = [*self._switch_load[-49:], time.perf_counter() - started]
            self._switches += 1
            log.info("local LLM: article state %s loaded in %.2f s", chat.state_file.name,
                     self._switch_load[-1])
            return
        if len(tokens) >= self.context - 256:
            return  # too long to keep: each question reads its own passages
        if not ticket.background:
            self.read_later(chat)
            raise LLMBusy("the local LLM is still reading this article; the rules answer "
                          "meanwhile")
        self._read(llama, chat, tokens, ticket)

    def _read(self, llama: Any, chat: LocalChat, tokens: list[int], ticket: Ticket) -> None:
        """Read the article prefix (resuming a preempted read), then save its state."""
        started = time.perf_counter()
        partial = self._partial.pop(chat.state_file, None) if chat.state_file else None
        if partial is not None and _set_state(llama, *partial):
            pass
        else:
            _truncate(llama, tokens)
        try:
            while llama.n_tokens < len(tokens):
                if ticket.preempted or cancelled():
                    if chat.state_file is not None and llama.n_tokens > 0:
                        self._partial[chat.state_file] = (
                            [int(t) for t in llama.input_ids[: llama.n_tokens]], _state(llama))
                        while len(self._partial) > 2:  # tens of MB each: the latest two kept
                            self._partial.pop(next(iter(self._partial)))
                    raise LLMPreempted("preempted: a reader needs the local LLM")
                llama.eval(tokens[llama.n_tokens: llama.n_tokens + BACKGROUND_CHUNK])
        except (ValueError, RuntimeError) as exc:
            log.warning("the local LLM could not read the article (%s)", exc)
            llama.reset()
            raise LLMUnavailable(f"the local LLM could not read the article ({exc})") from None
        self._switch_read = [*self._switch_read[-49:], time.perf_counter() - started]
        self._switches += 1
        log.info("local LLM: article read in %.1f s (%d tokens)", self._switch_read[-1],
                 len(tokens))
        if chat.state_file is not None:
            _save_state(llama, chat.state_file, len(tokens))

    def read_later(self, chat: LocalChat) -> threading.Thread:
        """Have `chat`'s article in the context soon, in a background thread (one per
        article): its saved state loaded, or the article read. The thread to join."""
        with self._readers_lock:
            thread = self._readers.get(chat.state_file)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._reader, args=(chat,), daemon=True,
                                          name="llm-read-article")
                self._readers[chat.state_file] = thread
                thread.start()
            return thread

    def _reader(self, chat: LocalChat) -> None:
        with cancel_scope(None):  # no reader's Stop ends the article's reading
            while True:
                ticket = self.queue.ticket("read-article", 0, background=True)
                try:
                    with self.queue.turn(ticket, max_wait=math.inf, deadline=math.inf):
                        if chat.prefix is not None:
                            self.switch_to(chat, ticket)
                        else:
                            self.load()
                    return
                except LLMUnavailable as exc:
                    if not ticket.preempted:
                        log.info("local LLM: the article was not read (%s)", exc)
                        return
                    # preempted by a reader: wait for the next gap, resume where it stopped

    # -- one call --------------------------------------------------------------------------

    def generate(self, llama: Any, prompt: str, max_tokens: int, schema: dict[str, Any] | None,
                 ticket: Ticket, deadline: float, started: float) -> Completion:
        """In `ticket`'s turn: the completion of `prompt`, stopped within one generated token
        by Stop, by a reader arriving (background work: also between chunks of its prompt) or
        by `deadline`."""
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        grammar = self._grammar(schema) if schema else None
        probe = _Confidence()

        def stop_now(*_: Any) -> bool:
            return cancelled() or ticket.preempted or time.monotonic() > deadline

        try:
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            _truncate(llama, tokens)
            # The last prompt token is read by llama.cpp's own call, which then has its logits.
            llama.n_tokens = min(llama.n_tokens, len(tokens) - 1)
            chunk = BACKGROUND_CHUNK if ticket.background else len(tokens)
            while llama.n_tokens < len(tokens) - 1 and not stop_now():
                llama.eval(tokens[llama.n_tokens: min(len(tokens) - 1, llama.n_tokens + chunk)])
            out = None if stop_now() else llama.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, grammar=grammar,
                stop=["<|im_end|>", "<|endoftext|>"],
                logits_processor=LogitsProcessorList([probe]),
                stopping_criteria=StoppingCriteriaList([stop_now]),
            )
        except (ValueError, RuntimeError) as exc:  # a prompt over the context, a decode error
            raise LLMUnavailable(f"the local LLM could not answer ({exc})") from None
        if cancelled():
            raise LLMUnavailable("stopped: the answer was stopped")
        if ticket.preempted:
            raise LLMPreempted("preempted: a reader needs the local LLM")
        if out is None or time.monotonic() > deadline:
            # At least this long: what the next readers' wait is estimated with.
            self.queue.record(ticket, time.monotonic() - ticket.started)
            raise LLMUnavailable("the local LLM took longer than the LLM timeout "
                                 "(ASSISTANT_LLM_TIMEOUT)")
        self.queue.record(ticket, time.monotonic() - ticket.started)
        return Completion(out["choices"][0]["text"], probe.lowest(), time.perf_counter() - started)

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def stats(self) -> RuntimeStats:
        def mean(values: list[float]) -> float | None:
            return round(sum(values) / len(values), 3) if values else None

        return RuntimeStats(self.queue.stats(), self.llama is not None, mean(self._switch_load),
                            mean(self._switch_read), self._switches)


def _task(schema: dict[str, Any] | None, max_tokens: int) -> str:
    """A call's kind for its running mean: what it asks for and how long it may write."""
    name = next(iter((schema or {}).get("properties", {})), "text")
    return f"{name}/{max_tokens // 64}"


def _truncate(llama: Any, tokens: list[int]) -> None:
    """Keep the longest part of the context that `tokens` starts with (llama.cpp reuses it)."""
    held = llama.input_ids[: llama.n_tokens]
    n = min(len(held), len(tokens))
    differ = np.nonzero(held[:n] != np.asarray(tokens[:n]))[0]
    llama.n_tokens = int(differ[0]) if len(differ) else n


class _Confidence:
    """A llama.cpp logits processor that records, at each step, the probability of the token
    the previous step chose (greedy decoding: the most probable one allowed)."""

    def __init__(self) -> None:
        self.probabilities: list[float] = []
        self._last: np.ndarray | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._last is not None and len(input_ids):
            self.probabilities.append(float(self._last[int(input_ids[-1])]))
        logits = np.asarray(scores, dtype=np.float64)
        exp = np.exp(logits - logits.max())
        self._last = exp / exp.sum()
        return scores

    def lowest(self) -> float:
        return min(self.probabilities) if self.probabilities else 1.0


def _state(llama: Any) -> bytes:
    """The context's KV state (not llama-cpp-python's logits copy: hundreds of MB)."""
    import llama_cpp

    size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
    buffer = (ctypes.c_uint8 * size)()
    used = llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size)
    return bytes(buffer)[:used]


def _set_state(llama: Any, tokens: list[int], data: bytes) -> bool:
    """Restore a state saved by `_state` after reading exactly `tokens`."""
    import llama_cpp

    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, len(data)) != len(data):
        llama.reset()
        return False
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    llama._requires_eval = True
    return True


def _save_state(llama: Any, path: Path, n_tokens: int) -> None:
    """The prefix's state, in its article's index directory; an older prefix of the same
    directory (another manifest, model or prompt) is removed: one per article directory."""
    try:
        data = {"tokens": [int(t) for t in llama.input_ids[:n_tokens]], "state": _state(llama)}
        for old in path.parent.glob("llm-prefix-*.state"):
            if old != path:
                old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(data, f)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the LLM prefix cache %s (%s)", path, exc)


def _load_state(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Restore a saved prefix state if it is the state of exactly `tokens`."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            saved = pickle.load(f)
        if [int(t) for t in saved["tokens"]] != list(tokens):
            return False
        return _set_state(llama, tokens, saved["state"])
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
        log.warning("cannot load the LLM prefix cache %s (%s)", path, exc)
        return False
