"""The typed results of the assistant: `Answer` and its `Citation`s."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A verbatim sentence of the article: `article_text[start:end] == text`."""

    text: str
    start: int
    end: int
    section: str
    score: float


@dataclass(frozen=True)
class Answer:
    """What the assistant says, in the question's language, and the sentences it rests on.

    `found` is False when the article does not answer the question; `citations` may then hold
    the closest passage, which the text presents as such. `citations[0]` is the sentence that
    answers. `query` is the standalone question that was searched (a follow-up rewritten).
    """

    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    language: str = "fr"
    query: str = ""
    direct: str = ""  # the short answer extracted from the first citation, when there is one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
