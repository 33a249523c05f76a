"""Find the names a question mentions that the article never mentions ("Canada", "SpaceX"):
a question about something the article does not name cannot be answered from it."""

from __future__ import annotations

import difflib
import re
import threading

import numpy as np

from .language import detect
from .store import ArticleIndex, Embedder
from .text import STOPWORDS, fold, words

# Cosine (e5 query vs passage) above which a name is the same as one of the article's, across
# languages (an English city or country name against its French spelling: 0.89-0.91); unrelated
# names of the same field stay below (0.80-0.87). Measured on the dev set (README, "Quality").
SAME_NAME = 0.885
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'’-]*(?:\s+(?:of\s+|de\s+|du\s+)?[A-ZÀ-ÖØ-Þ][\w'’-]*)*")


class NameChecker:
    """Knows the article's words and named entities; tells which names of a question are new."""

    def __init__(self, index: ArticleIndex, embeddings: Embedder) -> None:
        self.vocabulary = {fold(w) for w in words(index.article.text)}
        self.known = frozenset(self.vocabulary)
        self.entities = sorted({e.text for c in index.chunks for e in c.entities
                                if e.label in ("PER", "ORG", "LOC", "MISC")})
        self.embeddings = embeddings
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def unknown(self, question: str) -> list[str]:
        """Names in `question` that match nothing in the article, in spelling or meaning."""
        out = []
        for name in question_names(question, self.known):
            parts = [w for w in words(name) if fold(w) not in STOPWORDS]
            if parts and all(self._spelled(w) for w in parts):
                continue
            if self._similar(name) < SAME_NAME:
                out.append(name)
        return out

    def _spelled(self, word: str) -> bool:
        w = fold(re.sub(r"['’]s$", "", word))
        if w in self.vocabulary:
            return True
        close = difflib.get_close_matches(w, [v for v in self.vocabulary if v[:3] == w[:3]],
                                          n=1, cutoff=0.75)
        return bool(close)

    def _similar(self, name: str) -> float:
        if not self.entities:
            return 0.0
        with self._lock:
            if self._vectors is None:
                self._vectors = self.embeddings.documents_array(self.entities)
        return float((self._vectors @ self.embeddings.query_array(name)).max())


def question_names(question: str, vocab: frozenset[str] = frozenset()) -> list[str]:
    """Capitalised words and runs of them, except a sentence's first word and function words.
    `vocab`: folded words known to be names (an all-capitals word in it is not a shouted tag)."""
    names = []
    for m in _NAME.finditer(question):
        name = m.group()
        # Words since the sentence began, markup and shouted tags ("[ADMIN]") aside.
        since = re.split(r"[.!?:;«“\"(>]", question[: m.start()])[-1]
        parts = name.split()
        # A shouted tag ("[ADMIN]", "IMPORTANT:") opens the question or follows markup; "la SNCF"
        # is a name.
        tag_place = not re.search(r"[^\s\]>*:]\s*$", question[: m.start()])
        while (parts and tag_place and parts[0].isupper() and len(parts[0]) > 3
               and fold(parts[0]) not in vocab):
            parts = parts[1:]  # a shouted tag, not a name; the next word starts the sentence
            since = ""
        if not parts:
            continue
        if all(w.isupper() for w in re.findall(r"\w+", since)):
            parts = parts[1:]  # the first word is capitalised by position only
        if not parts:
            continue
        name = " ".join(parts)
        # "Western sanctions", "Earth orbit": a capitalised English word used as an adjective
        # (one word: "European Space Agency send..." is a name followed by its verb).
        if len(parts) == 1 and re.match(r"\s+[a-z]{3,}\b", question[m.end() :]) and not re.match(
            r"\s+(?:est|a|va|et|joue|is|has|was|will|did|does|and|plays?)\b", question[m.end() :]
        ) and not re.search(r"\b(?:did|does|do|is|are|was|were|will|can|has|have|had)\s+$",
                            question[: m.start()]) and detect(question) == "en":
            continue
        if fold(name) in STOPWORDS or len(name) < 2 or name.isupper() and len(name) > 5:
            continue
        names.append(name)
    return names
