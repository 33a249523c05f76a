"""HTML for the chat page: answers, sources, the article panel with exact highlights, UI strings.

Pure functions, no Gradio. Every piece of question, answer or article text goes through
`html.escape`: the page shows text, never markup that came from a user or from the article.
The markup produced here uses only tags and attributes that Gradio's chat sanitizer keeps
(`class`, `title`, `value`, `lang`, `hidden`; no `data-*`), so source buttons survive in the chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

from .article import Article
from .results import Answer, Citation

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
MAX_HIGHLIGHTS = 20

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "page_title": "Questions sur l'article",
        "intro": "Posez une question sur l'article, en français ou en anglais. Chaque réponse "
        "cite ses phrases, surlignées dans l'article ; touchez une source pour la retrouver.",
        "chat_label": "Conversation",
        "chat_placeholder": "Les réponses s'affichent ici, avec leurs sources. "
        "Essayez une de ces questions :",
        "question_label": "Votre question",
        "placeholder": "Votre question sur l'article… (Entrée pour envoyer)",
        "send": "Envoyer",
        "stop": "Arrêter",
        "new_conversation": "Nouvelle conversation",
        "tab_chat": "Conversation",
        "tab_article": "Article",
        "tabs_label": "Vue",
        "article_label": "L'article",
        "legend_found": "Surligné : les phrases citées par la dernière réponse.",
        "legend_near": "Surligné : le passage le plus proche, qui ne répond pas à la question.",
        "legend_none": "Les phrases citées par les réponses seront surlignées ici.",
        "sources": "Sources",
        "closest": "Passage le plus proche (il ne répond pas à la question)",
        "not_in_article": "L'article ne le dit pas",
        "full_quote": "Citation complète",
        "translation": "Traduction automatique",
        "translation_label": "Traduction automatique :",
        "copy": "Copier avec les sources",
        "like": "Cette réponse m'est utile",
        "dislike": "Cette réponse ne m'est pas utile",
        "like_short": "Utile",
        "dislike_short": "Pas utile",
        "show_source": "Montrer dans l'article",
        "typing": "L'assistant rédige la réponse…",
        "queued": "En attente : la question précédente reçoit sa réponse.",
        "stopped": "Réponse arrêtée.",
        "empty": "Écrivez une question avant d'envoyer.",
        "too_long": "Votre question est trop longue ({length} caractères, maximum {limit}). "
        "Raccourcissez-la puis renvoyez-la.",
        "too_many_waiting": "Attendez la réponse aux questions déjà envoyées ({count} en "
        "attente), puis renvoyez celle-ci.",
        "busy": "Le service est très sollicité en ce moment. Réessayez dans quelques secondes ; "
        "votre question est restée dans la zone de saisie.",
        "rate_limited": "Trop de questions en peu de temps. Réessayez dans {seconds} s ; votre "
        "question est restée dans la zone de saisie.",
        "engine_error": "Le moteur de réponse n'a pas pu répondre : {message} "
        "Corrigez cela puis reposez la question ; la conversation est conservée.",
        "unexpected": "Une erreur inattendue est survenue ({kind}). Reposez la question ; si "
        "cela se reproduit, consultez le journal du serveur.",
        "feedback_saved": "Merci pour votre avis.",
        "feedback_failed": "Merci. Votre avis n'a pas pu être enregistré (voir le journal "
        "du serveur).",
        "feedback_missing": "Cette réponse n'est plus dans la conversation.",
    },
    "en": {
        "page_title": "Questions about the article",
        "intro": "Ask a question about the article, in French or English. Each answer cites "
        "its sentences, highlighted in the article; tap a source to find it.",
        "chat_label": "Conversation",
        "chat_placeholder": "Answers appear here, with their sources. "
        "Try one of these questions:",
        "question_label": "Your question",
        "placeholder": "Your question about the article… (Enter to send)",
        "send": "Send",
        "stop": "Stop",
        "new_conversation": "New conversation",
        "tab_chat": "Conversation",
        "tab_article": "Article",
        "tabs_label": "View",
        "article_label": "The article",
        "legend_found": "Highlighted: the sentences cited by the latest answer.",
        "legend_near": "Highlighted: the closest passage, which does not answer the question.",
        "legend_none": "The sentences that answers cite will be highlighted here.",
        "sources": "Sources",
        "closest": "Closest passage (it does not answer the question)",
        "not_in_article": "The article does not say",
        "full_quote": "Full quote",
        "translation": "Machine translation",
        "translation_label": "Machine translation:",
        "copy": "Copy with sources",
        "like": "This answer helps me",
        "dislike": "This answer does not help me",
        "like_short": "Helpful",
        "dislike_short": "Not helpful",
        "show_source": "Show in the article",
        "typing": "The assistant is writing the answer…",
        "queued": "Waiting: the previous question is being answered.",
        "stopped": "Answer stopped.",
        "empty": "Type a question before sending.",
        "too_long": "Your question is too long ({length} characters, at most {limit}). "
        "Shorten it and send it again.",
        "too_many_waiting": "Wait for the answers to the questions already sent ({count} "
        "waiting), then send this one again.",
        "busy": "This application is busy right now. Try again in a few seconds; your "
        "question is still in the input box.",
        "rate_limited": "Too many questions in a short time. Try again in {seconds} s; your "
        "question is still in the input box.",
        "engine_error": "The answer engine could not answer: {message} "
        "Fix this, then ask again; the conversation is kept.",
        "unexpected": "An unexpected error occurred ({kind}). Ask again; if it happens again, "
        "look at the server log.",
        "feedback_saved": "Thank you for your feedback.",
        "feedback_failed": "Thank you. Your feedback could not be saved (see the server log).",
        "feedback_missing": "This answer is no longer in the conversation.",
    },
}

_MARKER = re.compile(r"\[(\d{1,3})\]")


def language(lang: str | None) -> str:
    """The UI language for `lang`: "fr" or "en" (French for anything else)."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def text(lang: str | None, key: str, **values: Any) -> str:
    """The UI string `key` in `lang` (plain text, not escaped), formatted with `values`."""
    template = STRINGS[language(lang)][key]
    return template.format(**values) if values else template


