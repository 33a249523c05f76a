"""What a text asserts that can be checked word for word: its numbers (digits or number words,
French or English) and its proper names. The verifier compares them between a generated text
and the article sentences it cites."""

from __future__ import annotations

import re
import unicodedata

from .text import STOPWORDS, fold

_NUMBER_WORDS = {
    "un": 1, "une": 1, "one": 1, "deux": 2, "two": 2, "trois": 3, "three": 3, "quatre": 4,
    "four": 4, "cinq": 5, "five": 5, "six": 6, "sept": 7, "seven": 7, "huit": 8, "eight": 8,
    "neuf": 9, "nine": 9, "dix": 10, "ten": 10, "onze": 11, "eleven": 11, "douze": 12,
    "twelve": 12, "treize": 13, "thirteen": 13, "quatorze": 14, "fourteen": 14, "quinze": 15,
    "fifteen": 15, "seize": 16, "sixteen": 16, "vingt": 20, "twenty": 20, "trente": 30,
    "thirty": 30, "quarante": 40, "forty": 40, "cinquante": 50, "fifty": 50, "soixante": 60,
    "sixty": 60, "cent": 100, "hundred": 100, "mille": 1000, "thousand": 1000,
    "million": 10**6, "millions": 10**6, "milliard": 10**9, "milliards": 10**9,
    "billion": 10**9, "billions": 10**9, "dozen": 12, "douzaine": 12,
}
# "un/une/one" are articles far more often than numbers: they count only as digits.
_ARTICLES = {"un", "une", "one"}
_DIGITS = re.compile(r"(?<![\w.,])\d+(?:(?:[  ]|,|\.)\d{3})*(?:[.,]\d+)?(?![\w])")
_WORD = re.compile(r"[\w]+(?:[-'’][\w]+)*")
# Capitalised words that are not names (sentence openers aside, handled by position).
_NOT_NAMES = frozenset({
    "i", "l", "d", "selon", "according", "monsieur", "madame", "mr", "mrs", "ms", "m", "mme",
    "dr", "oui", "non", "yes", "no",
    # English capitalises days and months, French does not: they are no names.
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
})


def normalise(text: str) -> str:
    """Folded text for span matching: lowercase, no accents, one kind of quote and apostrophe,
    single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[«»“”„\"]", '"', text).replace("’", "'").replace("`", "'")
    text = fold(text)
    return re.sub(r"\s+", " ", text).strip()


def is_span(phrase: str, sentence: str) -> bool:
    """Whether `phrase` is a verbatim span of `sentence` (after case, accent and quote folding),
    made of whole words: "3" is not a span of "1930"."""
    wanted = normalise(phrase).strip(" .,;:!?\"'")
    if not wanted:
        return False
    # A number's digit group is no number of its own: "000 ans" is not a span of "300 000 ans".
    before = r"(?<!\d[ \u00a0.,])" if wanted[0].isdigit() else ""
    after = r"(?![ \u00a0.,]\d)" if wanted[-1].isdigit() else ""
    pattern = rf"(?<![\w-]){before}{re.escape(wanted)}(?![\w-]){after}"
    return re.search(pattern, normalise(sentence)) is not None


def numbers(text: str) -> set[str]:
    """The numbers a text states, as canonical digit strings ("1 000" and "mille" -> "1000")."""
    found = set()
    text = re.sub(r"\[\d{1,3}\]", " ", text)  # citation markers are no numbers
    for match in _DIGITS.finditer(text):
        raw = re.sub(r"[  ]", "", match.group())
        raw = re.sub(r"[.,](?=\d{3}(?!\d))", "", raw).replace(",", ".")
        found.add(raw.rstrip("0").rstrip(".") if "." in raw else raw.lstrip("0") or "0")
    for word in _WORD.findall(text):
        low = fold(word)
        for part in low.split("-"):
            if part in _NUMBER_WORDS and part not in _ARTICLES:
                found.add(str(_NUMBER_WORDS[part]))
    return found


def names(text: str) -> list[str]:
    """The names a text states: runs of capitalised words and acronyms ("Marie Curie", "United
    States"), except function words and a sentence's first word when it stands alone."""
    out = []
    for sentence in re.split(r"(?<=[.!?:;«»\"“”\n(\[])\s*", text):
        tokens = list(_WORD.finditer(sentence))
        run: list[str] = []
        run_end = -1
        for i, token in enumerate(tokens):
            word = re.sub(r"^(?:[ldjmnst]|qu)['’]", "", token.group(), flags=re.IGNORECASE)
            low = fold(word)
            first = i == 0 or sentence[: token.start()].strip() in ("", "-", "—")
            following = i + 1 < len(tokens) and tokens[i + 1].group()[:1].isupper()
            name = (word[:1].isupper() and not word.isdigit() and low not in _NOT_NAMES
                    and not (low in STOPWORDS and not word.isupper())
                    # capitalised by its place in the sentence
                    and not (first and not word.isupper() and not following))
            if name and run and sentence[run_end : token.start()].strip(" -") == "":
                run.append(word)
            elif name:
                if run:
                    out.append(" ".join(run))
                run = [word]
            else:
                if run:
                    out.append(" ".join(run))
                run = []
            run_end = token.end()
        if run:
            out.append(" ".join(run))
    return out
