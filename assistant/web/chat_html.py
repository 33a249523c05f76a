"""The chat as HTML: questions, answers with their compact sources, typing and status lines.

Pure functions, no Gradio. Every piece of question, answer or article text goes through
`html.escape`: the page shows text, never markup that came from a user or from the article.
The markup produced here uses only tags and attributes that Gradio's chat sanitizer keeps
(`class`, `title`, `value`, `lang`, `hidden`; no `data-*`), so source buttons survive in the chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from ..results import Answer, Citation
from .article_html import MAX_HIGHLIGHTS
from .strings import language, text

_MARKER = re.compile(r"\[(\d{1,3})\]")

# --- the chat ---------------------------------------------------------------------------------

FIRST_WORDS = 9  # a source's one-line summary: its section and the quote's first words


@dataclass(frozen=True)
class Exchange:
    """One question of the conversation as the page shows it.

    `state`: "done" (answered: `answer` is set), "streaming" (being answered, `partial` is the
    text so far), "waiting" (sent while another question is being answered) or "stopped"
    (the user stopped it; `partial` is what had been written).
    """

    question: str
    answer: Answer | None = None
    answer_id: str = ""  # names the answer for a thumbs up/down from the page
    partial: str = ""
    state: str = "done"
    seq: int = 0  # the page's count of questions sent: keeps quick questions in order


def render_question(question: str, *, waiting: bool = False, lang: str | None = None) -> str:
    """A user's question as escaped text (line breaks kept); a waiting one says so."""
    note = ""
    if waiting:
        note = f'<div class="q-wait">{escape(text(lang, "queued"))}</div>'
    return f'<div class="q">{_text_html(question)}</div>{note}'


def render_typing(lang: str | None, partial: str = "") -> str:
    """The answer being written: what has streamed so far, or a typing indicator."""
    lang = language(lang)
    label = escape(text(lang, "typing"))
    if partial.strip():
        return (
            f'<div class="ans ans-streaming" lang="{lang}" role="status" title="{label}">'
            f'<div class="ans-text">{_text_html(partial)}</div></div>'
        )
    return (
        f'<div class="typing" lang="{lang}" role="status">'
        '<span class="typing-dots"><span></span><span></span><span></span></span>'
        f'<span class="typing-text">{label}</span></div>'
    )


def render_stopped(partial: str, lang: str | None) -> str:
    """An answer the user stopped: what had been written, and that it was stopped."""
    lang = language(lang)
    body = f'<div class="ans-text">{_text_html(partial)}</div>' if partial.strip() else ""
    return (
        f'<div class="ans ans-stopped" lang="{lang}">{body}'
        f'<div class="ans-note">{escape(text(lang, "stopped"))}</div></div>'
    )


def render_answer(answer: Answer, *, answer_id: str = "") -> str:
    """An answer for the chat: its text with clickable markers, one compact line per source
    (marker, section, first words; the full quote and any machine translation one click away,
    the quote shown once), copy and thumbs buttons.

    A "not in the article" answer gets its own look and presents its citation as the closest
    passage. The searched query is internal and never shown.
    """
    lang = language(answer.language)
    kind = "ans-found" if answer.found else "ans-notfound"
    cites = answer.citations[:MAX_HIGHLIGHTS]
    parts = [f'<div class="ans {kind}" lang="{escape(lang)}">']
    if not answer.found:
        parts.append(f'<div class="ans-badge">{escape(text(lang, "not_in_article"))}</div>')
    parts.append(f'<div class="ans-text">{_answer_text_html(answer.text, len(cites), lang)}</div>')
    if cites:
        label = text(lang, "sources" if answer.found else "closest")
        parts.append(f'<div class="ans-sources"><div class="src-label">{escape(label)}</div><ol>')
        for n, cite in enumerate(cites, start=1):
            parts.append(_source_html(n, cite, lang, quoted_in_text=cite.text in answer.text))
        parts.append("</ol></div>")
    tools = [
        f'<button type="button" class="copy-btn">{escape(text(lang, "copy"))}</button>'
    ]
    if answer_id:
        for rating, key in (("up", "like"), ("down", "dislike")):
            label = escape(text(lang, key))
            tools.append(
                f'<button type="button" class="vote vote-{rating}" value="{escape(answer_id)}:'
                f'{rating}" title="{label}">{escape(text(lang, key + "_short"))}</button>'
            )
    if answer.backend == "quick":  # the LLM was busy: the rules' verified answer, at once
        tools.append(
            f'<span class="ans-quick" title="{escape(text(lang, "quick_title"))}">'
            f'{escape(text(lang, "quick"))}</span>'
        )
    parts.append(f'<div class="ans-tools">{"".join(tools)}</div>')
    parts.append(f'<pre class="copy-text" hidden>{escape(answer_plain_text(answer))}</pre>')
    parts.append("</div>")
    return "".join(parts)


