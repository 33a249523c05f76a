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
from assistant.chat import render_chatml
from assistant.config import Settings
from assistant.decide import LLMBusy, LLMUnavailable
from assistant.llm import LLMAnswerer, make_llm_answerer
from assistant.llm_queue import TurnQueue
from assistant.local_chat import LocalChat, runtime_stats
from assistant.model_files import model_ready

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

# Two short invented articles: each read costs only its own block (the instructions and worked
# examples before it are shared and stay in the context).
LIBRARY = ("La bibliothèque de Valmont rouvre\nUn chantier de deux ans s'achève\n"
           "La bibliothèque municipale de Valmont a rouvert lundi après deux ans de travaux. "
           "Les travaux ont coûté 3 millions d'euros. Elle restera ouverte le dimanche jusqu'en "
           "2031, selon le maire, Paul Ardent.\n")
BRIDGE = ("Un pont neuf à Corlay\nLa préfète inaugure l'ouvrage\n"
          "Le nouveau pont de Corlay a été inauguré mardi par la préfète, Anne Duval. "
          "Il mesure 240 mètres et relie les deux rives du Lay.\n")
UNTIL = "Jusqu'à quand la bibliothèque restera-t-elle ouverte le dimanche ?"
LENGTH = "Combien mesure le pont ?"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = replace(Settings.from_env(), llm="local", llm_timeout=600.0, llm_max_wait=600.0)
    assert model_ready(settings.llm_model_path), "the model is missing: run `make llm`"
    import llama_cpp  # noqa: F401 - fails here, not later, when `make llm` has not run

    return replace(settings, index_dir=tmp_path_factory.mktemp("runtime"))


def _answerer(settings: Settings, text: str, directory: str) -> LLMAnswerer:
    own = replace(settings, index_dir=Path(settings.index_dir) / directory,
                  article_path=Path(settings.index_dir) / f"{directory}.txt")
    own.index_dir.mkdir(parents=True, exist_ok=True)
    own.article_path.write_text(text, encoding="utf-8")
    article = load_article(own.article_path, own.max_article_chars)
    digest = hashlib.sha256(article.text.encode()).hexdigest()
    return make_llm_answerer(own, article, {"article_sha256": digest, "store": "test"})


@pytest.fixture(scope="module")
def two(base: Settings) -> tuple[LLMAnswerer, LLMAnswerer]:
    library, bridge = _answerer(base, LIBRARY, "library"), _answerer(base, BRIDGE, "bridge")
    library.warm()
    bridge.warm()
    return library, bridge


def _chat(answerer: LLMAnswerer) -> LocalChat:
    assert isinstance(answerer.chat, LocalChat)
    return answerer.chat


def _read(answerer: LLMAnswerer, question: str = UNTIL, **kwargs: Any) -> str:
    assert answerer.whole is not None
    return answerer.chat.complete(prompts.reader_messages(answerer.whole, question),
                                  max_tokens=48, schema=prompts.READ_SCHEMA, **kwargs).text


def _counting(answerer: LLMAnswerer) -> list[dict[str, str]]:
    assert answerer.whole is not None
    messages = prompts.prefix_messages(answerer.whole)
    messages[-1] = {"role": "user", "content": messages[-1]["content"]
                    + "Count from 1 to 500 in digits, separated by commas."}
    return messages


def _count(answerer: LLMAnswerer, tokens: int = 300, **kwargs: Any) -> Any:
    """A long generation (counting), to be stopped or preempted."""
    return answerer.chat.complete(_counting(answerer), max_tokens=tokens, **kwargs)


@pytest.fixture(scope="module")
def per_token(two: tuple[LLMAnswerer, LLMAnswerer]) -> float:
    """Seconds a generated token takes now (the machine's load decides it)."""
    library, _ = two
    _count(library, 4)  # its prompt read
    started = time.perf_counter()
    _count(library, 4)
    short = time.perf_counter() - started
    started = time.perf_counter()
    _count(library, 24)
    return max(0.01, (time.perf_counter() - started - short) / 20)


def _generating(answerer: LLMAnswerer) -> None:
    """Wait until the running call is generating (past its prompt)."""
    model = _chat(answerer).model
    prompt = len(model.llama.tokenize(render_chatml(_counting(answerer)).encode(),
                                      add_bos=False, special=True))
    deadline = time.monotonic() + 300
    while model.llama.n_tokens < prompt + 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)


