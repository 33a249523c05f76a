"""The article panel as HTML: the whole article with exact, numbered highlights.

Pure functions, no Gradio. Every piece of article text goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

from ..article import Article
from ..results import Answer
from .strings import language, number, text

MAX_HIGHLIGHTS = 20

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
    session: str = "",
    text_lang: str = "fr",
) -> str:
    """The whole article as HTML, with `highlights` marked exactly by character offsets.

    Each highlight becomes `<mark class="hl c{n}">` pieces (several when spans overlap or cross
    a tag), preceded once by its number; the piece to scroll to carries `id="hl-target"`: the
    start of highlight `active`, or of the lowest number. `session` names the reader's session
    to the page's script (its source clicks are highlighted in that session's article);
    `text_lang` is the article's own language.
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
        f'<div class="article-panel" lang="{escape(lang)}" data-session="{escape(session)}">',
        (
            f'<div class="article-head"><span class="article-label">'
            f"{escape(text(lang, 'article_label'))}</span>"
            f'<span class="article-legend">{escape(legend)}</span></div>'
        ),
        (
            f'<div class="article-scroll" tabindex="0" role="region" '
            f'aria-label="{escape(text(lang, "article_label"))}">'
            f'<article class="article-body" lang="{escape(language(text_lang))}">'
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


# --- reading another article --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of indexing a pasted article, as the page shows it."""

    name: str
    done: int
    total: int


def render_progress(steps: Sequence[Step], lang: str | None, *, message: str = "",
                    kind: str = "info") -> str:
    """The article panel's progress box: a bar for the steps so far, each step with its counts,
    and a message ("error" or "info"); nothing when there is neither."""
    lang = language(lang)
    if not steps and not message:
        return ""
    parts = [f'<div class="article-progress" lang="{lang}">']
    if steps:
        total = max(sum(max(s.total, 0) for s in steps), 1)  # every step's counts together
        value = min(sum(max(min(s.done, s.total), 0) for s in steps), total)
        label = escape(text(lang, "progress_label"))
        parts.append(
            f'<progress class="progress-bar" max="{total}" value="{value}" '
            f'aria-label="{label}"></progress><ol class="progress-steps">'
        )
        for step in steps:
            counts = f"{number(step.done, lang)}/{number(step.total, lang)}"
            done = " step-done" if step.total and step.done >= step.total else ""
            parts.append(
                f'<li class="progress-step{done}"><span class="step-name">{escape(step.name)}'
                f'</span> <span class="step-count">{escape(counts)}</span></li>'
            )
        parts.append("</ol>")
    if message:
        kind = kind if kind in ("error", "info") else "info"
        role = "alert" if kind == "error" else "status"
        parts.append(f'<div class="status status-{kind}" role="{role}">{escape(message)}</div>')
    parts.append("</div>")
    return "".join(parts)
