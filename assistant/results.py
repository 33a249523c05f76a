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
    # A machine translation of `text` into the question's language, verified against it (no
    # name or number added or dropped); "" when there is none. Always shown labelled as such.
    translation: str = ""


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
    direct: str = ""  # the short answer: a verbatim span of the first citation, when there is one
    backend: str = "rules"  # what wrote the answer: "rules", "local" or "openai" (an LLM)
    verified: bool = True  # every claim passed the verifier (an unverified draft is never shown)
    reason: str = ""  # why the article does not say (a refusal), or which check decided

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation: the question as asked and the `Answer` it got."""

    question: str
    answer: Answer
