"""HTML for the chat page, re-exported from `assistant.web` (its strings, the article panel and
the chat), so that `from assistant import render` keeps working: pure functions, no Gradio."""

from __future__ import annotations

from .web.article_html import (
    MAX_HIGHLIGHTS,
    Highlight,
    Step,
    highlights_for,
    parse_highlights,
    render_article,
    render_progress,
)
from .web.chat_html import (
    FIRST_WORDS,
    Exchange,
    answer_plain_text,
    chat_messages,
    render_answer,
    render_intro,
    render_question,
    render_status,
    render_stopped,
    render_tabs,
    render_typing,
)
from .web.strings import DEFAULT_LANGUAGE, LANGUAGES, STRINGS, language, language_from_header, text

__all__ = [
    "DEFAULT_LANGUAGE", "FIRST_WORDS", "LANGUAGES", "MAX_HIGHLIGHTS", "STRINGS", "Exchange",
    "Highlight", "Step", "answer_plain_text", "chat_messages", "highlights_for", "language",
    "language_from_header", "parse_highlights", "render_answer", "render_article",
    "render_intro", "render_progress", "render_question", "render_status", "render_stopped",
    "render_tabs", "render_typing", "text",
]
