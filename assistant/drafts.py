"""What an answerer proposes: a `Draft`, which the verifier checks before anyone reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .question import Question
from .results import Turn
from .retrieve import Retrieval


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer, in the reader's language, and the article sentences it rests
    on. `generated`: written by an LLM, so checked word by word against those sentences."""

    text: str
    cites: tuple[int, ...]
    generated: bool = False


@dataclass(frozen=True)
class Draft:
    """A proposed answer. `cites` are sentence indices, the answering sentence first; `direct` is
    the short answer, which must be a verbatim span of `cites[0]`; `claims` are the answer's own
    sentences (empty: the answer is written from a template); `translations` map a cited sentence
    to its machine translation into the reader's language."""

    backend: str
    found: bool
    cites: tuple[int, ...] = ()
    direct: str = ""
    claims: tuple[Claim, ...] = ()
    translations: dict[int, str] = field(default_factory=dict)
    reason: str = ""  # a refusal's reason, or how the answer was found
    unknown_names: tuple[str, ...] = ()  # names the question mentions and the article does not
    closest: int | None = None  # a refusal's closest passage, shown as such (not as a source)
    overview: bool = False  # an overview of the article, not the answer to one question
    confidence: float = 1.0  # an LLM's: the probability of its least likely copied token


class Answerer(Protocol):
    """One answer backend: rules, a local LLM or a remote one. It proposes; `verify` disposes."""

    name: str

    def draft(self, question: Question, turns: tuple[Turn, ...], found: Retrieval) -> Draft:
        """A draft answer to `question` from the retrieved passages (and the conversation)."""
        ...


class Writer(Protocol):
    """An answerer that can also write a chosen draft for the reader: an answer sentence in the
    reader's language, translations of the quotes. What it writes is verified again."""

    def written(self, question: Question, draft: Draft) -> Draft:
        """`draft` with generated claims and translations added."""
        ...


@runtime_checkable
class UsesArticleWork(Protocol):
    """An answerer that reads the article's stored work (translations, overviews): `work` is
    the `ArticleWork` the engine gives it, or None."""

    work: Any
