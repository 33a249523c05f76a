"""Turn a follow-up ("Et lui ?", "Who said that?", "And when?") into a standalone query from
the previous turns of the conversation (typed `Turn`s: nothing re-reads an answer's wording)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .names import question_names
from .nlp import YEAR
from .question import Conversation, question_kind
from .results import Turn
from .text import STOPWORDS, content_words, fold, strip_markup, words

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
# Pronouns that stand for a person or thing (not for what was said, like "that" or "cela"),
# inversions ("qu'a-t-elle dit ?") included.
_PERSONAL = re.compile(
    r"(?<![\w'’])(il|elle|ils|elles|lui|eux|he|she|it|they|him|her|them|his|its|their)(?![-\w])",
    re.IGNORECASE,
)
_DEMONSTRATIVE = re.compile(
    r"\b(ce|cet|cette|ces|this|that|these|those)\s+\w|\b(l['’]autre|les autres|the other)\b",
    re.IGNORECASE,
)
# "And then?": what comes after the last answer.
_NEXT = re.compile(r"^\s*(?:et\s+|and\s+)?(?:ensuite|puis|après|après ça|après cela|plus tard"
                   r"|then|next|after that|afterwards|later)\b", re.IGNORECASE)
_PLURAL = re.compile(r"(?<![\w'’])(ils|elles|eux|they|them|their)(?![-\w])|-t-(?:ils|elles)\b"
                     r"|-(?:ils|elles)\b", re.IGNORECASE)
# "Il" that stands for nobody: "y a-t-il", "il faut", "s'agit-il", "qu'est-il prévu".
_IMPERSONAL = re.compile(
    r"\b(?:y\s+a-t-il|il\s+y\s+a|s['’]agit-il|il\s+s['’]agit|faut-il|il\s+faut"
    r"|qu['’]est-il|est-il\s+(?:prévu|possible|vrai|question|nécessaire))\b",
    re.IGNORECASE,
)
# Words of a follow-up that say nothing about its topic.
_EMPTY = re.compile(
    r"\b(et|and|also|aussi|what|about|how|quid|pour|concernant|maintenant|now|ensuite|then"
    r"|alors|encore|again|lui|elle|eux|ça|cela|him|her|them|that|this|those|these|there|là"
    r"|celui|celle|ceux|celles|one|ones)\b",
    re.IGNORECASE,
)

_NOT_REFERENTS = ("where", "when", "duration", "quantity", "money")



@dataclass(frozen=True)
class Standalone:
    """A question made independent of the conversation."""

    query: str  # what is searched
    kind_from: str = ""  # previous query, whose kind a bare follow-up ("And when?") inherits
    conversation: Conversation = field(default_factory=Conversation)


def is_followup(question: str, history: Sequence[Turn]) -> bool:
    """Whether the question leans on the conversation to be understood."""
    if not history:
        return False
    text = strip_markup(question)
    return bool(
        _CONNECTOR.search(text)
        or _ANAPHORA.search(text)
        or len(content_words(text)) <= 1
    )


def standalone(question: str, history: Sequence[Turn]) -> Standalone:
    """The query to search for `question` given the conversation so far."""
    if not is_followup(question, history):
        return Standalone(question)
    last = history[-1]
    previous = standalone(last.question, history[:-1])  # it may itself be a follow-up
    direct = last.answer.direct if last.answer.found else ""
    # A pronoun most often stands for the name the last answer gave, else for a name the last
    # question asked about.
    # A place, date or number is not what "he" or "they" stands for: then the last question's
    # names are.
    answered = [] if question_kind(previous.query) in _NOT_REFERENTS else _names(direct)
    about = " ".join(answered or question_names(previous.query))
    plain = strip_markup(question)
    own_names = question_names(plain)
    own_topic = content_words(_EMPTY.sub(" ", plain))
    personal = bool(_PERSONAL.search(_IMPERSONAL.sub(" ", plain)))
    pointing = bool(_ANAPHORA.search(plain) or personal or _DEMONSTRATIVE.search(plain))
    if len(own_topic) >= 2:
        # The follow-up names its own topic: keep it in front, and add who or what its pronoun
        # stands for ("Et ensuite, que prévoit la mairie ?" has none: it is searched as it is).
        query = f"{question} ({about})" if about and pointing and not own_names else question
    else:
        query = f"{question} ({' '.join(p for p in (previous.query, direct) if p)})"
    context = direct if about in direct else f"{direct} {about}".strip()
    # "Et la mairie, qu'en pense-t-elle ?": a pronoun beside a name of the follow-up's own stands
    # for that name.
    # "Ils / they" stand for more than the one name the conversation gave: no name to prefer.
    plural = bool(_PLURAL.search(plain)) and not own_names
    focus = tuple((" ".join(own_names) or about).split()) if personal and not plural else ()
    later = 0
    # "Et ensuite ?" after a dated answer asks what comes later; "Et ensuite, où... ?" asks where.
    if _NEXT.search(plain) and question_kind(plain) in ("what", "when", "yesno"):
        later = max((int(y) for y in YEAR.findall(direct)), default=0)
    # "Et la mairie ?", "What about Spain?": the previous question, asked of another name.
    rest = [w for w in own_topic if fold(w) not in {fold(x) for n in own_names for x in words(n)}]
    must_name = tuple(own_names) if own_names and not rest else ()
    quoted = tuple(c.text for c in last.answer.citations) if personal and last.answer.found else ()
    return Standalone(query, previous.query, Conversation(context, focus, quoted, later,
                                                          must_name))


def _names(answer: str) -> list[str]:
    """Capitalised words of a short answer ("Paris", "M Dupont"), function words aside."""
    return [w for w in words(answer) if w[:1].isupper() and fold(w) not in STOPWORDS]
