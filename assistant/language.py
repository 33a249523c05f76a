"""Tell French from English: a vote on function words, then lingua for what the vote leaves open."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from .text import fold, words

LANGUAGES = ("fr", "en")

# Words that almost only occur in one of the two languages (question words and grammar).
_MARKERS = {
    "fr": frozenset(
        ["le", "la", "les", "un", "une", "des", "du", "de", "et", "est", "sont", "qui", "que", "quoi", "quand", "où", "ou", "comment", "combien", "pourquoi", "quel", "quelle", "quels", "quelles", "lequel", "laquelle", "il", "elle", "ils", "elles", "lui", "eux", "leur", "leurs", "ce", "cette", "ces", "avec", "pour", "dans", "sur", "par", "pas", "ne", "se", "sa", "son", "ses", "au", "aux", "été", "être", "avoir", "fait", "quelles-sont", "jusqu'à", "jusqu", "jusque", "depuis", "entre", "selon", "est-ce", "qu'est-ce", "c'est", "y", "a-t-il", "t-il", "t-elle", "mais", "donc", "aussi", "encore"]
    ),
    "en": frozenset(
        ["the", "a", "an", "and", "is", "are", "was", "were", "who", "what", "when", "where", "why", "how", "which", "whose", "whom", "does", "do", "did", "of", "to", "in", "on", "with", "for", "by", "from", "it", "its", "this", "that", "these", "those", "he", "she", "they", "them", "his", "her", "their", "has", "have", "had", "will", "would", "can", "could", "should", "until", "about", "according", "say", "says", "said", "there", "also", "still"]
    ),
}
_FOLDED = {lang: frozenset(fold(m) for m in marks) for lang, marks in _MARKERS.items()}
_lock = threading.Lock()
_detector: Any = None


def _lingua() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            _detector = LanguageDetectorBuilder.from_languages(
                Language.FRENCH, Language.ENGLISH
            ).build()
        return _detector


def marker_count(text: str) -> int:
    """How many pieces of `text` (words, and the parts of elisions and inversions: "jusqu'",
    "-t-elle") are French or English function words."""
    pieces = re.findall(r"\w+", fold(text))
    return sum(1 for p in pieces if p in _FOLDED["fr"] or p in _FOLDED["en"])


def warm_up() -> None:
    """Load lingua's models now rather than on the first question."""
    detect("Bonjour, quelle est la question ?")


@lru_cache(maxsize=2048)
def detect(text: str, default: str = "") -> str:
    """'fr' or 'en'; `default` (e.g. the conversation's language) when the text has no clue."""
    tokens = [fold(w) for w in words(text)]
    votes = {lang: sum(1 for t in tokens if t in marks) for lang, marks in _FOLDED.items()}
    clear = abs(votes["fr"] - votes["en"]) >= 2 or not default
    if votes["fr"] != votes["en"] and max(votes.values()) >= 1 and clear:
        return max(votes, key=lambda k: votes[k])
    if default and max(votes.values()) == 0 and len(tokens) <= 4:
        return default
    confidences = _lingua().compute_language_confidence_values(text)
    best = confidences[0]
    if default and best.value < 0.7:
        return default
    return "fr" if best.language.name == "FRENCH" else "en"
