"""What depends only on the article and the LLM, computed once and stored beside the index: a
verified machine translation of every sentence (into English, or into French for an article in
English) and a verified overview in French and in English.

It runs in the background after the index is built (`ArticleWork.run`), yields the model to
readers (`background=True` calls), saves as it goes (a killed run resumes where it stopped) and
is keyed by the index manifest, the model and the prompts: a change of any of them starts it
again, and the files of an older key are removed."""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import prompts
from .article import Article
from .decide import LLMBusy, LLMPreempted, LLMUnavailable
from .drafts import Claim, Draft
from .language import detect
from .support import Aligner
from .verify import NameMatcher, verify

log = logging.getLogger(__name__)

# Sentences translated, in the article's order: an article at the length cap has about 540;
# past this many, the later sentences are translated when a reader needs them.
MAX_TRANSLATED = 300
SAVE_EVERY = 5
OVERVIEW_LANGUAGES = ("fr", "en")


def article_language(article: Article) -> str:
    """The article's language (French or English), from its title and first sentences."""
    sample = " ".join([article.title, *(s.text for s in article.sentences[:6])])
    return detect(sample, "fr")


@dataclass
class Stored:
    """The stored work of one article and model."""

    key: str
    target: str  # the language the sentences are translated into
    translations: dict[int, str] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)  # sentence -> why its translation failed
    overviews: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    overview_rejected: dict[str, str] = field(default_factory=dict)
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "target": self.target,
                "translations": {str(k): v for k, v in self.translations.items()},
                "rejected": {str(k): v for k, v in self.rejected.items()},
                "overviews": self.overviews, "overview_rejected": self.overview_rejected,
                "complete": self.complete}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stored:
        return cls(str(data["key"]), str(data["target"]),
                   {int(k): str(v) for k, v in data.get("translations", {}).items()},
                   {int(k): str(v) for k, v in data.get("rejected", {}).items()},
                   dict(data.get("overviews", {})), dict(data.get("overview_rejected", {})),
                   bool(data.get("complete")))


