"""The chat page: a thin Gradio adapter over `assistant.answer`.

Run `python ui.py` (or `make run`) and open http://127.0.0.1:7860. Host, port, login, queue
and the feedback file come from `Settings.from_env()` (ASSISTANT_UI_HOST, ASSISTANT_UI_PORT,
ASSISTANT_UI_AUTH=user:password, ASSISTANT_UI_CONCURRENCY, ASSISTANT_UI_QUEUE_SIZE,
ASSISTANT_FEEDBACK_PATH). Rendering lives in `assistant.render`, feedback in `assistant.feedback`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
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
from assistant.errors import (
    AssistantError,
    EmptyQuestionError,
    QuestionTooLongError,
)
from assistant.feedback import record_feedback
from assistant.results import Answer

log = logging.getLogger("assistant.ui")

Turn = tuple[str, Answer]

# Example questions come from `<article>.examples.txt` beside the article (one per line);
# an article without that file gets these generic ones.
GENERIC_EXAMPLES = [
    "De quoi parle l'article ?",
    "Qui est cité dans l'article ?",
    "What is the article about?",
    "What dates does the article mention?",
]

CSS = """
.intro h1 {font-size: 1.45rem; margin: 0 0 .15rem;}
.intro p {margin: 0; color: var(--body-text-color-subdued);}
.q {white-space: normal;}
.ans {line-height: 1.5;}
.ans-query {font-size: .8em; color: var(--body-text-color-subdued); margin-bottom: .3rem;}
.ans-notfound {border-left: 4px solid #d97706; padding-left: .65rem;}
.ans-notfound .ans-text {font-style: italic;}
.ans-badge {display: inline-block; font-size: .78em; font-weight: 600; color: #92400e;
  background: #fef3c7; border: 1px solid #f59e0b; border-radius: 999px;
  padding: .05rem .6rem; margin-bottom: .35rem;}
.ans-sources {margin-top: .55rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .35rem; font-size: .88em;}
.src-label {font-weight: 600; font-size: .85em; color: var(--body-text-color-subdued);}
.ans-sources ol {list-style: none; margin: .2rem 0 0; padding: 0;}
.ans-sources li {margin: .1rem 0;}
button.src-btn {display: block; width: 100%; text-align: left; background: none; border: none;
  padding: .2rem .3rem; margin: 0; font: inherit; color: inherit; cursor: pointer;
  border-radius: 6px;}
button.src-btn:hover, button.src-btn:focus-visible {background: var(--background-fill-secondary);}
.src-n {font-weight: 700; color: #b45309;}
.src-section {color: var(--body-text-color-subdued); font-size: .92em;}
button.mk {background: #fde68a; color: #78350f; border: none; border-radius: 4px;
  padding: 0 .2rem; margin: 0 .05rem; font: inherit; font-size: .82em; font-weight: 700;
  cursor: pointer;}
.ans-notfound button.mk {background: #e5e7eb; color: #374151;}
.ans-tools {margin-top: .35rem;}
.ans pre.copy-text, .ans pre.copy-text[hidden] {display: none !important;}
button.copy-btn {background: none; border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: .05rem .5rem; font: inherit; font-size: .78em; cursor: pointer;
  color: var(--body-text-color-subdued);}
button.copy-btn.copied::after {content: " ✓";}
#status .status {border-radius: 8px; padding: .45rem .7rem; margin: .25rem 0; font-size: .92em;}
#status .status-error {background: #fef2f2; color: #991b1b; border: 1px solid #fca5a5;}
#status .status-info {background: #f0f9ff; color: #075985; border: 1px solid #7dd3fc;}
.article-panel {border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: .6rem .8rem; background: var(--background-fill-primary);}
.article-head {display: flex; flex-direction: column; margin-bottom: .4rem;}
.article-label {font-weight: 700;}
.article-legend {font-size: .8em; color: var(--body-text-color-subdued);}
.article-scroll {max-height: 74vh; overflow-y: auto; padding-right: .4rem;
  font-family: Georgia, 'DejaVu Serif', 'Liberation Serif', serif; font-size: .95rem;}
.art-title {font-size: 1.2rem; font-weight: 600; margin: .2rem 0 .3rem; line-height: 1.3;}
.art-subtitle {font-style: italic; color: var(--body-text-color-subdued); margin: 0 0 .6rem;}
.art-heading {font-size: 1rem; font-weight: 600; margin: .9rem 0 .3rem;}
.art-par {margin: 0 0 .5rem; line-height: 1.55;}
mark.hl {background: #fde68a; color: #1f2937; border-radius: 3px; padding: 0 .05rem;}
mark.hl-near {background: #e5e7eb; outline: 1px dashed #9ca3af;}
mark.hl-active {background: #fbbf24; box-shadow: 0 0 0 2px #f59e0b;}
sup.hl-num {font-weight: 700; color: #b45309; margin-right: .1rem;}
"""

# Runs once in the article panel: scrolls to the first highlight whenever the panel changes,
# and handles clicks on markers, sources and copy buttons inside chat answers.
ARTICLE_JS = r"""
window.__articlePanel = {element, props, server};
const scrollToTarget = () => {
  const panel = window.__articlePanel.element;
  const box = panel.querySelector('.article-scroll');
  const target = panel.querySelector('#hl-target');
  if (!box || !target) return;
  const t = target.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  if (t.top >= b.top && t.bottom <= b.bottom) return;  // already in view
  box.scrollTo({top: Math.max(0, t.top - b.top + box.scrollTop - 40), behavior: 'smooth'});
};
window.__articleScroll = () => requestAnimationFrame(() => requestAnimationFrame(scrollToTarget));
watch('value', window.__articleScroll);
window.__articleScroll();
if (!window.__articleHooks) {
  window.__articleHooks = true;
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
    const button = event.target.closest
      && event.target.closest('.ans button.src-btn, .ans button.mk, .ans button.copy-btn');
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const ans = button.closest('.ans');
    if (button.classList.contains('copy-btn')) {
      const pre = ans.querySelector('pre.copy-text');
      await copyText(pre ? pre.textContent : ans.innerText);
      button.classList.add('copied');
      setTimeout(() => button.classList.remove('copied'), 1500);
      return;
    }
    const spans = [...ans.querySelectorAll('button.src-btn')]
      .map((b) => b.value.split(':').map((v) => parseInt(v, 10)));
    const active = parseInt(button.value.split(':')[0], 10);
    const near = ans.classList.contains('ans-notfound');
    const panel = window.__articlePanel;
    const html = await panel.server.highlight({spans, active, near, lang: ans.lang});
    if (typeof html === 'string' && html) {
      panel.props.value = html;
      window.__articleScroll();
    }
  }, true);
}
"""


def example_questions(article_path: Path) -> list[str]:
    """The questions in `<article>.examples.txt` beside the article, else generic ones."""
    path = Path(article_path).with_suffix(".examples.txt")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return list(GENERIC_EXAMPLES)
    questions = [line.strip() for line in lines if line.strip()]
    return questions or list(GENERIC_EXAMPLES)


def build_demo(settings: Settings | None = None, engine: Any = None) -> gr.Blocks:
    """The chat page for `settings`; `engine` (anything with `.ask` and `.article`) is optional,
    the default engine is built on the first question."""
    settings = settings or Settings.from_env()
    article: Article = engine.article if engine is not None else load_article(settings.article_path)
    lang0 = render.DEFAULT_LANGUAGE

    def ask(question: str | None, turns: list[Turn], lang: str):
        question = question or ""
        lang = render.language(lang)
        history = [(q, a.text) for q, a in turns]
        try:
            if not question.strip():
                raise EmptyQuestionError("empty question")
            result = assistant.answer(question, history, settings=settings, engine=engine)
        except EmptyQuestionError:
            return _unchanged(question, render.text(lang, "empty"), "info")
        except QuestionTooLongError:
            message = render.text(
                lang, "too_long", length=len(question), limit=settings.max_question_chars
            )
            return _unchanged(question, message, "info")
        except AssistantError as exc:
            log.warning("engine error: %s", exc)
            return _unchanged(question, render.text(lang, "engine_error", message=str(exc)))
        except Exception as exc:  # the page must keep working whatever the engine does
            log.exception("unexpected error while answering")
            return _unchanged(question, render.text(lang, "unexpected", kind=type(exc).__name__))
        turns = [*turns, (question, result)]
        lang = render.language(result.language)
        panel = render.render_article(article, render.highlights_for(result), lang=lang)
        return render.chat_messages(turns), turns, panel, "", "", lang

    def _unchanged(question: str, message: str, kind: str = "error"):
        return (
            gr.skip(),
            gr.skip(),
            gr.skip(),
            question,
            render.render_status(message, kind),
            gr.skip(),
        )

    def relabel(lang: str):
        lang = render.language(lang)
        return (
            render.render_intro(lang),
            gr.update(placeholder=render.text(lang, "placeholder")),
            gr.update(value=render.text(lang, "send")),
            gr.update(value=render.text(lang, "new_conversation")),
            gr.update(label=render.text(lang, "examples")),
            gr.update(
                label=render.text(lang, "chat_label"),
                placeholder=render.text(lang, "chat_placeholder"),
            ),
        )

    def new_conversation(lang: str):
        lang = render.language(lang)
        return [], [], render.render_article(article, lang=lang), "", ""

    def on_load(request: gr.Request):
        header = request.headers.get("accept-language") if request is not None else None
        lang = render.language_from_header(header)
        return (lang, render.render_article(article, lang=lang), *relabel(lang))

    def on_like(turns: list[Turn], lang: str, data: gr.LikeData):
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn = index // 2 if isinstance(index, int) else -1
        if not 0 <= turn < len(turns) or data.liked not in (True, False):
            return render.render_status(render.text(lang, "feedback_missing"), "info")
        question, result = turns[turn]
        saved = record_feedback(
            settings.feedback_path, question, result, "up" if data.liked else "down"
        )
        key = "feedback_saved" if saved else "feedback_failed"
        return render.render_status(render.text(result.language or lang, key), "info")

    def highlight(payload: Any) -> str:
        """Server function for the page: re-highlight an answer's sources (a clicked source)."""
        spans, active = render.parse_highlights(payload, len(article.text))
        lang = payload.get("lang") if isinstance(payload, dict) else None
        return render.render_article(article, spans, active=active, lang=render.language(lang))

    examples = example_questions(settings.article_path)
    with gr.Blocks(title=render.text(lang0, "page_title"), analytics_enabled=False) as demo:
        lang_state = gr.State(lang0)
        turns_state = gr.State([])
        intro = gr.HTML(render.render_intro(lang0), js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=6, min_width=360):
                chatbot = gr.Chatbot(
                    label=render.text(lang0, "chat_label"),
                    show_label=False,
                    placeholder=render.text(lang0, "chat_placeholder"),
                    elem_id="chat",
                    height=500,
                    render_markdown=False,
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],
                    feedback_options=("Like", "Dislike"),
                )
                status = gr.HTML("", elem_id="status", js_on_load=None)
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
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
                new_conv = gr.Button(
                    render.text(lang0, "new_conversation"), size="sm", elem_id="new-conversation"
                )
                example_set = gr.Dataset(
                    components=[question],
                    samples=[[q] for q in examples],
                    label=render.text(lang0, "examples"),
                    elem_id="examples",
                )
            with gr.Column(scale=5, min_width=320):
                article_panel = gr.HTML(
                    render.render_article(article, lang=lang0),
                    elem_id="article-panel",
                    js_on_load=ARTICLE_JS,
                    server_functions=[highlight],
                )

        ask_io: dict[str, Any] = {
            "fn": ask,
            "inputs": [question, turns_state, lang_state],
            "outputs": [chatbot, turns_state, article_panel, question, status, lang_state],
        }
        relabel_io: dict[str, Any] = {
            "fn": relabel,
            "inputs": [lang_state],
            "outputs": [intro, question, send, new_conv, example_set, chatbot],
            "api_visibility": "private",
            "queue": False,
        }
        question.submit(**ask_io, api_name="ask").then(**relabel_io)
        send.click(**ask_io, api_visibility="private").then(**relabel_io)
        example_set.click(
            lambda sample: sample[0], example_set, question, api_visibility="private", queue=False
        ).then(**ask_io, api_visibility="private").then(**relabel_io)
        reset_io: dict[str, Any] = {
            "fn": new_conversation,
            "inputs": [lang_state],
            "outputs": [chatbot, turns_state, article_panel, question, status],
        }
        new_conv.click(**reset_io, api_name="new_conversation")
        chatbot.clear(**reset_io, api_visibility="private")
        chatbot.like(on_like, [turns_state, lang_state], status, api_visibility="private")
        demo.load(
            on_load,
            None,
            [lang_state, article_panel, intro, question, send, new_conv, example_set, chatbot],
            api_visibility="private",
            queue=False,
        )

    demo.queue(
        default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_queue_size
    )
    return demo


class RefuseRemoteFiles:
    """ASGI middleware: `/file=<url>` would make the server fetch any public URL for anyone;
    the page never needs that, so it is refused like any file outside the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            _, marker, target = str(scope.get("path", "")).partition("/file=")
            if marker and "://" in target:
                response = PlainTextResponse("File not allowed.", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def parse_auth(value: str) -> tuple[str, str] | None:
    """`user:password` -> (user, password); empty -> None (no login page)."""
    if not value:
        return None
    user, _, password = value.partition(":")
    return user, password


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `demo.launch`: host, port, login, look, and nothing served but
    what the page needs."""
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "auth": parse_auth(settings.ui_auth),
        "css": CSS,
        "theme": gr.themes.Default(primary_hue="amber"),
        "footer_links": [],
        "share": False,
        "show_error": False,
        "mcp_server": False,
        "app_kwargs": {"middleware": [Middleware(RefuseRemoteFiles)]},
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
    threading.Thread(target=_warm_up(current), daemon=True).start()
    demo.launch(**launch_options(current))