def test_two_articles_share_one_model_and_switch_by_their_saved_state(
        two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    library, bridge = two
    a, b = _chat(library), _chat(bridge)
    assert a.model is b.model and a.model.llama is not None
    for chat in (a, b):  # one state per article, in that article's index directory
        assert chat.state_file is not None and chat.state_file.is_file()
        assert list(chat.state_file.parent.glob("llm-prefix-*.state")) == [chat.state_file]
    assert a.model.holds(b) and not a.model.holds(a)  # the bridge was read last
    loads = len(a.model._switch_load)
    assert "2031" in _read(library)
    assert a.model.holds(a) and len(a.model._switch_load) == loads + 1
    assert "240" in _read(bridge, LENGTH)
    stats = runtime_stats(a.settings)
    assert stats.switch_load_s is not None and stats.switch_load_s < 2.0
    print(f"switch: saved state loaded in {stats.switch_load_s} s, article read in "
          f"{stats.switch_read_s} s")


def test_an_article_with_no_saved_state_gets_the_rules_while_it_is_read(
        base: Settings, two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    library, bridge = two
    _read(bridge, LENGTH)  # the context holds the bridge
    fresh = _answerer(base, LIBRARY, "library-again")  # the same article, no state saved
    chat = _chat(fresh)
    chat.prefix = _chat(library).prefix
    chat.state_file = chat._state_file(chat.prefix or "")
    assert chat.state_file is not None and not chat.state_file.exists()
    started = time.perf_counter()
    with pytest.raises(LLMBusy, match="reading this article"):
        _read(fresh)
    assert time.perf_counter() - started < 0.5
    # Meanwhile the other article is answered (its reader comes first) ...
    assert "240" in _read(bridge, LENGTH)
    chat.model.read_later(chat).join(600)
    # ... and once the article is read, its state is saved and it is answered.
    assert chat.state_file.is_file() and "2031" in _read(fresh)


def test_readers_in_arrival_order(two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    library, _ = two
    done: list[int] = []

    def ask(i: int) -> None:
        _read(library)
        done.append(i)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(600)
    assert done == [0, 1, 2, 3]


def test_a_reader_is_sent_to_the_rules_when_the_wait_passes_the_bound(
        two: tuple[LLMAnswerer, LLMAnswerer]) -> None:
    library, _ = two
    _read(library)  # a reading's duration is measured
    threads = [threading.Thread(target=_read, args=(library,)) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    mean = runtime_stats(_chat(library).settings).queue.means["answer/0"]
    bounded = replace(_chat(library).settings, llm_max_wait=1.5 * mean)  # under 2 readings
    impatient = LocalChat(bounded, _chat(library).prefix_key)
    impatient.prefix, impatient.state_file = _chat(library).prefix, _chat(library).state_file
    impatient.tokens = _chat(library).tokens
    busy_before = runtime_stats(bounded).queue.busy
    started = time.perf_counter()
    with pytest.raises(LLMBusy, match="queued ahead"):
        impatient.complete(prompts.reader_messages(library.whole or "", UNTIL), max_tokens=48,
                           schema=prompts.READ_SCHEMA)
    assert time.perf_counter() - started < 0.1  # at once, not after waiting
    assert runtime_stats(bounded).queue.busy == busy_before + 1
    for t in threads:
        t.join(600)


def test_background_work_is_preempted_by_a_reader(two: tuple[LLMAnswerer, LLMAnswerer],
                                                  per_token: float) -> None:
    library, _ = two
    _count(library, 4)
    started = time.perf_counter()
    _read(library)  # after another prompt, as below
    alone = time.perf_counter() - started
    outcome: list[str] = []

    def background() -> None:
        try:
            _count(library, background=True)
            outcome.append("finished")
        except LLMUnavailable as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=background)
    worker.start()
    _generating(library)
    started = time.perf_counter()
    assert "2031" in _read(library)
    took = time.perf_counter() - started
    worker.join(600)
    assert outcome and outcome[0].startswith("preempted"), outcome
    assert took < 1.5 * alone + 5 * per_token + 0.5, (took, alone, per_token)


def test_stop_ends_the_generation_within_a_token_and_frees_the_model(
        two: tuple[LLMAnswerer, LLMAnswerer], per_token: float) -> None:
    library, _ = two
    stop = threading.Event()
    ended: list[float] = []

    def stopped() -> None:
        with cancel_scope(stop):
            try:
                _count(library)
            except LLMUnavailable as exc:
                assert "stopped" in str(exc)
                ended.append(time.perf_counter())

    worker = threading.Thread(target=stopped)
    worker.start()
    _generating(library)
    left_queue = threading.Event()  # a caller of the stopped answer still queued leaves too

    def waiting() -> None:
        with cancel_scope(stop):
            try:
                _read(library)
            except LLMUnavailable as exc:
                assert "stopped" in str(exc)
                left_queue.set()

    other = threading.Thread(target=waiting)
    other.start()
    time.sleep(0.2)
    set_at = time.perf_counter()
    stop.set()
    worker.join(600)
    other.join(600)
    assert ended and left_queue.is_set()
    assert ended[0] - set_at < max(0.5, 3 * per_token), (ended[0] - set_at, per_token)
    assert _chat(library).model.queue.stats().waiting == 0
    started = time.perf_counter()
    assert "2031" in _read(library)  # the next caller has the model at once
    print(f"a token {per_token:.3f} s; stopped {ended[0] - set_at:.3f} s after Stop; the next "
          f"reading {time.perf_counter() - started:.2f} s")