class ArticleWork:
    """The stored translations and overviews of one article, and the background run that
    computes them."""

    def __init__(self, article: Article, llm: Any, matcher: NameMatcher, aligner: Aligner,
                 directory: Path, manifest: dict[str, Any], model: str) -> None:
        self.article = article
        self.llm = llm
        self.matcher = matcher
        self.aligner = aligner
        self.language = article_language(article)
        self.target = "en" if self.language == "fr" else "fr"
        digest = hashlib.sha256(json.dumps(
            [manifest.get("article_sha256"), manifest.get("store"), model,
             prompts.TRANSLATE_VERSION, MAX_TRANSLATED], sort_keys=True).encode()).hexdigest()
        self.key = digest[:16]
        self.path = Path(directory) / f"work-{self.key}.json"
        self._lock = threading.Lock()
        self._running = threading.Lock()  # one run at a time; a second waits for the first
        self.stored = self._load() or Stored(self.key, self.target)
        self.started = 0.0
        self.finished = 0.0

    # -- what readers get ------------------------------------------------------------------
    def translation(self, index: int, language: str) -> str:
        """The stored verified translation of sentence `index` into `language` ("" if none)."""
        if language != self.target:
            return ""
        with self._lock:
            return self.stored.translations.get(index, "")

    def overview(self, language: str) -> Draft | None:
        """The stored verified overview in `language`, as a draft (None when there is none)."""
        with self._lock:
            parts = self.stored.overviews.get(language)
        if not parts:
            return None
        claims = tuple(Claim(p["text"], tuple(p["cites"]), generated=True) for p in parts)
        cites: list[int] = []
        for claim in claims:
            cites.extend(i for i in claim.cites if i not in cites)
        translations = {i: t for i in cites if (t := self.translation(i, language))}
        return Draft(self.llm.name, True, cites=tuple(cites), claims=claims, overview=True,
                     translations=translations,
                     reason="the LLM's overview, computed once for the article, each sentence "
                            "verified against the sentences it cites")

    def coverage(self) -> dict[str, Any]:
        with self._lock:
            n = len(self.article.sentences)
            return {"sentences": n, "translated": len(self.stored.translations),
                    "translations_rejected": len(self.stored.rejected),
                    "overviews": sorted(self.stored.overviews),
                    "complete": self.stored.complete}

    # -- the background run ------------------------------------------------------------------
    def run(self) -> None:
        """Translate every sentence (up to MAX_TRANSLATED) and write both overviews, saving as
        it goes. Stops quietly when the LLM is unavailable (a later start resumes)."""
        with self._running:
            if not self.stored.complete:
                self._run()

    def _run(self) -> None:
        self.started = time.perf_counter()
        todo = [s.index for s in self.article.sentences[:MAX_TRANSLATED]
                if s.index not in self.stored.translations and s.index not in self.stored.rejected]
        log.info("translating %d sentences of the article into %s in the background",
                 len(todo), self.target)
        for done, index in enumerate(todo, start=1):
            translation = self._attempt(lambda i=index: self.llm.translate(
                i, self.target, **self._background()))
            if translation is None:
                self._save()
                return
            draft = Draft(self.llm.name, True, cites=(index,), translations={index: translation})
            verdict = verify(draft, {index}, self.article, self.matcher, self.target,
                             article_language=self.language, aligner=self.aligner)
            with self._lock:
                if index in verdict.draft.translations:
                    self.stored.translations[index] = translation
                else:
                    self.stored.rejected[index] = (verdict.dropped[0] if verdict.dropped
                                                   else verdict.reason)
            if done % SAVE_EVERY == 0:
                log.info("translated %d/%d sentences", done, len(todo))
                self._save()
        for language in OVERVIEW_LANGUAGES:
            if language in self.stored.overviews or language in self.stored.overview_rejected:
                continue
            proposed = self._attempt(lambda lang=language: self.llm.propose_overview(
                lang, self._translations(lang), **self._background()))
            if proposed is None:
                self._save()
                return
            given = {s.index for s in self.article.sentences}
            verdict = verify(proposed, given, self.article, self.matcher, language,
                             article_language=self.language, aligner=self.aligner)
            with self._lock:
                if verdict.ok and proposed.found:
                    self.stored.overviews[language] = [
                        {"text": c.text, "cites": list(c.cites)} for c in verdict.draft.claims]
                else:
                    self.stored.overview_rejected[language] = verdict.reason or proposed.reason
        with self._lock:
            self.stored.complete = True
        self.finished = time.perf_counter()
        self._save()
        log.info("article work done: %s", self.coverage())

    def _translations(self, language: str) -> dict[int, str]:
        with self._lock:
            return dict(self.stored.translations) if language == self.target else {}

    def _background(self) -> dict[str, Any]:
        """`background=True` for a chat that takes it: such calls yield to readers."""
        complete = getattr(getattr(self.llm, "chat", None), "complete", None)
        if complete is not None and "background" in inspect.signature(complete).parameters:
            return {"background": True}
        return {}

    def _attempt(self, call: Any) -> Any:
        """`call()`, retried while readers preempt it; None when the LLM is unavailable."""
        for _ in range(200):
            try:
                return call()
            except (LLMBusy, LLMPreempted):
                time.sleep(1.0)
            except LLMUnavailable as exc:
                log.info("article work paused: %s", exc)
                return None
        return None

    # -- storage ----------------------------------------------------------------------------
    def _load(self) -> Stored | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            stored = Stored.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return stored if stored.key == self.key else None

    def _save(self) -> None:
        with self._lock:
            data = json.dumps(self.stored.to_json(), ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(data, "utf-8")
            tmp.replace(self.path)
            for old in self.path.parent.glob("work-*.json"):
                if old != self.path:
                    old.unlink(missing_ok=True)  # an older article, model or prompt
        except OSError as exc:
            log.warning("cannot store the article's translations in %s (%s)", self.path, exc)
