"""The chat page: a thin Gradio adapter over `assistant.answer_stream`.

Run `python ui.py` (or `make run`) and open http://127.0.0.1:7860. Host, port, login, queue
and the feedback file come from `Settings.from_env()` (ASSISTANT_UI_HOST, ASSISTANT_UI_PORT,
ASSISTANT_UI_AUTH=user:password, ASSISTANT_UI_CONCURRENCY, ASSISTANT_UI_QUEUE_SIZE,
ASSISTANT_FEEDBACK_PATH). Rendering lives in `assistant.render`, feedback in `assistant.feedback`.

A question shows at once (a fast step outside the queue), then a queued generator streams its
answer. Questions sent while one is being answered wait in the conversation and are answered in
turn; Stop ends the answer being written.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

# Before gradio is imported: no analytics, no version check, nothing leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

import assistant
from assistant import render
from assistant.article import Article, load_article
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError, EmptyQuestionError, QuestionTooLongError
from assistant.feedback import record_feedback
from assistant.render import Exchange
from assistant.results import Answer

log = logging.getLogger("assistant.ui")

# Example questions come from `<article>.examples.txt` beside the article (one per line);
# an article without that file gets these generic ones.
GENERIC_EXAMPLES = [
    "De quoi parle l'article ?",
    "Qui est cité dans l'article ?",
    "What is the article about?",
    "What dates does the article mention?",
]

MAX_WAITING = 3  # questions one conversation may have waiting behind the one being answered
RATE_LIMIT = 30  # questions per client address per RATE_WINDOW seconds (0: no limit)
RATE_WINDOW = 60.0
MAX_VOTABLE = 10_000  # answers the thumbs buttons can still rate (the oldest are forgotten)
LOGIN_FAILURES = 5  # failed logins per client address per LOGIN_WINDOW before a pause
LOGIN_WINDOW = 60.0

CSS = """
.sr-only {position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;}
.intro h1 {font-size: 1.35rem; margin: 0 0 .1rem;}
.intro p {margin: 0; color: var(--body-text-color-subdued); font-size: .95em;}
#view-tabs {display: none;}
#chat {height: calc(100vh - 290px) !important; min-height: 320px;}
#status:not(:has(.status)) {display: none;}
#chat .scroll-down-button-container, #chat .icon-button-wrapper.top-panel {display: none !important;}
#chat .message-wrap {padding-bottom: .5rem;}
.q {white-space: normal;}
.q-wait {font-size: .8em; margin-top: .2rem; color: var(--body-text-color-subdued);}
.ans {line-height: 1.5;}
.ans-notfound {border-left: 4px solid #b45309; padding-left: .65rem;}
.ans-notfound .ans-text {font-style: italic;}
.ans-badge {display: inline-block; font-size: .78em; font-weight: 600; color: #78350f;
  background: #fef3c7; border: 1px solid #d97706; border-radius: 999px;
  padding: .05rem .6rem; margin-bottom: .35rem;}
.ans-stopped .ans-note {font-size: .85em; font-style: italic; color: var(--body-text-color-subdued);}
.typing {display: flex; align-items: center; gap: .5rem; color: var(--body-text-color-subdued);
  font-size: .9em;}
.typing-dots {display: inline-flex; gap: 3px;}
.typing-dots span {width: 7px; height: 7px; border-radius: 50%; background: #6b7280;
  animation: typing 1.2s infinite ease-in-out;}
.typing-dots span:nth-child(2) {animation-delay: .2s;}
.typing-dots span:nth-child(3) {animation-delay: .4s;}
@keyframes typing {0%, 80%, 100% {opacity: .25;} 40% {opacity: 1;}}
.ans-sources {margin-top: .45rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .3rem; font-size: .86em;}
.src-label {font-weight: 600; font-size: .85em; color: var(--body-text-color-subdued);}
.ans-sources ol {list-style: none; margin: .1rem 0 0; padding: 0;}
.ans-sources li {margin: 0;}
button.src-btn {display: block; width: 100%; text-align: left; background: none; border: none;
  padding: .15rem .3rem; margin: 0; font: inherit; color: inherit; cursor: pointer;
  border-radius: 6px; display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2;
  overflow: hidden;}
button.src-btn:hover, button.src-btn:focus-visible {background: var(--background-fill-secondary);}
.src-n {font-weight: 700; color: #92400e; margin-right: .3rem;}
.src-section {font-weight: 600; margin-right: .3rem;}
.src-first {color: var(--body-text-color-subdued);}
details.src-more {margin: 0 0 .2rem 1.9rem;}
details.src-more summary {cursor: pointer; font-size: .92em; color: var(--body-text-color-subdued);}
blockquote.src-quote {margin: .2rem 0; padding-left: .6rem; border-left: 3px solid #f59e0b;
  font-style: normal;}
.src-mt {margin: .2rem 0; padding-left: .6rem; border-left: 3px dashed #9ca3af;}
.src-mt-label {font-weight: 600; font-size: .9em;}
button.mk {background: #fde68a; color: #78350f; border: none; border-radius: 4px;
  padding: 0 .2rem; margin: 0 .05rem; font: inherit; font-size: .82em; font-weight: 700;
  cursor: pointer;}
.ans-notfound button.mk {background: #e5e7eb; color: #374151;}
.ans-tools {margin-top: .35rem; display: flex; gap: .35rem; align-items: center; flex-wrap: wrap;}
.ans pre.copy-text, .ans pre.copy-text[hidden] {display: none !important;}
.ans-tools button {background: none; border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: .05rem .5rem; font: inherit; font-size: .78em; cursor: pointer;
  color: var(--body-text-color-subdued); min-height: 24px; min-width: 28px;}
button.copy-btn.copied::after {content: " ✓";}
button.vote[aria-pressed="true"] {background: #fef3c7; border-color: #d97706;}
.vote-note {font-size: .78em; color: var(--body-text-color-subdued);}
#status .status {border-radius: 8px; padding: .45rem .7rem; margin: .25rem 0; font-size: .92em;}
#status .status-error {background: #fef2f2; color: #991b1b; border: 1px solid #fca5a5;}
#status .status-info {background: #f0f9ff; color: #075985; border: 1px solid #7dd3fc;}
#input-row {align-items: stretch;}
.article-panel {border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: .6rem .8rem; background: var(--background-fill-primary);}
.article-head {display: flex; flex-direction: column; margin-bottom: .4rem;}
.article-label {font-weight: 700;}
.article-legend {font-size: .8em; color: var(--body-text-color-subdued);}
.article-scroll {height: calc(100vh - 215px); min-height: 320px; overflow-y: auto;
  padding-right: .4rem; font-family: Georgia, 'DejaVu Serif', 'Liberation Serif', serif;
  font-size: .95rem;}
.art-title {font-size: 1.2rem; font-weight: 600; margin: .2rem 0 .3rem; line-height: 1.3;}
.art-subtitle {font-style: italic; color: var(--body-text-color-subdued); margin: 0 0 .6rem;}
.art-heading {font-size: 1rem; font-weight: 600; margin: .9rem 0 .3rem;}
.art-par {margin: 0 0 .5rem; line-height: 1.55;}
mark.hl {background: #fde68a; color: #1f2937; border-radius: 3px; padding: 0 .05rem;}
mark.hl-near {background: #e5e7eb; outline: 1px dashed #6b7280;}
mark.hl-active {background: #fbbf24; box-shadow: 0 0 0 2px #d97706;}
sup.hl-num {font-weight: 700; color: #92400e; margin-right: .1rem;}
@media (max-width: 820px) {
  .intro p {display: none;}
  .intro h1 {font-size: 1.1rem;}
  #view-tabs {display: block;}
  .view-tabs {display: flex; gap: .3rem;}
  .view-tab {flex: 1; padding: .4rem; border: 1px solid var(--border-color-primary);
    border-radius: 8px; background: var(--background-fill-secondary); color: inherit;
    font: inherit; font-weight: 600; cursor: pointer;}
  .view-tab[aria-pressed="true"] {background: #fde68a; border-color: #d97706; color: #1f2937;}
  #main-row {flex-direction: column; gap: 0;}
  #chat-col, #article-col {min-width: 0 !important; width: 100% !important;}
  #main-row:has(#tab-article[aria-pressed="true"]) #chat-col {display: none !important;}
  #main-row:has(#tab-chat[aria-pressed="true"]) #article-col {display: none !important;}
  #chat {height: calc(100dvh - 305px) !important; min-height: 240px;}
  #input-row {position: sticky; bottom: 0; z-index: 5; background: var(--body-background-fill);
    padding: .3rem 0; flex-wrap: nowrap !important; margin: 0;}
  #input-row > * {min-width: 0 !important;}
  #new-conversation {margin-top: .2rem;}
  .article-scroll {height: calc(100dvh - 235px); min-height: 240px;}
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {animation: none !important; transition: none !important;
    scroll-behavior: auto !important;}
  .typing-dots span {opacity: .7;}
}
"""

# Runs once in the article panel: scrolls to the first highlight whenever the panel changes,
# and handles clicks on markers, sources, copy and thumbs buttons inside chat answers and on the
# chat / article switch of phone widths.
ARTICLE_JS = r"""
window.__articlePanel = {element, props, server};
const phone = () => window.matchMedia('(max-width: 820px)').matches;
const reduced = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const scrollToTarget = () => {
  const panel = window.__articlePanel.element;
  const box = panel.querySelector('.article-scroll');
  const target = panel.querySelector('#hl-target');
  if (!box || !target) return;
  const t = target.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  const margin = Math.min(60, b.height / 6);  // in view, but not at the very edge
  if (b.height === 0 || (t.top >= b.top + 4 && t.bottom <= b.bottom - margin)) return;
  box.scrollTo({top: Math.max(0, t.top - b.top + box.scrollTop - 40),
                behavior: reduced() ? 'auto' : 'smooth'});
};
window.__articleScroll = () => requestAnimationFrame(() => requestAnimationFrame(scrollToTarget));
watch('value', window.__articleScroll);
window.__articleScroll();
if (!window.__articleHooks) {
  window.__articleHooks = true;
  const showArticle = (on) => {
    for (const tab of document.querySelectorAll('.view-tab')) {
      tab.setAttribute('aria-pressed', String((tab.id === 'tab-article') === on));
    }
    if (on) {
      window.__articleScroll();
      const box = document.querySelector('#article-panel .article-scroll');
      if (box) box.focus({preventScroll: true});
    }
  };
  window.__showArticle = showArticle;
  // Gradio lists the chat's example questions as role="list" of buttons, which is not a list
  // (axe: aria-required-children): they are a group of buttons.
  // Votes are shown again whenever the chat is drawn anew.
  window.__votes = {};
  const showVotes = () => {
    for (const [id, vote] of Object.entries(window.__votes)) {
      const buttons = document.querySelectorAll(`#chat button.vote[value^="${id}:"]`);
      for (const b of buttons) {
        const pressed = String(b.value === `${id}:${vote.rating}`);
        if (b.getAttribute('aria-pressed') !== pressed) b.setAttribute('aria-pressed', pressed);
      }
      const tools = buttons.length ? buttons[0].parentElement : null;
      if (tools && !tools.querySelector('.vote-note')) {
        const span = document.createElement('span');
        span.className = 'vote-note';
        span.setAttribute('role', 'status');
        span.textContent = vote.note;
        tools.appendChild(span);
      }
    }
  };
  // Gradio names each message "user's message: ..." in English whatever the page's language.
  const fixGradio = () => {
    showVotes();
    for (const list of document.querySelectorAll('#chat .examples[role="list"]')) {
      list.setAttribute('role', 'group');
    }
    const en = document.querySelector('#intro .intro')?.lang === 'en';
    const who = {user: en ? 'Your question: ' : 'Votre question : ',
                 bot: en ? 'Answer: ' : 'Réponse : '};
    for (const m of document.querySelectorAll(
        '#chat [data-testid="user"][aria-label], #chat [data-testid="bot"][aria-label]')) {
      const label = who[m.dataset.testid] + m.textContent.trim().slice(0, 150);
      if (m.getAttribute('aria-label') !== label) m.setAttribute('aria-label', label);
    }
  };
  new MutationObserver(fixGradio).observe(document.body, {childList: true, subtree: true});
  fixGradio();
  const copyText = async (text) => {
    try { await navigator.clipboard.writeText(text); return; } catch (e) { /* fall back */ }
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  };
  document.addEventListener('click', async (event) => {
    const tab = event.target.closest && event.target.closest('.view-tab');
    if (tab) { showArticle(tab.id === 'tab-article'); return; }
    const button = event.target.closest && event.target.closest(
      '.ans button.src-btn, .ans button.mk, .ans button.copy-btn, .ans button.vote');
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const ans = button.closest('.ans');
    const panel = window.__articlePanel;
    if (button.classList.contains('copy-btn')) {
      const pre = ans.querySelector('pre.copy-text');
      await copyText(pre ? pre.textContent : ans.innerText);
      button.classList.add('copied');
      setTimeout(() => button.classList.remove('copied'), 1500);
      return;
    }
    if (button.classList.contains('vote')) {
      const [id, rating] = button.value.split(':');
      const note = await panel.server.vote({id, rating, lang: ans.lang});
      window.__votes[id] = {rating, note: typeof note === 'string' ? note : ''};
      showVotes();
      return;
    }
    const spans = [...ans.querySelectorAll('button.src-btn')]
      .map((b) => b.value.split(':').map((v) => parseInt(v, 10)));
    const active = parseInt(button.value.split(':')[0], 10);
    const near = ans.classList.contains('ans-notfound');
    const html = await panel.server.highlight({spans, active, near, lang: ans.lang});
    if (typeof html === 'string' && html) {
      panel.props.value = html;
      if (phone()) showArticle(true);
      window.__articleScroll();
    }
  }, true);
}
"""

# Numbers each question the page sends, so that quick ones keep their order on the server.
# (Emptying the box here instead of from the server would make Gradio drop the box's later
# label updates.)
COUNT_JS = "(q, n, c) => [q, (window.__asked = (window.__asked || 0) + 1), c]"
SHOW_CHAT_JS = "() => { if (window.__showArticle) window.__showArticle(false); }"


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
    """One browser session's conversation, kept in `gr.State` and changed in place.

    The page's events share it: sending adds a waiting exchange; one answering loop at a time
    answers the waiting ones in order; Stop and New conversation bump `token`, which ends a loop.
    """

    def __init__(self, lang: str = render.DEFAULT_LANGUAGE) -> None:
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.lang = lang
        self.token = 0
        self.running = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Conversation:
        # gr.State deep-copies its initial value for each new session: a fresh conversation.
        return Conversation(self.lang)

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
        return render.chat_messages(self.exchanges, self.lang)

    def stop(self) -> None:
        """End the answer being written (kept as stopped); waiting questions stay."""
        self.token += 1
        self.running = False
        self.exchanges = [
            replace(e, state="stopped") if e.state == "streaming" else e for e in self.exchanges
        ]

    def clear(self) -> None:
        self.token += 1
        self.running = False
        self.exchanges = []


class Votes:
    """The answers the page's thumbs buttons can rate, by an unguessable id (bounded)."""

    def __init__(self, limit: int = MAX_VOTABLE) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.answers: OrderedDict[str, tuple[str, Answer]] = OrderedDict()

    def add(self, question: str, answer: Answer) -> str:
        key = secrets.token_hex(8)
        with self.lock:
            self.answers[key] = (question, answer)
            while len(self.answers) > self.limit:
                self.answers.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[str, Answer] | None:
        with self.lock:
            return self.answers.get(key)


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


def example_text(data: gr.SelectData) -> str:
    """The question of a clicked example."""
    value = data.value if isinstance(data.value, dict) else {}
    return str(value.get("text", ""))


def skip(n: int) -> tuple[Any, ...]:
    return (gr.skip(),) * n


def _client(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "unknown")


def build_demo(settings: Settings | None = None, engine: Any = None) -> gr.Blocks:
    """The chat page for `settings`; `engine` (anything with `.ask`, optionally `.stream`, and
    `.article`) is optional, the default engine is built on the first question."""
    settings = settings or Settings.from_env()
    article: Article = engine.article if engine is not None else load_article(settings.article_path)
    lang0 = render.DEFAULT_LANGUAGE
    votes = Votes()
    limiter = RateLimiter(int(getattr(settings, "ui_rate_limit", RATE_LIMIT)), RATE_WINDOW)
    queue_size = settings.ui_queue_size

    def stream(question: str, history: list[tuple[str, Answer]]) -> Iterator[str | Answer]:
        if engine is not None and not hasattr(engine, "stream"):
            yield engine.ask(question, history)  # a scripted engine without streaming
            return
        yield from assistant.answer_stream(question, history, settings=settings, engine=engine)

    def labels(lang: str) -> tuple[Any, ...]:
        """The intro and the question box's labels in `lang`."""
        return (
            render.render_intro(lang),
            {"label": render.text(lang, "question_label"),
             "placeholder": render.text(lang, "placeholder")},
        )

    def add_question(question: str | None, seq: float | None, conv: Conversation,
                     request: gr.Request, check_queue: bool = True):
        """Put the question in the chat at once, to wait for its answer.
        Outputs: chatbot, question box, status, send, stop."""
        question = question or ""
        lang = conv.lang
        refusal = ""
        if not question.strip():
            refusal = render.text(lang, "empty")
        elif len(question) > settings.max_question_chars:
            refusal = render.text(
                lang, "too_long", length=len(question), limit=settings.max_question_chars
            )
        elif conv.waiting() > MAX_WAITING:
            refusal = render.text(lang, "too_many_waiting", count=conv.waiting())
        elif check_queue and queue_size is not None and _queued(demo) >= queue_size:
            refusal = render.text(lang, "busy")
        elif wait := limiter.wait(_client(request)):
            refusal = render.text(lang, "rate_limited", seconds=max(1, round(wait)))
        if refusal:
            return gr.skip(), question, render.render_status(refusal, "info"), *skip(2)
        with conv.lock:
            conv.add(Exchange(question, state="waiting", seq=int(seq or 0)))
            messages = conv.messages()
        return messages, "", "", gr.update(visible=False), gr.update(visible=True)

    def answer_waiting(conv: Conversation) -> Iterator[dict[str, Any]]:
        """Answer the conversation's waiting questions in order, streaming each answer.
        Yields frames: chat messages, and when an answer is done its article panel and
        language, or a status message."""
        with conv.lock:
            if conv.running:
                return  # the loop already running will get to the new question
            conv.running = True
            token = conv.token
        try:
            while True:
                with conv.lock:
                    if conv.token != token:
                        return
                    index = next(
                        (i for i, e in enumerate(conv.exchanges) if e.state == "waiting"), None
                    )
                    if index is None:
                        conv.running = False
                        yield {"chat": conv.messages(), "idle": True}
                        return
                    ex = conv.exchanges[index] = replace(conv.exchanges[index], state="streaming")
                    history = conv.history()
                    messages = conv.messages()
                yield {"chat": messages}
                result: Answer | None = None
                error = ""
                try:
                    partial = ""
                    for piece in stream(ex.question, history):
                        if conv.token != token:
                            return
                        if isinstance(piece, Answer):
                            result = piece
                            continue
                        partial += piece
                        with conv.lock:
                            if conv.token != token:
                                return
                            conv.exchanges[index] = replace(ex, partial=partial)
                            messages = conv.messages()
                        yield {"chat": messages}
                    if result is None:
                        raise AssistantError("the engine gave no answer")
                except EmptyQuestionError:
                    error = render.text(conv.lang, "empty")
                except QuestionTooLongError:
                    error = render.text(conv.lang, "too_long", length=len(ex.question),
                                        limit=settings.max_question_chars)
                except AssistantError as exc:
                    log.warning("engine error: %s", exc)
                    error = render.text(conv.lang, "engine_error", message=str(exc))
                except Exception as exc:  # the page must keep working whatever the engine does
                    log.exception("unexpected error while answering")
                    error = render.text(conv.lang, "unexpected", kind=type(exc).__name__)
                with conv.lock:
                    if conv.token != token:
                        return
                    if result is None:
                        del conv.exchanges[index]
                        yield {"chat": conv.messages(), "status": error, "failed": ex.question}
                        continue
                    conv.lang = render.language(result.language)
                    answer_id = votes.add(ex.question, result)
                    conv.exchanges[index] = Exchange(ex.question, result, answer_id)
                    messages = conv.messages()
                panel = render.render_article(article, render.highlights_for(result),
                                              lang=conv.lang)
                yield {"chat": messages, "panel": panel, "lang": conv.lang, "status": ""}
        finally:
            with conv.lock:
                if conv.token == token:
                    conv.running = False

    def respond(conv: Conversation):
        """The page's answering step. Outputs: chatbot, article panel, status, question box,
        intro, tabs, send, stop, new conversation (labels follow the answer's language; Stop shows
        while answering)."""
        sent_lang = conv.lang
        yielded = False
        for frame in answer_waiting(conv):
            yielded = True
            lang = frame.get("lang", sent_lang)
            relabel = lang != sent_lang
            sent_lang = lang
            busy = not frame.get("idle", False)
            yield (
                frame["chat"],
                frame.get("panel", gr.skip()),
                render.render_status(frame["status"], "error") if "status" in frame else gr.skip(),
                frame["failed"] if frame.get("failed") else gr.skip(),
                render.render_intro(lang) if relabel else gr.skip(),
                render.render_tabs(lang) if relabel else gr.skip(),
                *buttons(lang, busy),
            )
        if not yielded:  # another step of this conversation is answering: it takes this one
            yield skip(9)

    def relabel_box(conv: Conversation):
        """The question box's labels in the conversation's language (a step of its own: Gradio
        may drop a label update that comes with a streamed frame)."""
        return gr.update(**labels(conv.lang)[1])

    def buttons(lang: str, busy: bool) -> tuple[Any, ...]:
        """Send, Stop and New conversation: Stop instead of Send while answering. The labels
        go with every change (a label set while a button is hidden may not survive)."""
        return (
            gr.update(visible=not busy, value=render.text(lang, "send")),
            gr.update(visible=busy, value=render.text(lang, "stop")),
            gr.update(value=render.text(lang, "new_conversation")),
        )

    def ask(question: str | None, conv: Conversation, request: gr.Request):
        """The API: ask one question in this session's conversation (follow-ups included),
        streaming the answer. Outputs: chatbot, article panel, question box, status."""
        # Gradio's queue already admitted this request: no second check against it.
        chat, box, status, *_ = add_question(question, 0, conv, request, check_queue=False)
        if status:
            yield gr.skip(), gr.skip(), box, status
            return
        yield chat, gr.skip(), "", ""
        for frame in answer_waiting(conv):
            status = render.render_status(frame.get("status", ""), "error")
            if not frame.get("idle"):
                yield (frame["chat"], frame.get("panel", gr.skip()), frame.get("failed", ""),
                       status)

    def stop(conv: Conversation):
        with conv.lock:
            conv.stop()
            return conv.messages(), *buttons(conv.lang, False)

    def new_conversation(conv: Conversation):
        with conv.lock:
            conv.clear()
        panel = render.render_article(article, lang=conv.lang)
        return [], panel, "", "", *buttons(conv.lang, False)

    def on_load(conv: Conversation, request: gr.Request):
        header = request.headers.get("accept-language") if request is not None else None
        lang = render.language_from_header(header)
        conv.lang = lang
        intro, box = labels(lang)
        return (render.render_article(article, lang=lang), intro, render.render_tabs(lang),
                gr.update(**box),
                *buttons(lang, False))

    def highlight(payload: Any) -> str:
        """Server function for the page: re-highlight an answer's sources (a clicked source)."""
        spans, active = render.parse_highlights(payload, len(article.text))
        lang = payload.get("lang") if isinstance(payload, dict) else None
        return render.render_article(article, spans, active=active, lang=render.language(lang))

    def vote(payload: Any) -> str:
        """Server function for the page: a thumbs up/down on an answer, by its id."""
        data = payload if isinstance(payload, dict) else {}
        lang = render.language(data.get("lang"))
        key, rating = str(data.get("id", ""))[:64], data.get("rating")
        rated = votes.get(key)
        if rated is None or rating not in ("up", "down"):
            return render.text(lang, "feedback_missing")
        saved = record_feedback(
            settings.feedback_path, rated[0], rated[1], str(rating),
            max_bytes=settings.feedback_max_bytes,
        )
        return render.text(lang, "feedback_saved" if saved else "feedback_failed")

    examples = example_questions(settings.article_path)
    with gr.Blocks(title=render.text(lang0, "page_title"), analytics_enabled=False) as demo:
        conv_state = gr.State(Conversation(lang0))
        intro = gr.HTML(render.render_intro(lang0), js_on_load=None, elem_id="intro")
        with gr.Row(equal_height=False, elem_id="main-row"):
            tabs = gr.HTML(render.render_tabs(lang0), js_on_load=None, elem_id="view-tabs")
            with gr.Column(scale=6, min_width=360, elem_id="chat-col"):
                chatbot = gr.Chatbot(
                    label=render.text(lang0, "chat_label"),
                    show_label=False,
                    placeholder=render.text(lang0, "chat_placeholder"),
                    elem_id="chat",
                    render_markdown=False,
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],
                    feedback_options=None,
                    examples=[{"text": q} for q in examples],
                    autoscroll=True,
                )
                status = gr.HTML("", elem_id="status", js_on_load=None)
                with gr.Row(equal_height=True, elem_id="input-row"):
                    question = gr.Textbox(
                        label=render.text(lang0, "question_label"),
                        show_label=False,
                        placeholder=render.text(lang0, "placeholder"),
                        lines=1,
                        max_lines=6,
                        autofocus=True,
                        scale=8,
                        elem_id="question",
                    )
                    send = gr.Button(
                        render.text(lang0, "send"), variant="primary", scale=1, min_width=90,
                        elem_id="send",
                    )
                    stop_button = gr.Button(
                        render.text(lang0, "stop"), variant="stop", scale=1, min_width=90,
                        elem_id="stop", visible=False,
                    )
                new_conv = gr.Button(
                    render.text(lang0, "new_conversation"), size="sm", elem_id="new-conversation"
                )
            with gr.Column(scale=5, min_width=320, elem_id="article-col"):
                article_panel = gr.HTML(
                    render.render_article(article, lang=lang0),
                    elem_id="article-panel",
                    js_on_load=ARTICLE_JS,
                    server_functions=[highlight, vote],
                )
            api_button = gr.Button(visible=False)
            seq = gr.Number(0, visible=False)

        button_outputs = [send, stop_button, new_conv]
        add_io: dict[str, Any] = {
            "fn": add_question,
            "inputs": [question, seq, conv_state],
            "js": COUNT_JS,
            "outputs": [chatbot, question, status, send, stop_button],
            "queue": False,
            "api_visibility": "private",
            "show_progress": "hidden",
            "trigger_mode": "multiple",
        }
        respond_io: dict[str, Any] = {
            "fn": respond,
            "inputs": [conv_state],
            "outputs": [chatbot, article_panel, status, question, intro, tabs, *button_outputs],
            "api_visibility": "private",
            "show_progress": "hidden",
            "trigger_mode": "multiple",
        }
        relabel_io: dict[str, Any] = {
            "fn": relabel_box, "inputs": [conv_state], "outputs": [question], "queue": False,
            "api_visibility": "private", "show_progress": "hidden",
        }
        answering = [
            question.submit(**add_io).then(**respond_io),
            send.click(**add_io).then(**respond_io),
            chatbot.example_select(
                example_text, None, question, queue=False,
                api_visibility="private", show_progress="hidden",
            ).then(**add_io).then(**respond_io),
        ]
        for event in answering:
            event.then(**relabel_io)
        api_button.click(
            ask, [question, conv_state], [chatbot, article_panel, question, status],
            api_name="ask", show_progress="hidden",
        )
        stop_button.click(
            stop, conv_state, [chatbot, *button_outputs], cancels=answering, queue=False,
            api_visibility="private", show_progress="hidden",
        ).then(**respond_io)
        new_conv.click(
            new_conversation, conv_state,
            [chatbot, article_panel, question, status, *button_outputs],
            api_name="new_conversation", cancels=answering, js=SHOW_CHAT_JS,
            show_progress="hidden",
        )
        demo.load(
            on_load, conv_state, [article_panel, intro, tabs, question, *button_outputs],
            api_visibility="private", queue=False,
        )

    demo.queue(default_concurrency_limit=settings.ui_concurrency, max_size=queue_size)
    return demo


def _queued(demo: gr.Blocks) -> int:
    """Events waiting in the page's queue (0 before it starts)."""
    try:
        return len(demo._queue)
    except (AttributeError, TypeError):
        return 0


# --- the web server: only what the page needs, hardened -----------------------------------------

# Routes of Gradio the page never uses: uploads (issue: open to any website), the server-side
# URL proxy, monitoring and developer tools. FastAPI's own schema pages are turned off.
REFUSED_PREFIXES = (
    "/upload", "/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/proxy=",
    "/gradio_api/process_recording", "/gradio_api/stream/", "/gradio_api/dev/",
    "/gradio_api/vibe", "/gradio_api/undo-vibe", "/gradio_api/runs", "/gradio_api/run-history",
    "/monitoring", "/openapi.json", "/docs", "/redoc",
)

# Fitted to Gradio's page: its scripts and styles are same-origin but partly inline, and
# `js_on_load` code is compiled with `new Function` (hence 'unsafe-eval'); nothing remote.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class Guard:
    """ASGI middleware in front of Gradio: allowed Host headers only, refused routes and
    `/file=<url>` (the server would fetch any URL), security headers on every response, and
    failed logins slowed down per client address."""

    def __init__(self, app: Any, allowed_hosts: tuple[str, ...] = (),
                 login_failures: int = LOGIN_FAILURES, login_window: float = LOGIN_WINDOW):
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.logins = RateLimiter(login_failures, login_window)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            if scope.get("type") == "websocket" and not self._host_ok(scope):
                return
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        refusal = self._refusal(scope, path)
        if refusal:
            await _plain(refusal[0], refusal[1], scope, receive, send)
            return
        login = path.rstrip("/") in ("/login", "/gradio_api/login") and scope.get("method") == "POST"
        client = str((scope.get("client") or ("unknown",))[0])
        if login:
            blocked = self._login_blocked(client)
            if blocked:
                await _plain(429, f"Too many failed logins. Try again in {blocked} s.",
                             scope, receive, send, [(b"retry-after", str(blocked).encode())])
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                if login and message.get("status", 200) >= 400:
                    self._login_failed(client)
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {name for name, _ in SECURITY_HEADERS}]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _host_ok(self, scope: dict[str, Any]) -> bool:
        if not self.allowed_hosts or "*" in self.allowed_hosts:
            return True
        host = ""
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return host in self.allowed_hosts or name in self.allowed_hosts

    def _refusal(self, scope: dict[str, Any], path: str) -> tuple[int, str] | None:
        if not self._host_ok(scope):
            return 400, "Invalid host header."
        if path.startswith(REFUSED_PREFIXES):
            return 404, "Not found."
        _, marker, target = path.partition("/file=")
        if marker and "://" in target:
            return 403, "File not allowed."
        return None

    def _login_blocked(self, client: str) -> int:
        times = self.logins.seen.get(client)
        if not times or len(times) < self.logins.limit:
            return 0
        wait = times[0] + self.logins.window - time.monotonic()
        return max(1, round(wait)) if wait > 0 else 0

    def _login_failed(self, client: str) -> None:
        self.logins.wait(client)


async def _plain(status: int, body: str, scope: dict[str, Any], receive: Any, send: Any,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    response = PlainTextResponse(body, status_code=status)
    response.raw_headers.extend(SECURITY_HEADERS + (headers or []))
    await response(scope, receive, send)


def parse_auth(value: str) -> tuple[str, str] | None:
    """`user:password` -> (user, password); empty -> None (no login page). A user or a password
    that is empty or blank is refused (ConfigError), so a typo never opens the page."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password.strip():
        raise ConfigError(
            "ASSISTANT_UI_AUTH must be user:password with a non-empty user and password "
            f"(got {len(user)} characters of user and {len(password)} of password)"
        )
    return user, password


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The Host headers the page answers to: loopback names, the host it binds to (bound to every
    interface: the machine's names and addresses), and any listed in the settings
    (`ui_allowed_hosts`; "*" allows all, for a proxy that checks the host itself)."""
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1"]
    if settings.ui_host in ("", "0.0.0.0", "::"):
        hosts += _machine_names()
    else:
        hosts.append(settings.ui_host)
    extra = getattr(settings, "ui_allowed_hosts", ())
    if isinstance(extra, str):
        extra = tuple(h.strip() for h in extra.split(",") if h.strip())
    return tuple(dict.fromkeys([*hosts, *extra]))


def _machine_names() -> list[str]:
    names = [socket.gethostname(), socket.getfqdn()]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        names.append(f"[{address}]" if ":" in address else address)
    return [n for n in names if n]


# WCAG AA contrast for Gradio's subdued text (its default grey is 1.9:1 on white).
THEME = gr.themes.Default(primary_hue="amber").set(
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    block_label_text_color="*neutral_700",
    block_label_text_color_dark="*neutral_200",
    block_info_text_color="*neutral_600",
    block_info_text_color_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    button_primary_text_color="#1f2937",
    button_primary_text_color_hover="#111827",
    button_primary_text_color_dark="#1f2937",
    button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_background_fill_dark="#b91c1c",
    button_cancel_text_color="#ffffff",
    button_cancel_text_color_dark="#ffffff",
)


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `demo.launch`: host, port, login, look, and nothing served but
    what the page needs."""
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "auth": parse_auth(settings.ui_auth),
        "css": CSS,
        "theme": THEME,
        "footer_links": [],
        "share": False,
        "show_error": False,
        "mcp_server": False,
        "max_file_size": 1,  # bytes: the page takes no uploads
        "app_kwargs": {
            "openapi_url": None,
            "docs_url": None,
            "redoc_url": None,
            "middleware": [Middleware(Guard, allowed_hosts=allowed_hosts(settings))],
        },
    }


def _warm_up(settings: Settings) -> Callable[[], None]:
    def run() -> None:
        try:
            assistant.get_engine(settings)
        except Exception:  # the page shows the error on the first question
            log.exception("the answer engine could not be loaded")

    return run


demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    current = Settings.from_env()
    options = launch_options(current)  # a malformed ASSISTANT_UI_AUTH stops here, before serving
    threading.Thread(target=_warm_up(current), daemon=True).start()
    demo.launch(**options)