def _source_html(n: int, cite: Citation, lang: str, *, quoted_in_text: bool) -> str:
    words = cite.text.split()
    short = len(words) <= FIRST_WORDS
    first = cite.text if short else " ".join(words[:FIRST_WORDS]) + " …"
    section = (
        f' <span class="src-section">{escape(cite.section)}</span>' if cite.section else ""
    )
    line = (
        f'<button type="button" class="src-btn" value="{n}:{cite.start}:{cite.end}"'
        f' title="{escape(text(lang, "show_source"))}">'
        f'<span class="src-n">[{n}]</span>{section}'
        f' <span class="src-first" lang="fr">{escape(_quoted(first, lang))}</span></button>'
    )
    more: list[str] = []
    if not (short or quoted_in_text):
        more.append(f'<blockquote class="src-quote" lang="fr">{escape(cite.text)}</blockquote>')
    if cite.translation:
        more.append(
            f'<p class="src-mt" lang="{escape(lang)}"><span class="src-mt-label">'
            f'{escape(text(lang, "translation_label"))}</span> {escape(cite.translation)}</p>'
        )
    details = ""
    if more:
        summary = text(lang, "full_quote" if more[0].startswith("<blockquote") else "translation")
        details = (
            f'<details class="src-more"><summary>{escape(summary)}</summary>{"".join(more)}'
            "</details>"
        )
    return f'<li class="src">{line}{details}</li>'


def answer_plain_text(answer: Answer) -> str:
    """The answer as plain text with its numbered sources: what "copy" puts on the clipboard."""
    lang = language(answer.language)
    lines = [answer.text.strip()]
    cites = answer.citations[:MAX_HIGHLIGHTS]
    if cites:
        label = text(lang, "sources" if answer.found else "closest")
        lines += ["", f"{label}{' :' if lang == 'fr' else ':'}"]
        for n, cite in enumerate(cites, start=1):
            section = f" ({cite.section})" if cite.section else ""
            lines.append(f"[{n}] {_quoted(cite.text, lang)}{section}")
            if cite.translation:
                lines.append(f"    {text(lang, 'translation_label')} {cite.translation}")
    return "\n".join(lines)


def render_status(message: str, kind: str = "error") -> str:
    """A short message under the chat (`kind`: "error" or "info"); empty message, no box."""
    if not message:
        return ""
    kind = kind if kind in ("error", "info") else "error"
    role = "alert" if kind == "error" else "status"
    return f'<div class="status status-{kind}" role="{role}">{escape(message)}</div>'


def render_intro(lang: str | None) -> str:
    """The page heading and its one-line help."""
    lang = language(lang)
    return (
        f'<div class="intro" lang="{lang}"><h1>{escape(text(lang, "page_title"))}</h1>'
        f"<p>{escape(text(lang, 'intro'))}</p></div>"
    )


def render_tabs(lang: str | None, article: bool = False) -> str:
    """The chat / article switch of phone widths (hidden on wider screens)."""
    lang = language(lang)
    tabs = []
    for key, ident, pressed in (("tab_chat", "tab-chat", not article),
                                ("tab_article", "tab-article", article)):
        tabs.append(
            f'<button type="button" class="view-tab" id="{ident}" '
            f'aria-pressed="{str(pressed).lower()}">{escape(text(lang, key))}</button>'
        )
    label = escape(text(lang, "tabs_label"))
    return (
        f'<div class="view-tabs" role="group" aria-label="{label}" lang="{lang}">'
        f'{"".join(tabs)}</div>'
    )



def chat_messages(exchanges: Iterable[Exchange | tuple[str, Answer]],
                  lang: str | None = None) -> list[dict[str, str]]:
    """Chat messages (Gradio "messages" format) for the conversation; `lang` labels what has no
    answer yet. Plain (question, Answer) pairs are answered exchanges."""
    messages: list[dict[str, str]] = []
    for item in exchanges:
        ex = item if isinstance(item, Exchange) else Exchange(item[0], item[1])
        waiting = ex.state == "waiting"
        messages.append(
            {"role": "user", "content": render_question(ex.question, waiting=waiting, lang=lang)}
        )
        if ex.state == "done" and ex.answer is not None:
            content = render_answer(ex.answer, answer_id=ex.answer_id)
        elif ex.state == "streaming":
            content = render_typing(lang, ex.partial)
        elif ex.state == "stopped":
            content = render_stopped(ex.partial, lang)
        else:
            continue
        messages.append({"role": "assistant", "content": content})
    return messages


def _quoted(s: str, lang: str) -> str:
    return f"« {s} »" if lang == "fr" else f"“{s}”"


def _text_html(s: str) -> str:
    return "<br>".join(escape(line) for line in s.strip().split("\n"))


def _answer_text_html(s: str, citations: int, lang: str) -> str:
    """Escaped answer text; markers [n] that match a citation become buttons."""
    out: list[str] = []
    for line in s.strip().split("\n"):
        pieces: list[str] = []
        last = 0
        for m in _MARKER.finditer(line):
            n = int(m.group(1))
            if not 1 <= n <= citations:
                continue
            pieces.append(escape(line[last : m.start()]))
            pieces.append(
                f'<button type="button" class="mk" value="{n}"'
                f' title="{escape(text(lang, "show_source"))}">[{n}]</button>'
            )
            last = m.end()
        pieces.append(escape(line[last:]))
        out.append("".join(pieces))
    return "<br>".join(out)