def language_from_header(accept_language: str | None) -> str:
    """The first of fr/en named in an Accept-Language header, else the default."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


# --- highlights -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Highlight:
    """A span of the article to highlight, numbered like the answer's markers."""

    start: int
    end: int
    number: int
    near: bool = False  # the closest passage of a "not in the article" answer


def highlights_for(answer: Answer) -> list[Highlight]:
    """The answer's citations as numbered highlights ([1] is the first citation)."""
    return [
        Highlight(c.start, c.end, i, near=not answer.found)
        for i, c in enumerate(answer.citations[:MAX_HIGHLIGHTS], start=1)
    ]


def parse_highlights(payload: Any, text_length: int) -> tuple[list[Highlight], int | None]:
    """Validate highlight requests from the page: `{"spans": [[n, start, end], ...],
    "active": n, "near": bool}`. Spans outside the article or malformed are dropped."""
    if not isinstance(payload, dict):
        return [], None
    near = payload.get("near") is True
    spans = payload.get("spans")
    out: list[Highlight] = []
    if isinstance(spans, list):
        for item in spans[:MAX_HIGHLIGHTS]:
            if not (isinstance(item, list | tuple) and len(item) == 3):
                continue
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in item):
                continue
            number, start, end = item
            if 0 < number <= MAX_HIGHLIGHTS and 0 <= start < end <= text_length:
                out.append(Highlight(start, end, number, near=near))
    active = payload.get("active")
    if not isinstance(active, int) or isinstance(active, bool):
        active = None
    if active is not None and all(h.number != active for h in out):
        active = None
    return out, active


# --- the article panel ------------------------------------------------------------------------


