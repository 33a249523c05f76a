"""The loop that answers a conversation's waiting questions in order, streaming each answer.

It yields frames (plain dicts) for the page's events to turn into component updates: the chat
messages, and when an answer is done its article panel and language, or a status message.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from ..config import Settings
from ..errors import AssistantError, EmptyQuestionError, QuestionTooLongError
from ..results import Answer
from .article_html import highlights_for, render_article
from .chat_html import Exchange
from .conversation import Conversation
from .limits import Votes
from .strings import language, text

log = logging.getLogger("assistant.ui")


def engine_stream(engine: Any, question: str, history: list[tuple[str, Answer]],
                  cancel: threading.Event) -> Iterator[str | Answer]:
    """`engine.stream`, given the answer's cancel event when it takes one (Stop then ends the
    engine's work too), or `engine.ask` for an engine that does not stream."""
    method = getattr(engine, "stream", None)
    if method is None:
        yield engine.ask(question, history)
        return
    if takes_cancel(method):
        yield from method(question, history, cancel=cancel)
    else:
        yield from method(question, history)


def takes_cancel(method: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "cancel" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def answer_waiting(conv: Conversation, engine_of: Callable[[Conversation], Any], votes: Votes,
                   settings: Settings) -> Iterator[dict[str, Any]]:
    """Answer `conv`'s waiting questions in order with the engine of its article."""
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
                cancel = conv.begin_answer()
                article_text = conv.text
            yield {"chat": messages}
            result: Answer | None = None
            error = ""
            try:
                partial = ""
                engine = engine_of(conv)
                if conv.text != article_text:
                    return  # the article changed while its engine was being found
                for piece in engine_stream(engine, ex.question, history, cancel):
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
                error = text(conv.lang, "empty")
            except QuestionTooLongError:
                error = text(conv.lang, "too_long", length=len(ex.question),
                             limit=settings.max_question_chars)
            except AssistantError as exc:
                log.warning("engine error: %s", exc)
                error = text(conv.lang, "engine_error", message=str(exc))
            except Exception as exc:  # the page must keep working whatever the engine does
                log.exception("unexpected error while answering")
                error = text(conv.lang, "unexpected", kind=type(exc).__name__)
            with conv.lock:
                if conv.token != token:
                    return
                if result is None:
                    del conv.exchanges[index]
                    yield {"chat": conv.messages(), "status": error, "failed": ex.question}
                    continue
                conv.lang = language(result.language)
                answer_id = votes.add(ex.question, result, conv.article_key())
                conv.exchanges[index] = Exchange(ex.question, result, answer_id)
                messages = conv.messages()
                article = conv.article
            panel = ""
            if article is not None:
                panel = render_article(article, highlights_for(result), lang=conv.lang,
                                       session=conv.session, text_lang=conv.text_lang)
            yield {"chat": messages, "panel": panel, "lang": conv.lang, "status": ""}
    finally:
        with conv.lock:
            if conv.token == token:
                conv.running = False
