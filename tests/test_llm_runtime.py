"""The local LLM as a shared runtime, with the real model (installed by `make llm`): one Llama
for every article, each article's prefix state saved in its own index directory and switched
to on demand, readers first come first served and sent to the rules when the wait would pass
ASSISTANT_LLM_MAX_WAIT, background work preempted by readers, Stop within a token. The queue's
own rules are checked first without a model (a scripted holder of the turns)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant import prompts
from assistant.article import load_article
from assistant.cancel import cancel_scope
from assistant.config import Settings
from assistant.decide import LLMBusy, LLMUnavailable
from assistant.evaluate import article_path
from assistant.llm import LLMAnswerer, make_llm_answerer
from assistant.llm_queue import TurnQueue
from assistant.local_chat import LocalChat, runtime_stats, shared_model
from assistant.model_files import model_ready

WHEN = "Jusqu'à quand l'ISS sera-t-elle exploitée ?"


# -- the queue alone ------------------------------------------------------------------------

def _hold(queue: TurnQueue, task: str, seconds: float, order: list[str], name: str,
          max_wait: float = 60.0, background: bool = False) -> None:
    ticket = queue.ticket(task, 10, background)
    with queue.turn(ticket, max_wait=max_wait, deadline=time.monotonic() + 60):
        order.append(name)
        end = time.monotonic() + seconds
        while time.monotonic() < end and not ticket.preempted:
            time.sleep(0.01)
    if not ticket.preempted:
        queue.record(ticket, seconds)


def test_queue_serves_readers_in_arrival_order_and_bounds_the_wait() -> None:
    queue = TurnQueue()
    order: list[str] = []
    threads = [threading.Thread(target=_hold, args=(queue, "t", 0.15, order, f"r{i}"))
               for i in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.03)  # arrival order r0, r1, ...
    queue_seen = queue.stats().waiting
    started = time.monotonic()
    with pytest.raises(LLMBusy, match="ASSISTANT_LLM_MAX_WAIT"):
        _hold(queue, "t", 0.1, order, "late", max_wait=0.3)
    assert time.monotonic() - started < 0.05  # told at once, not after waiting
    for t in threads:
        t.join()
    assert order == [f"r{i}" for i in range(6)]
    assert queue_seen >= 4 and queue.stats().busy == 1


def test_queue_background_yields_and_a_stopped_caller_leaves() -> None:
    queue = TurnQueue()
    order: list[str] = []
    background = threading.Thread(target=_hold, args=(queue, "bg", 5.0, order, "bg"),
                                  kwargs={"background": True})
    background.start()
    time.sleep(0.05)
    started = time.monotonic()
    _hold(queue, "t", 0.05, order, "reader")
    assert time.monotonic() - started < 0.5  # the background call gave way
    background.join()
    assert order == ["bg", "reader"] and queue.stats().preempted == 1
    # A caller whose answer is stopped while it waits leaves the queue at once.
    first = threading.Thread(target=_hold, args=(queue, "t", 1.0, order, "first"))
    first.start()
    time.sleep(0.05)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    with cancel_scope(stop), pytest.raises(LLMUnavailable, match="stopped"):
        _hold(queue, "t", 0.1, order, "stopped")
    assert first.is_alive() and queue.stats().waiting == 0
    first.join()


# -- the real model -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = replace(Settings.from_env(), llm="local", llm_timeout=120.0, llm_max_wait=60.0)
    assert model_ready(settings.llm_model_path), "the model is missing: run `make llm`"
    import llama_cpp  # noqa: F401 - fails here, not later, when `make llm` has not run

    return replace(settings, index_dir=tmp_path_factory.mktemp("runtime"))


def _answerer(settings: Settings, text: str, directory: str) -> LLMAnswerer:
    own = replace(settings, article_path=article_path(text) if text != "iss"
                  else settings.article_path, index_dir=Path(settings.index_dir) / directory)
    own.index_dir.mkdir(parents=True, exist_ok=True)
    article = load_article(own.article_path, own.max_article_chars)
    digest = hashlib.sha256(article.text.encode()).hexdigest()
    return make_llm_answerer(own, article, {"article_sha256": digest, "store": "test"})


@pytest.fixture(scope="module")
def two(base: Settings) -> tuple[LLMAnswerer, LLMAnswerer]:
    iss, news = _answerer(base, "iss", "iss"), _answerer(base, "news", "news")
    iss.warm()
    news.warm()
    return iss, news


def _chat(answerer: LLMAnswerer) -> LocalChat:
    assert isinstance(answerer.chat, LocalChat)
    return answerer.chat


def _read(answerer: LLMAnswerer, question: str = WHEN, **kwargs: Any) -> str:
    assert answerer.whole is not None
    return answerer.chat.complete(prompts.reader_messages(answerer.whole, question),
                                  max_tokens=48, schema=prompts.READ_SCHEMA, **kwargs).text


def _summary(answerer: LLMAnswerer, **kwargs: Any) -> Any:
    assert answerer.whole is not None
    return answerer.chat.complete(prompts.summary_messages(answerer.whole, "en"),
                                  max_tokens=160, schema=prompts.SUMMARY_SCHEMA, **kwargs)


def test_two_articles_share_one_model_and_switch_by_their_saved_state(
        two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, news = two
    a, b = _chat(iss), _chat(news)
    assert a.model is b.model and a.model.llama is not None
    for chat in (a, b):  # one state per article, in that article's index directory
        assert chat.state_file is not None and chat.state_file.is_file()
        assert list(chat.state_file.parent.glob("llm-prefix-*.state")) == [chat.state_file]
    assert a.model.holds(b)  # read last
    loads = len(a.model._switch_load)
    started = time.perf_counter()
    assert "2028" in _read(iss)
    assert a.model.holds(a) and len(a.model._switch_load) == loads + 1
    assert a.model._switch_load[-1] < 2.0, "loading a saved prefix state should be fast"
    print(f"switch by saved state {a.model._switch_load[-1]:.2f} s; the reading with it "
          f"{time.perf_counter() - started:.2f} s; article read "
          f"{runtime_stats(iss.chat.settings).switch_read_s} s")  # type: ignore[attr-defined]


def test_an_article_with_no_saved_state_gets_the_rules_while_it_is_read(
        base: Settings, two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, news = two
    _read(news)  # the context holds the news article
    fresh = _answerer(base, "iss", "iss-again")  # same article, another directory, no state
    chat = _chat(fresh)
    chat.prefix = _chat(iss).prefix
    chat.state_file = chat._state_file(chat.prefix or "")
    assert chat.state_file is not None and not chat.state_file.exists()
    started = time.perf_counter()
    with pytest.raises(LLMBusy, match="reading this article"):
        _read(fresh)
    assert time.perf_counter() - started < 0.5
    # Meanwhile the other article is answered: its reader preempts the background reading.
    started = time.perf_counter()
    assert _read(news, "Qui ?")
    assert time.perf_counter() - started < 10
    chat.model.read_later(chat).join(180)
    assert chat.state_file.is_file() and "2028" in _read(fresh)


def test_readers_in_arrival_order(two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, _ = two
    done: list[int] = []

    def ask(i: int) -> None:
        _read(iss)
        done.append(i)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(120)
    assert done == [0, 1, 2, 3]


def test_a_reader_is_sent_to_the_rules_when_the_wait_passes_the_bound(
        two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, _ = two
    _read(iss)  # a reading's duration is measured
    threads = [threading.Thread(target=_read, args=(iss,)) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    bounded = replace(iss.chat.settings, llm_max_wait=1.0)  # type: ignore[attr-defined]
    impatient = LocalChat(bounded, _chat(iss).prefix_key)
    impatient.prefix, impatient.state_file = _chat(iss).prefix, _chat(iss).state_file
    impatient.tokens = _chat(iss).tokens
    busy_before = runtime_stats(bounded).queue.busy
    started = time.perf_counter()
    with pytest.raises(LLMBusy, match="queued ahead"):
        impatient.complete(prompts.reader_messages(iss.whole or "", WHEN), max_tokens=48,
                           schema=prompts.READ_SCHEMA)
    assert time.perf_counter() - started < 0.1
    assert runtime_stats(bounded).queue.busy == busy_before + 1
    for t in threads:
        t.join(120)


def test_background_work_is_preempted_by_a_reader(two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, _ = two
    outcome: list[str] = []

    def background() -> None:
        try:
            _summary(iss, background=True)
            outcome.append("finished")
        except LLMUnavailable as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=background)
    worker.start()
    time.sleep(2.0)  # its prompt read, generating
    started = time.perf_counter()
    assert "2028" in _read(iss)
    took = time.perf_counter() - started
    worker.join(120)
    assert outcome and outcome[0].startswith("preempted"), outcome
    means = runtime_stats(iss.chat.settings).queue.means  # type: ignore[attr-defined]
    assert took < 3 * means["answer/0"] + 1.0, (took, means)


def test_stop_ends_the_generation_within_a_token_and_frees_the_model(
        two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    iss, _ = two
    started = time.perf_counter()
    whole = _summary(iss)  # a full one, for the time a token takes
    model = shared_model(iss.chat.settings)  # type: ignore[attr-defined]
    tokens = len(model.llama.tokenize(whole.text.encode(), add_bos=False)) or 1
    per_token = (time.perf_counter() - started) / tokens
    stop = threading.Event()
    ended: list[float] = []

    def stopped() -> None:
        with cancel_scope(stop):
            try:
                _summary(iss)
            except LLMUnavailable as exc:
                assert "stopped" in str(exc)
                ended.append(time.perf_counter())

    worker = threading.Thread(target=stopped)
    worker.start()
    time.sleep(1.5)
    queued = threading.Event()  # a queued caller of the stopped answer leaves the queue too

    def waiting() -> None:
        with cancel_scope(stop):
            try:
                _read(iss)
            except LLMUnavailable:
                queued.set()

    other = threading.Thread(target=waiting)
    other.start()
    time.sleep(0.2)
    set_at = time.perf_counter()
    stop.set()
    worker.join(60)
    other.join(60)
    assert ended and queued.is_set()
    assert ended[0] - set_at < max(0.5, 3 * per_token), (ended[0] - set_at, per_token)
    started = time.perf_counter()
    assert "2028" in _read(iss)
    assert model.queue.stats().waiting == 0
    print(f"a token {per_token:.3f} s; stopped {ended[0] - set_at:.3f} s after Stop; "
          f"next reading {time.perf_counter() - started:.2f} s")
