"""Load a plain-text news article and split it into title, subtitle, sections and sentences.

Every span keeps exact character offsets into the article text: `text[start:end] == span.text`.
The form expected: first line the title, second line the subtitle, then paragraphs; a short line
without final punctuation (or text after a `## ` marker, even mid-line) starts a section.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import (
    ArticleError,
    ArticleNotTextError,
    ArticleTooLongError,
    ArticleWithoutSentencesError,
    EmptyArticleError,
)

DEFAULT_MAX_CHARS = 100_000  # Settings.max_article_chars
_FINAL_PUNCT = tuple(".!?…:;»\"”)")
_MAX_HEADING_CHARS = 160
_HEADING_MARK = re.compile(r"(?:^|(?<=\s))#{1,6}[ \t]+")
# A sentence ends at . ! ? or …, closing quotes aside, before a capital or a digit, which may
# open a quote: French writes "« " with a space before the quoted sentence's capital.
_BOUNDARY = re.compile(
    r"(?<=[.!?…])((?:[\u00a0\u202f ]?[\"»”)])*)\s+(?=(?:[\"«“(][\s\u00a0\u202f]?)?[A-ZÀ-ÖØ-Þ0-9])")
# Words whose final period is not a sentence end (titles, initials, common abbreviations).
_ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "dr", "pr", "st", "ste", "mr", "mrs", "ms", "prof",
    "etc", "cf", "env", "vol", "no", "art", "av", "jr", "sr", "vs", "inc", "ltd", "co", "gen",
}


@dataclass(frozen=True)
class Sentence:
    """One citable sentence of the article body."""

    index: int
    text: str
    start: int
    end: int
    section: str
    section_index: int


@dataclass(frozen=True)
class Section:
    """A heading (empty for the lead) and the sentences under it."""

    index: int
    heading: str
    heading_start: int
    heading_end: int
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Article:
    """The article text and its structure; every offset points into `text`."""

    text: str
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    sha256: str

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for section in self.sections for s in section.sentences)

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]


def load_article(path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> Article:
    """Read and parse the article at `path`; raise ArticleError with a fix if it cannot, or if
    it is longer than `max_chars` (Settings.max_article_chars)."""
    try:
        with Path(path).open("rb") as source:
            # UTF-8 takes at most 4 bytes a character: never read more than could pass the cap.
            raw = source.read(4 * max_chars)
            too_big = bool(source.read(1))
    except OSError as exc:
        raise ArticleError(
            f"cannot read the article {path}: {exc.strerror or exc} "
            "(set ASSISTANT_ARTICLE to a plain-text article)"
        ) from None
    limit = (f"the limit is {max_chars:,} characters (ASSISTANT_MAX_ARTICLE_CHARS): give one "
             "article, not a collection, or raise the limit")
    if too_big:
        raise ArticleTooLongError(f"the article {path} is over {4 * max_chars:,} bytes long; "
                                  f"{limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleNotTextError(
            f"the article {path} is not UTF-8 text (byte {exc.start:,} cannot be read): save it "
            "as UTF-8 plain text"
        ) from None
    if "\x00" in text:
        raise ArticleNotTextError(f"the article {path} holds NUL bytes, so it is not plain text: "
                                  "give a plain-text article")
    if len(text) > max_chars:
        raise ArticleTooLongError(f"the article {path} is {len(text):,} characters long; {limit}")
    return parse_article(text)


def parse_article(text: str) -> Article:
    """Split `text` into title, subtitle, sections and sentences with exact offsets."""
    lines = [(m.start(), m.group()) for m in re.finditer(r"[^\n]+", text)]
    lines = [(start, line) for start, line in lines if line.strip()]
    if not lines:
        raise EmptyArticleError("the article is empty (expected a title line, then paragraphs)")

    title = lines[0][1].strip().lstrip("\ufeff").strip()  # a byte order mark is no title
    rest = lines[1:]
    subtitle = ""
    if rest and _is_heading(rest[0][1]):
        subtitle = rest[0][1].strip()
        rest = rest[1:]

    # Blocks: ("heading", start, text) or ("para", start, text), with `## ` split mid-line.
    blocks: list[tuple[str, int, str]] = []
    for start, line in rest:
        pieces = _split_heading_marks(start, line)
        if len(pieces) == 1 and pieces[0][0] == "para" and _is_heading(line):
            pieces = [("heading", start, line)]
        blocks.extend(pieces)

    sections: list[Section] = []
    heading, h_start, h_end = "", -1, -1
    pending: list[tuple[int, str]] = []
    sentence_count = 0

    def close() -> None:
        nonlocal sentence_count
        if not pending and not heading:
            return
        label = heading or title
        sentences = []
        for p_start, para in pending:
            for s_start, s_text in split_sentences(para):
                sentences.append(
                    Sentence(
                        index=sentence_count,
                        text=s_text,
                        start=p_start + s_start,
                        end=p_start + s_start + len(s_text),
                        section=label,
                        section_index=len(sections),
                    )
                )
                sentence_count += 1
        sections.append(Section(len(sections), heading, h_start, h_end, tuple(sentences)))

    for kind, start, piece in blocks:
        if kind == "heading":
            close()
            stripped = piece.strip()
            offset = piece.index(stripped)
            heading, h_start, h_end = stripped, start + offset, start + offset + len(stripped)
            pending = []
        else:
            pending.append((start, piece))
    close()

    article = Article(
        text=text,
        title=title,
        subtitle=subtitle,
        sections=tuple(s for s in sections if s.sentences or s.heading),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    if not article.sentences:
        raise ArticleWithoutSentencesError(
            "the article has no sentences (expected paragraphs after the title line): add the "
            "article's paragraphs below its title")
    return article


def _split_heading_marks(start: int, line: str) -> list[tuple[str, int, str]]:
    """Cut a line at `## ` markers: text before is a paragraph, text after is a heading."""
    marks = list(_HEADING_MARK.finditer(line))
    if not marks:
        return [("para", start, line)]
    pieces: list[tuple[str, int, str]] = []
    before = line[: marks[0].start()]
    if before.strip():
        pieces.append(("para", start, before.rstrip()))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
        piece = line[mark.end() : end].rstrip()
        if piece.strip():
            pieces.append(("heading", start + mark.end(), piece))
    return pieces


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return 0 < len(stripped) <= _MAX_HEADING_CHARS and not stripped.endswith(_FINAL_PUNCT)


def split_sentences(paragraph: str) -> list[tuple[int, str]]:
    """Sentences of a paragraph as (offset, text), stripped, offsets into `paragraph`."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        candidate = paragraph[start : match.end(1)]  # with its closing quotes
        last_word = re.findall(r"(\w+)\W*$", candidate)
        if last_word and last_word[0].lower() in _ABBREVIATIONS or _ends_with_initial(candidate):
            continue
        out.append((start, candidate))
        start = match.end()
    out.append((start, paragraph[start:]))
    result = []
    for offset, sentence in out:
        stripped = sentence.strip()
        if stripped:
            result.append((offset + sentence.index(stripped), stripped))
    return result


def _ends_with_initial(candidate: str) -> bool:
    return re.search(r"(?:^|\s)[A-Z]\.$", candidate) is not None
