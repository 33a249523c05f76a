"""The one check every draft goes through, whatever wrote it: citations point to sentences the
answerer was given, the direct answer is a verbatim span of the first one, and generated text
(an answer sentence, a summary, a translation) adds no number or name its sentences lack and
drops none that matter. A draft that fails is never shown."""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from .article import Article
from .drafts import Claim, Draft
from .embed import ArrayEmbeddings
from .facts import is_span, names, numbers
from .language import detect
from .names import SAME_NAME
from .text import fold, words


@dataclass(frozen=True)
class Verdict:
    """Whether a draft may be shown, why not, and the draft as it may be shown (translations
    that failed are dropped from it, with their reasons)."""

    ok: bool
    reason: str
    draft: Draft
    dropped: tuple[str, ...] = field(default=())  # why each dropped translation failed


class NameMatcher:
    """Tells whether a name of a generated text is one its source sentences state: spelled the
    same (accents, case and small differences aside: "Londres" / "London"), or the same name in
    another language by e5 ("United States" / "États-Unis")."""

    def __init__(self, embeddings: ArrayEmbeddings | None) -> None:
        self.embeddings = embeddings
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def stated(self, name: str, source: str) -> bool:
        """Whether `source` states `name`."""
        own = [fold(w) for w in words(source)]
        parts = [fold(w) for w in words(name)]
        if parts and all(_spelled(p, own) for p in parts):
            return True
        candidates = names(source) + [w for w in words(source) if w[:1].isupper()]
        return bool(candidates) and self._similar(name, candidates) >= SAME_NAME

    def _similar(self, name: str, candidates: list[str]) -> float:
        if self.embeddings is None:
            return 0.0
        query = self._vector("query", name)
        return max(float(self._vector("passage", c) @ query) for c in candidates)

    def _vector(self, kind: str, text: str) -> np.ndarray:
        key = (kind, text)
        with self._lock:
            if key not in self._cache:
                if len(self._cache) > 20_000:
                    self._cache.clear()
                assert self.embeddings is not None
                self._cache[key] = (self.embeddings.query_array(text) if kind == "query"
                                    else self.embeddings.documents_array([text])[0])
            return self._cache[key]


def _spelled(part: str, own: list[str]) -> bool:
    if part in own:
        return True
    if len(part) >= 4 and any(len(w) >= 4 and (w.startswith(part[:4]) and (
            part.startswith(w[: max(4, len(w) - 2)]) or w.startswith(part[: max(4, len(part) - 2)])))
            for w in own):
        return True  # "russ-e" / "russ-ian", "américain" / "american"
    close = difflib.get_close_matches(part, [w for w in own if w[:2] == part[:2]], n=1,
                                      cutoff=0.8)
    return bool(close)


def verify(draft: Draft, given: Iterable[int], article: Article, matcher: NameMatcher,
           language: str) -> Verdict:
    """Check `draft` against the article. `given`: the sentences the answerer was handed;
    `language`: the reader's."""
    allowed = frozenset(given)
    sentences = article.sentences
    if not draft.found:
        return Verdict(True, draft.reason, draft)
    if not draft.cites:
        return Verdict(False, "the answer cites no sentence", draft)
    stray = [i for i in draft.cites if i not in allowed or not 0 <= i < len(sentences)]
    if stray:
        return Verdict(False, f"it cites sentence {stray[0]}, which it was not given", draft)
    first = sentences[draft.cites[0]].text
    if draft.direct and not all(is_span(part, first) for part in _parts(draft.direct)):
        return Verdict(False, f"the direct answer {draft.direct!r} is not in the sentence it "
                              "cites", draft)
    for claim in draft.claims:
        problem = _claim_problem(claim, draft, sentences, matcher, language)
        if problem:
            return Verdict(False, problem, draft)
    kept: dict[int, str] = {}
    dropped: list[str] = []
    for index, translation in draft.translations.items():
        if index not in draft.cites:
            dropped.append(f"a translation of sentence {index}, which the answer does not cite")
            continue
        problem = _translation_problem(translation, sentences[index].text, matcher, language)
        if problem:
            dropped.append(problem)
        else:
            kept[index] = translation
    return Verdict(True, draft.reason, replace(draft, translations=kept), tuple(dropped))


def _parts(direct: str) -> list[str]:
    """The spans a direct answer is made of: "X" or a name with its role, "X (Y)" / "X, Y"."""
    role = re.fullmatch(r"(.+?) \((.+)\)", direct)
    if role:
        return [role.group(1), role.group(2)]
    return [direct] if ", " not in direct else [direct, *direct.split(", ", 1)][1:]


def _claim_problem(claim: Claim, draft: Draft, sentences: tuple, matcher: NameMatcher,
                   language: str) -> str:
    """Why a sentence of the answer cannot be shown ("" when it can)."""
    cites = claim.cites or draft.cites
    if any(i not in draft.cites for i in cites):
        return "an answer sentence cites a sentence the answer does not"
    if not claim.generated:
        return ""
    source = " ".join(sentences[i].text for i in cites)
    added = numbers(claim.text) - numbers(source)
    if added:
        return f"the answer states {min(added)}, which its sentences do not"
    for name in names(claim.text):
        if not matcher.stated(name, source):
            return f"the answer names {name!r}, which its sentences do not"
    if not draft.overview and draft.direct:
        missing = numbers(draft.direct) - numbers(claim.text)
        if missing:
            return f"the answer sentence drops {min(missing)} from the direct answer"
        for name in names(draft.direct):
            if not matcher.stated(name, claim.text):
                return f"the answer sentence drops the name {name!r}"
    if len(words(claim.text)) >= 4 and detect(claim.text, language) != language:
        return "the answer sentence is not in the reader's language"
    return ""


def _translation_problem(translation: str, source: str, matcher: NameMatcher,
                         language: str) -> str:
    """Why a translation cannot be shown ("" when it can): it must state the same numbers and
    names as its source, no more, no fewer, in the reader's language."""
    if not translation.strip():
        return "an empty translation"
    ours, theirs = numbers(translation), numbers(source)
    if ours - theirs:
        return f"a translation adds the number {min(ours - theirs)}"
    if theirs - ours:
        return f"a translation drops the number {min(theirs - ours)}"
    for name in names(translation):
        if not matcher.stated(name, source):
            return f"a translation adds the name {name!r}"
    for name in names(source):
        if not matcher.stated(name, translation):
            return f"a translation drops the name {name!r}"
    if detect(translation, language) != language:
        return "a translation is not in the reader's language"
    return ""
