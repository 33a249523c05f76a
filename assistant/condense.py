"""Turn a follow-up ("Et lui ?", "Who said that?", "And when?") into a standalone query from
the previous turns of the conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .text import content_words, fold, strip_markup

_CONNECTOR = re.compile(
    r"^\s*(et|and|also|aussi|what about|how about|and what about|quid|et pour|et concernant"
    r"|et au sujet|and for|same|pareil|idem)\b",
    re.IGNORECASE,
)
# Pronouns and demonstratives that point back to the conversation (inversions like
# "sera-t-elle" excluded: there the subject is named elsewhere in the question).
_ANAPHORA = re.compile(
    r"(?<![-\w])(il|elle|ils|elles|lui|eux|ça|cela|celle-ci|celui-ci|ceux-ci|celles-ci|là"
    r"|he|she|it|they|him|her|them|that|this|those|these|there|his|its|their)(?![-\w])",
    re.IGNORECASE,
)
_QUOTE_START = re.compile(r"[«“\"]|\bSelon l'article\b|\bAccording to the article\b")

History = Sequence[tuple[str, str]]


def is_followup(question: str, history: History) -> bool:
    """Whether the question leans on the conversation to be understood."""
    if not history:
        return False
    text = strip_markup(question)
    return bool(
        _CONNECTOR.search(text)
        or _ANAPHORA.search(text)
        or len(content_words(text)) <= 1
    )


def standalone(question: str, history: History) -> tuple[str, str]:
    """(query to search, previous question whose kind a bare follow-up inherits)."""
    if not is_followup(question, history):
        return question, ""
    prev_question, prev_answer = history[-1]
    # The previous question may itself have been a follow-up: resolve it first.
    prev_query, _ = standalone(prev_question, history[:-1])
    direct = short_answer(prev_answer)
    context = " ".join(p for p in (prev_query, direct) if p)
    return f"{question} ({context})", prev_query


def short_answer(answer: str) -> str:
    """The direct answer at the head of a previous answer (before its quote), if any."""
    head = _QUOTE_START.split(answer, maxsplit=1)[0]
    head = re.sub(r"\[\d+\]", " ", head).strip(" .:—-\n")
    if fold(head).startswith(("l'article ne", "the article does not")):
        return ""
    return head if len(head) <= 200 else ""
