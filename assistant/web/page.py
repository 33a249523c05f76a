"""The page: its layout and events (`build_demo`), a thin Gradio layer over the modules beside it.

A question shows at once (a fast step outside the queue), then a queued generator streams its
answer (`answering.answer_waiting`). Questions sent while one is being answered wait in the
conversation and are answered in turn; Stop ends the answer being written, on the server too.
"Use another article" reads a pasted text (`articles.ArticleReader`) for this session alone.
"""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

import assistant

from ..article import Article, load_article
from ..config import Settings
from ..feedback import record_feedback
from .answering import answer_waiting
from .article_html import parse_highlights, render_article, render_progress
from .articles import ArticleReader, EngineFor
from .chat_html import Exchange, render_intro, render_status, render_tabs
from .conversation import (
    GENERIC_EXAMPLES,
    MAX_WAITING,
    Conversation,
    Sessions,
    example_questions,
)
from .launch import page_script
from .limits import RateLimiter, Votes
from .strings import DEFAULT_LANGUAGE, language, language_from_header, number, text

RATE_WINDOW = 60.0  # seconds: the window of `Settings.ui_rate_limit`

# Numbers each question the page sends, so that quick ones keep their order on the server.
# (Emptying the box here instead of from the server would make Gradio drop the box's later
# label updates.)
COUNT_JS = "(q, n, c) => [q, (window.__asked = (window.__asked || 0) + 1), c]"
SHOW_CHAT_JS = "() => { if (window.__showArticle) window.__showArticle(false); }"
PRIVATE: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}


def example_text(data: gr.SelectData) -> str:
    """The question of a clicked example."""
    value = data.value if isinstance(data.value, dict) else {}
    return str(value.get("text", ""))


def skip(n: int) -> tuple[Any, ...]:
    return (gr.skip(),) * n


def _client(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "unknown")


def _queued(demo: gr.Blocks) -> int:
    """Events waiting in the page's queue (0 before it starts)."""
    try:
        return len(demo._queue)
    except (AttributeError, TypeError):
        return 0


def editor_head(lang: str) -> str:
    return f'<h2 class="editor-title" lang="{lang}">{escape(text(lang, "editor_title"))}</h2>'


