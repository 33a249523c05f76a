"""What a generated text says, word by word, and whether its sources say it: content terms
(stems of the words that carry meaning, function words aside), negation, and, across languages,
the alignment of a translation's words with its source's (by spelling or by e5).

The verifier (`verify.py`) uses these checks on every sentence an LLM writes."""

from __future__ import annotations

import os
import re
import threading

import numpy as np

from .embed import ArrayEmbeddings
from .text import STOPWORDS, fold, stems, words

# Words of an answer's frame that state no fact of their own (the answer is "about" the
# article, "it says", "reported"...): they need no support. Kept short on purpose: every word
# here is one the content check lets through.
FRAME_WORDS = frozenset({"article", "articl", "text", "texte", "mention", "mentionn"})
NEGATIONS = {
    "fr": frozenset({"ne", "n", "pas", "jamais", "aucun", "aucune", "nullement", "guère", "ni",
                     "sans"}),
    "en": frozenset({"not", "no", "never", "none", "nor", "without", "cannot", "n't"}),
}
# French "ne ... plus" is a negation, "plus" alone is "more": a French negation needs "ne"/"n'"
# or one of the words that negate alone.
_FR_ALONE = frozenset({"jamais", "aucun", "aucune", "nullement", "sans"})


def terms(text: str, language: str) -> set[str]:
    """The content terms of `text`: accent-folded stems of its content words, names, acronyms
    and numbers whole."""
    return {t for t in stems(text, language) if t not in FRAME_WORDS}


def negated(text: str, language: str) -> bool:
    """Whether `text` states a negation ("ne ... pas", "not", "never", "without")."""
    low = [fold(w) for w in re.findall(r"[\w']+", text.lower().replace("’", "'"))]
    if language == "fr":
        elided = any(w.startswith("n'") for w in low)
        return elided or "ne" in low or any(w in _FR_ALONE for w in low)
    return any(w in NEGATIONS["en"] or w.endswith("n't") for w in low)


def unsupported(text: str, language: str, support: str, support_language: str,
                extra: str = "") -> list[str]:
    """The content words of `text` that neither `support` (in `support_language`) nor `extra`
    (the question and the earlier questions, in either language) state."""
    known = terms(support, support_language) | terms(extra, language) | terms(
        extra, support_language)
    out = []
    for word in words(text):
        found = terms(word, language)
        if found and not found & known and not _prefix_known(found, known):
            out.append(word)
    return out


def _prefix_known(found: set[str], known: set[str]) -> bool:
    """A stem that differs from a known one only in its last letters ("poursuivent" /
    "poursuivr", "opér" / "opérat"): a word of the same family, which a stemmer cuts
    differently. Numbers and short stems must match exactly."""
    for term in found:
        if len(term) < 5 or term.isdigit():
            continue
        for other in known:
            if len(other) < 5 or other.isdigit():
                continue
            shared = len(os.path.commonprefix([term, other]))
            if shared >= max(5, min(len(term), len(other)) - 2):
                return True
    return False


class Aligner:
    """Whether each content word of a translation stands for a word of its source: the same
    spelling (a name, a cognate) or an e5 word embedding close enough. Word vectors are cached."""

    def __init__(self, embeddings: ArrayEmbeddings | None, threshold: float) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def unaligned(self, translation: str, source: str) -> list[str]:
        """The content words of `translation` that no word of `source` stands for."""
        return [w for w, score in self.alignment(translation, source) if score < self.threshold]

    def alignment(self, translation: str, source: str) -> list[tuple[str, float]]:
        """Each content word of `translation` not spelled like a word of `source`, with the
        e5 cosine of the source word closest to it (0 without embeddings)."""
        theirs = [w for w in words(source) if _content(w)]
        mine = [w for w in words(translation) if _content(w)]
        if not mine or not theirs:
            return []
        folded = [fold(w) for w in theirs]
        todo = [w for w in mine if not _spelled_like(fold(w), folded)]
        if not todo:
            return []
        if self.embeddings is None:
            return [(w, 0.0) for w in todo]
        source_vecs = self._vectors(theirs)
        return [(word, float((source_vecs @ vec).max()))
                for word, vec in zip(todo, self._vectors(todo))]

    def _vectors(self, items: list[str]) -> np.ndarray:
        keys = [fold(w) for w in items]
        with self._lock:
            missing = sorted({k for k in keys if k not in self._cache})
            if missing:
                assert self.embeddings is not None
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for k, v in zip(missing, self.embeddings.documents_array(missing)):
                    self._cache[k] = v
            return np.stack([self._cache[k] for k in keys])


def _content(word: str) -> bool:
    low = word.lower()
    return (len(low) > 2 or low.isdigit()) and low not in STOPWORDS and fold(low) not in STOPWORDS


def _spelled_like(word: str, others: list[str]) -> bool:
    return any(word == o or (len(word) >= 5 and len(o) >= 5 and word[:5] == o[:5])
               for o in others)
