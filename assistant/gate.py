"""Questions the assistant cannot read: no words at all, or another language than French or
English. `screen(question)` returns the honest "not answered" `Answer` for them, None otherwise.

    python -c "from assistant.gate import unsupported; print(unsupported('Wer leitet die NASA?'))"
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

from .language import LANGUAGES, marker_count
from .results import Answer, Turn
from .text import strip_markup, words

# A word: two letters in a row (digits, punctuation, emoji and citation markers are no words).
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_CITATION_MARK = re.compile(r"\[\s*\d{1,3}\s*\]")
# Latin-script languages a French or English question is told apart from: lingua's name, and
# the name in French and in English.
_NEIGHBOURS = {
    "GERMAN": ("allemand", "German"),
    "SPANISH": ("espagnol", "Spanish"),
    "ITALIAN": ("italien", "Italian"),
    "PORTUGUESE": ("portugais", "Portuguese"),
    "DUTCH": ("néerlandais", "Dutch"),
}
# How sure lingua must be that a Latin-script question is in a neighbour language, and the
# largest share of its words that may be French or English function words ("de", "la" are
# Spanish too; a French question quoting a German title has more of them).
_MIN_CONFIDENCE = 0.6
_MAX_MARKER_SHARE = 0.34

NO_WORDS = "the question has no words"
OTHER_SCRIPT = "the question is in another script, not in French or English"

_lock = threading.Lock()
_detector: Any = None


def unsupported(question: str) -> str | None:
    """Why the assistant cannot read `question` (already cleaned), or None if it can."""
    text = _CITATION_MARK.sub(" ", strip_markup(question))
    if not _LETTERS.search(text):
        return NO_WORDS
    markers = marker_count(text)
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    if markers == 0 and latin < len(letters) / 2:
        return OTHER_SCRIPT
    found = words(text)
    # Names (capitalised words after the first) say nothing of the language: leave them out.
    plain = found[:1] + [w for w in found[1:] if not w[:1].isupper()]
    if len(plain) >= 3 and markers <= _MAX_MARKER_SHARE * len(found):
        language = _neighbour_language(" ".join(plain))
        if language:
            return f"the question is in {_NEIGHBOURS[language][1]}, not in French or English"
    return None


def screen(question: str, turns: Sequence[Turn] = ()) -> Answer | None:
    """The honest "cannot read this" answer (found=False) for a question `unsupported`
    rejects, in the conversation's language; None for a question the engine should answer."""
    reason = unsupported(question)
    if reason is None:
        return None
    language = turns[-1].answer.language if turns else ""
    language = language if language in LANGUAGES else "fr"
    if reason == NO_WORDS:
        text = {
            "fr": "Je ne trouve pas de question dans ce message : posez une question sur "
                  "l'article, en français ou en anglais.",
            "en": "I find no question in this message: ask a question about the article, in "
                  "French or English.",
        }[language]
    else:
        fr, en = next((names for names in _NEIGHBOURS.values() if names[1] in reason),
                      ("une autre langue", "another language"))
        fr = f"en {fr}" if fr != "une autre langue" else "dans une autre langue"
        # The reader may know neither language well: say it in both.
        text = (f"Je ne réponds qu'aux questions en français ou en anglais (celle-ci semble "
                f"être {fr}). I only answer questions in French or English (this one seems to "
                f"be in {en}).")
    return Answer(text=text, found=False, citations=[], language=language, query=question,
                  reason=reason)


def _neighbour_language(text: str) -> str:
    """The lingua name of the neighbour language `text` is surely in, or ""."""
    best = _lingua().compute_language_confidence_values(text)[0]
    name = str(best.language.name)
    return name if name in _NEIGHBOURS and best.value >= _MIN_CONFIDENCE else ""


def _lingua() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            chosen = [Language.FRENCH, Language.ENGLISH]
            chosen += [getattr(Language, name) for name in _NEIGHBOURS]
            # Trigram models only: about 30 MB instead of 200 MB, and sure enough for 3+ words.
            _detector = LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode().build()
        return _detector