def render_article(
    article: Article,
    highlights: Sequence[Highlight] = (),
    *,
    active: int | None = None,
    lang: str | None = None,
) -> str:
    """The whole article as HTML, with `highlights` marked exactly by character offsets.

    Each highlight becomes `<mark class="hl c{n}">` pieces (several when spans overlap or cross
    a tag), preceded once by its number; the piece to scroll to carries `id="hl-target"`: the
    start of highlight `active`, or of the lowest number.
    """
    lang = language(lang)
    hs = sorted(highlights, key=lambda h: (h.start, h.number))
    target = active if active is not None else min((h.number for h in hs), default=None)
    state = _MarkState(hs, target, active)
    text_ = article.text

    if not hs:
        legend = text(lang, "legend_none")
    elif all(h.near for h in hs):
        legend = text(lang, "legend_near")
    else:
        legend = text(lang, "legend_found")
    parts = [
        f'<div class="article-panel" lang="{escape(lang)}">',
        (
            f'<div class="article-head"><span class="article-label">'
            f"{escape(text(lang, 'article_label'))}</span>"
            f'<span class="article-legend">{escape(legend)}</span></div>'
        ),
        (
            f'<div class="article-scroll" tabindex="0" role="region" '
            f'aria-label="{escape(text(lang, "article_label"))}">'
            '<article class="article-body" lang="fr">'
        ),
    ]

    title_start = text_.find(article.title) if article.title else -1
    if title_start >= 0:
        title_end = title_start + len(article.title)
        parts.append(f'<h2 class="art-title">{state.render(text_, title_start, title_end)}</h2>')
    else:
        title_end = 0
        parts.append(f'<h2 class="art-title">{escape(article.title)}</h2>')
    if article.subtitle:
        sub_start = text_.find(article.subtitle, title_end)
        if sub_start >= 0:
            sub_html = state.render(text_, sub_start, sub_start + len(article.subtitle))
        else:
            sub_html = escape(article.subtitle)
        parts.append(f'<p class="art-subtitle">{sub_html}</p>')

    for section in article.sections:
        parts.append('<section class="art-section">')
        if section.heading:
            if 0 <= section.heading_start < section.heading_end:
                heading = state.render(text_, section.heading_start, section.heading_end)
            else:
                heading = escape(section.heading)
            parts.append(f'<h3 class="art-heading">{heading}</h3>')
        paragraph: list[str] = []
        previous_end: int | None = None
        for sentence in section.sentences:
            if previous_end is not None:
                gap = text_[previous_end : sentence.start]
                if "\n" in gap:
                    parts.append(f'<p class="art-par">{"".join(paragraph)}</p>')
                    paragraph = []
                else:
                    paragraph.append(state.render(text_, previous_end, sentence.start))
            paragraph.append(
                f'<span class="sent">{state.render(text_, sentence.start, sentence.end)}</span>'
            )
            previous_end = sentence.end
        if paragraph:
            parts.append(f'<p class="art-par">{"".join(paragraph)}</p>')
        parts.append("</section>")
    parts.append("</article></div></div>")
    return "".join(parts)


class _MarkState:
    """Cuts text ranges at highlight boundaries; numbers each highlight once, at its first piece."""

    def __init__(self, highlights: Sequence[Highlight], target: int | None, active: int | None):
        self.highlights = highlights
        self.target = target
        self.active = active
        self.numbered: set[int] = set()
        self.targeted = False

    def render(self, text_: str, start: int, end: int) -> str:
        inside = [h for h in self.highlights if h.start < end and h.end > start]
        if not inside:
            return escape(text_[start:end])
        cuts = {start, end}
        for h in inside:
            cuts.update(p for p in (h.start, h.end) if start < p < end)
        points = sorted(cuts)
        out: list[str] = []
        for a, b in pairwise(points):
            piece = escape(text_[a:b])
            covering = [h for h in inside if h.start <= a and h.end >= b]
            if not covering:
                out.append(piece)
                continue
            numbers = sorted({h.number for h in covering})
            fresh = [n for n in numbers if n not in self.numbered]
            self.numbered.update(fresh)
            if fresh:
                label = ",".join(str(n) for n in fresh)
                out.append(f'<sup class="hl-num">{label}</sup>')
            classes = ["hl"] + [f"c{n}" for n in numbers]
            if all(h.near for h in covering):
                classes.append("hl-near")
            if self.active is not None and self.active in numbers:
                classes.append("hl-active")
            ident = ""
            if not self.targeted and self.target in fresh:
                ident = ' id="hl-target"'
                self.targeted = True
            title = " ".join(f"[{n}]" for n in numbers)
            out.append(f'<mark class="{" ".join(classes)}"{ident} title="{title}">{piece}</mark>')
        return "".join(out)


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