def build_demo(settings: Settings | None = None, engine: Any = None,
               engine_for: EngineFor | None = None) -> gr.Blocks:
    """The chat page for `settings`. `engine` (anything with `.ask`, optionally `.stream`, and
    `.article`) answers about the bundled article (default: the process's engine, built on the
    first question); `engine_for` builds the engine of a pasted article (default:
    `assistant.library.engine_for`)."""
    settings = settings or Settings.from_env()
    bundled: Article = (engine.article if engine is not None
                        else load_article(settings.article_path, settings.max_article_chars))
    lang0 = DEFAULT_LANGUAGE
    votes = Votes()
    sessions = Sessions()
    reader = ArticleReader(settings, engine_for)
    limiter = RateLimiter(settings.ui_rate_limit, RATE_WINDOW)
    queue_size = settings.ui_queue_size
    bundled_examples: list[Any] = [{"text": q} for q in example_questions(settings.article_path)]
    pasted_examples: list[Any] = [{"text": q} for q in GENERIC_EXAMPLES]
    cap = settings.max_article_chars

    def engine_of(conv: Conversation) -> Any:
        if conv.text is not None:
            return reader.engine(conv)
        return engine if engine is not None else assistant.get_engine(settings)

    def panel_of(conv: Conversation) -> str:
        return render_article(conv.article or bundled, lang=conv.lang, session=conv.session,
                              text_lang=conv.text_lang)

    def labels(lang: str) -> dict[str, Any]:
        return {"label": text(lang, "question_label"), "placeholder": text(lang, "placeholder")}

    def buttons(lang: str, busy: bool) -> tuple[Any, ...]:
        """Send, Stop and New conversation: Stop instead of Send while answering. The labels
        go with every change (a label set while a button is hidden may not survive)."""
        return (
            gr.update(visible=not busy, value=text(lang, "send")),
            gr.update(visible=busy, value=text(lang, "stop")),
            gr.update(value=text(lang, "new_conversation")),
        )

    def article_buttons(lang: str, pasted: bool | None = None) -> tuple[Any, ...]:
        """"Use another article" and "Back to the bundled article" (shown for a pasted one)."""
        back: dict[str, Any] = {"value": text(lang, "bundled_article")}
        if pasted is not None:
            back["visible"] = pasted
        return gr.update(value=text(lang, "other_article")), gr.update(**back)

    def add_question(question: str | None, seq: float | None, conv: Conversation,
                     request: gr.Request, check_queue: bool = True):
        """Put the question in the chat at once, to wait for its answer.
        Outputs: chatbot, question box, status, send, stop."""
        question = question or ""
        lang = conv.lang
        refusal = ""
        if not question.strip():
            refusal = text(lang, "empty")
        elif len(question) > settings.max_question_chars:
            refusal = text(lang, "too_long", length=len(question),
                           limit=settings.max_question_chars)
        elif conv.waiting() > MAX_WAITING:
            refusal = text(lang, "too_many_waiting", count=conv.waiting())
        elif check_queue and queue_size is not None and _queued(demo) >= queue_size:
            refusal = text(lang, "busy")
        elif wait := limiter.wait(_client(request)):
            refusal = text(lang, "rate_limited", seconds=max(1, round(wait)))
        if refusal:
            return gr.skip(), question, render_status(refusal, "info"), *skip(2)
        with conv.lock:
            conv.add(Exchange(question, state="waiting", seq=int(seq or 0)))
            messages = conv.messages()
        return messages, "", "", gr.update(visible=False), gr.update(visible=True)

    def frames(conv: Conversation):
        return answer_waiting(conv, engine_of, votes, settings)

    def respond(conv: Conversation):
        """The page's answering step. Outputs: chatbot, article panel, status, question box,
        intro, tabs, send, stop, new conversation, other article, back (labels follow the
        answer's language; Stop shows while answering)."""
        sent_lang = conv.lang
        yielded = False
        for frame in frames(conv):
            yielded = True
            lang = frame.get("lang", sent_lang)
            relabel = lang != sent_lang
            sent_lang = lang
            busy = not frame.get("idle", False)
            yield (
                frame["chat"],
                frame.get("panel") or gr.skip(),
                render_status(frame["status"], "error") if "status" in frame else gr.skip(),
                frame["failed"] if frame.get("failed") else gr.skip(),
                render_intro(lang) if relabel else gr.skip(),
                render_tabs(lang) if relabel else gr.skip(),
                *buttons(lang, busy),
                *article_buttons(lang),  # with every frame: Gradio may drop a lone label update
            )
        if not yielded:  # another step of this conversation is answering: it takes this one
            yield skip(11)

    def relabel_box(conv: Conversation):
        """The question box's labels in the conversation's language (a step of its own: Gradio
        may drop a label update that comes with a streamed frame)."""
        return gr.update(**labels(conv.lang))

    def ask(question: str | None, conv: Conversation, request: gr.Request):
        """The API: ask one question in this session's conversation (follow-ups included, about
        its article), streaming the answer. Outputs: chatbot, article panel, question box,
        status."""
        # Gradio's queue already admitted this request: no second check against it.
        chat, box, status, *_ = add_question(question, 0, conv, request, check_queue=False)
        if status:
            yield gr.skip(), gr.skip(), box, status
            return
        yield chat, gr.skip(), "", ""
        for frame in frames(conv):
            status = render_status(frame.get("status", ""), "error")
            if not frame.get("idle"):
                yield (frame["chat"], frame.get("panel") or gr.skip(),
                       frame.get("failed", ""), status)

    def stop(conv: Conversation):
        with conv.lock:
            conv.stop()
            return conv.messages(), *buttons(conv.lang, False)

    def new_conversation(conv: Conversation):
        with conv.lock:
            conv.clear()
        return [], panel_of(conv), "", "", *buttons(conv.lang, False)

    def on_load(conv: Conversation, request: gr.Request):
        header = request.headers.get("accept-language") if request is not None else None
        conv.lang = lang = language_from_header(header)
        sessions.add(conv)
        return (panel_of(conv), render_intro(lang), render_tabs(lang), gr.update(**labels(lang)),
                *buttons(lang, False), *article_buttons(lang),
                gr.update(placeholder=text(lang, "chat_placeholder")))

    def highlight(payload: Any) -> str:
        """Server function for the page: re-highlight an answer's sources (a clicked source),
        in the article of the session that asks."""
        data = payload if isinstance(payload, dict) else {}
        conv = sessions.get(data.get("session"))
        article = (conv.article if conv is not None else None) or bundled
        spans, active = parse_highlights(payload, len(article.text))
        return render_article(article, spans, active=active, lang=language(data.get("lang")),
                              session=conv.session if conv is not None else "",
                              text_lang=conv.text_lang if conv is not None else "fr")

    def vote(payload: Any) -> str:
        """Server function for the page: a thumbs up/down on an answer, by its id."""
        data = payload if isinstance(payload, dict) else {}
        lang = language(data.get("lang"))
        key, rating = str(data.get("id", ""))[:64], data.get("rating")
        rated = votes.get(key)
        if rated is None or rating not in ("up", "down"):
            return text(lang, "feedback_missing")
        saved = record_feedback(settings.feedback_path, rated[0], rated[1], str(rating),
                                max_bytes=settings.feedback_max_bytes, article=rated[2])
        return text(lang, "feedback_saved" if saved else "feedback_failed")

    # --- another article ---------------------------------------------------------------------

    def open_editor(conv: Conversation):
        """Outputs: editor, its title, text box, read, close (labels in the page's language)."""
        lang = conv.lang
        return (gr.update(visible=True), editor_head(lang),
                gr.update(label=text(lang, "editor_label"),
                          info=text(lang, "editor_hint", limit=number(cap, lang)),
                          placeholder=text(lang, "editor_placeholder")),
                gr.update(value=text(lang, "read_article")),
                gr.update(value=text(lang, "close_editor")))

    def start_reading(pasted: str | None, conv: Conversation):
        """At once, outside the queue: what is wrong with the text, or that it is being read."""
        refusal = reader.refusal(pasted or "", conv.lang)
        if refusal:
            return render_progress([], conv.lang, message=refusal, kind="error")
        waiting = "article_waiting" if reader.reading else "article_reading"
        return render_progress([], conv.lang, message=text(conv.lang, waiting))

    def read_article(pasted: str | None, conv: Conversation, request: gr.Request):
        """Read the pasted text as this session's article, showing the progress; then the
        conversation starts over about it. Outputs: progress, article panel, chatbot, status,
        editor, other article, back, send, stop, new conversation."""
        for frame in reader.read(pasted or "", conv, _client(request)):
            engine_ready = frame.get("ready")
            if engine_ready is None:
                yield frame["progress"], *skip(9)
                continue
            checks = getattr(engine_ready, "checks", None)
            with conv.lock:
                conv.use_article(pasted, engine_ready.article, getattr(checks, "language", "fr"))
            yield (frame["progress"], panel_of(conv),
                   gr.update(value=[], examples=pasted_examples), "", gr.update(visible=False),
                   *article_buttons(conv.lang, pasted=True), *buttons(conv.lang, False))

    def back_to_bundled(conv: Conversation):
        """The bundled article again; the conversation starts over. Outputs: as read_article's."""
        with conv.lock:
            conv.use_article(None, None)
        message = render_progress([], conv.lang, message=text(conv.lang, "article_back"))
        return (message, panel_of(conv), gr.update(value=[], examples=bundled_examples), "",
                gr.update(visible=False), *article_buttons(conv.lang, pasted=False),
                *buttons(conv.lang, False))

    with gr.Blocks(title=text(lang0, "page_title"), analytics_enabled=False) as demo:
        conv_state = gr.State(Conversation(lang0, bundled))
        intro = gr.HTML(render_intro(lang0), js_on_load=None, elem_id="intro")
        with gr.Row(equal_height=False, elem_id="main-row"):
            tabs = gr.HTML(render_tabs(lang0), js_on_load=None, elem_id="view-tabs")
            with gr.Column(scale=6, min_width=360, elem_id="chat-col"):
                chatbot = gr.Chatbot(
                    label=text(lang0, "chat_label"), show_label=False,
                    placeholder=text(lang0, "chat_placeholder"), elem_id="chat",
                    render_markdown=False, sanitize_html=True, latex_delimiters=[],
                    allow_tags=False, buttons=[], feedback_options=None,
                    examples=bundled_examples, autoscroll=True,
                )
                status = gr.HTML("", elem_id="status", js_on_load=None)
                with gr.Row(equal_height=True, elem_id="input-row"):
                    question = gr.Textbox(
                        label=text(lang0, "question_label"), show_label=False,
                        placeholder=text(lang0, "placeholder"), lines=1, max_lines=6,
                        autofocus=True, scale=8, elem_id="question",
                    )
                    send = gr.Button(text(lang0, "send"), variant="primary", scale=1,
                                     min_width=90, elem_id="send")
                    stop_button = gr.Button(text(lang0, "stop"), variant="stop", scale=1,
                                            min_width=90, elem_id="stop", visible=False)
                new_conv = gr.Button(text(lang0, "new_conversation"), size="sm",
                                     elem_id="new-conversation")
            with gr.Column(scale=5, min_width=320, elem_id="article-col"):
                with gr.Column(visible=False, elem_id="article-editor") as editor:
                    head = gr.HTML(editor_head(lang0), js_on_load=None)
                    pasted = gr.Textbox(
                        label=text(lang0, "editor_label"),
                        info=text(lang0, "editor_hint", limit=number(cap, lang0)),
                        placeholder=text(lang0, "editor_placeholder"), lines=8, max_lines=14,
                        elem_id="article-text",
                    )
                    with gr.Row(elem_id="editor-row"):
                        read_button = gr.Button(text(lang0, "read_article"), variant="primary",
                                                size="sm", elem_id="read-article")
                        close_button = gr.Button(text(lang0, "close_editor"), size="sm",
                                                 elem_id="close-editor")
                progress = gr.HTML("", elem_id="article-progress", js_on_load=None)
                article_panel = gr.HTML(
                    render_article(bundled, lang=lang0), elem_id="article-panel",
                    js_on_load=page_script(), server_functions=[highlight, vote],
                )
                with gr.Row(elem_id="article-actions"):
                    other_button = gr.Button(text(lang0, "other_article"), size="sm",
                                             elem_id="other-article")
                    back_button = gr.Button(text(lang0, "bundled_article"), size="sm",
                                            elem_id="bundled-article", visible=False)
            api_button = gr.Button(visible=False)
            seq = gr.Number(0, visible=False)

        button_outputs = [send, stop_button, new_conv]
        add_io: dict[str, Any] = {
            "fn": add_question, "inputs": [question, seq, conv_state], "js": COUNT_JS,
            "outputs": [chatbot, question, status, send, stop_button], "queue": False,
            "trigger_mode": "multiple", **PRIVATE,
        }
        respond_io: dict[str, Any] = {
            "fn": respond, "inputs": [conv_state],
            "outputs": [chatbot, article_panel, status, question, intro, tabs, *button_outputs,
                        other_button, back_button],
            "trigger_mode": "multiple", **PRIVATE,
        }
        relabel_io: dict[str, Any] = {
            "fn": relabel_box, "inputs": [conv_state], "outputs": [question], "queue": False,
            **PRIVATE,
        }
        answering = [
            question.submit(**add_io).then(**respond_io),
            send.click(**add_io).then(**respond_io),
            chatbot.example_select(example_text, None, question, queue=False, **PRIVATE)
            .then(**add_io).then(**respond_io),
        ]
        for event in answering:
            event.then(**relabel_io)
        api_button.click(ask, [question, conv_state], [chatbot, article_panel, question, status],
                         api_name="ask", show_progress="hidden")
        stop_button.click(stop, conv_state, [chatbot, *button_outputs], cancels=answering,
                          queue=False, **PRIVATE).then(**respond_io)
        new_conv.click(new_conversation, conv_state,
                       [chatbot, article_panel, question, status, *button_outputs],
                       api_name="new_conversation", cancels=answering, js=SHOW_CHAT_JS,
                       show_progress="hidden")
        switch_outputs = [progress, article_panel, chatbot, status, editor, other_button,
                          back_button, *button_outputs]
        other_button.click(open_editor, conv_state,
                           [editor, head, pasted, read_button, close_button], queue=False,
                           **PRIVATE)
        close_button.click(lambda: gr.update(visible=False), None, editor, queue=False,
                           **PRIVATE)
        read_button.click(start_reading, [pasted, conv_state], progress, queue=False,
                          **PRIVATE).then(
            read_article, [pasted, conv_state], switch_outputs, api_name="read_article",
            concurrency_limit=1, concurrency_id="article",
            show_progress="hidden",
        )
        back_button.click(back_to_bundled, conv_state, switch_outputs, api_name="bundled_article",
                          cancels=answering, js=SHOW_CHAT_JS, show_progress="hidden")
        demo.load(on_load, conv_state,
                  [article_panel, intro, tabs, question, *button_outputs, other_button,
                   back_button, chatbot], queue=False, **PRIVATE)

    demo.queue(default_concurrency_limit=settings.ui_concurrency, max_size=queue_size)
    return demo
