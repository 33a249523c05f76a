"""Reading a pasted article for one session: checks, a rate limit per client, the engine built
in a worker thread while its progress streams to the page.

The text travels in the request, like a question (no upload route is opened). The engine comes
from `assistant.library.engine_for`, which keys the article's index by its content, keeps a
bounded number of engines in memory and bounds the index directory on disk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..config import Settings
from ..errors import AssistantError
from .article_html import Step, render_progress
from .conversation import Conversation
from .limits import RateLimiter
from .strings import number, text

log = logging.getLogger("assistant.ui")

ARTICLE_WINDOW = 600.0  # seconds: the window of `Settings.ui_article_rate_limit`
PROGRESS_EVERY = 0.25  # seconds between two progress frames sent to the page
_DONE = object()

EngineFor = Callable[[Any, Settings, Callable[[Any], None] | None], Any]

# The library's steps (`assistant.store.Progress.step`), in the page's words; an unknown step
# is shown as it is named. Tagging and embedding run side by side.
STEP_NAMES = {
    "fr": {"reading": "Texte lu", "tagging": "Noms et dates repérés",
           "embedding": "Phrases encodées", "writing": "Index écrit", "ready": "Prêt"},
    "en": {"reading": "Text read", "tagging": "Names and dates found",
           "embedding": "Sentences encoded", "writing": "Index written", "ready": "Ready"},
}


def default_engine_for(article: Any, settings: Settings,
                       progress: Callable[[Any], None] | None = None) -> Any:
    """`assistant.library.engine_for`, imported when first needed."""
    from ..library import engine_for

    return engine_for(article, settings, progress)


def step_name(name: str, lang: str) -> str:
    return STEP_NAMES.get(lang, STEP_NAMES["fr"]).get(name.strip().lower(), name)


class ArticleReader:
    """Reads pasted articles for the page's sessions."""

    def __init__(self, settings: Settings, engine_for: EngineFor | None = None) -> None:
        self.settings = settings
        self.engine_for = engine_for or default_engine_for
        self.limiter = RateLimiter(settings.ui_article_rate_limit, ARTICLE_WINDOW)
        self.reading = 0  # articles being read now (the page reads one at a time)
        self.lock = threading.Lock()

    def refusal(self, pasted: str, lang: str) -> str:
        """Why `pasted` cannot be read, in `lang` ("" when it can be tried)."""
        if not pasted.strip():
            return text(lang, "article_empty")
        if len(pasted) > self.settings.max_article_chars:
            return text(lang, "article_too_long", length=number(len(pasted), lang),
                        limit=number(self.settings.max_article_chars, lang))
        return ""

    def engine(self, conv: Conversation) -> Any:
        """The engine of the session's pasted article (cached by the library)."""
        return self.engine_for(conv.text, self.settings, None)

    def read(self, pasted: str, conv: Conversation, client: str) -> Iterator[dict[str, Any]]:
        """Frames: {"progress": html} while the article is indexed, then {"progress", "ready":
        engine} or {"progress", "error": True}."""
        lang = conv.lang
        refusal = self.refusal(pasted, lang)
        if not refusal and (wait := self.limiter.wait(client)):
            refusal = text(lang, "article_rate_limited", seconds=max(1, round(wait)))
        if refusal:
            yield {"progress": render_progress([], lang, message=refusal, kind="error"),
                   "error": True}
            return
        updates: queue.Queue[Any] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["engine"] = self.engine_for(pasted, self.settings, updates.put)
            except Exception as exc:  # noqa: BLE001 - shown in the panel and logged below
                outcome["error"] = exc
            finally:
                updates.put(_DONE)

        with self.lock:
            self.reading += 1

        def work_counted() -> None:
            try:
                work()
            finally:
                with self.lock:
                    self.reading -= 1

        threading.Thread(target=work_counted, name="article-reader", daemon=True).start()
        by_name: dict[str, Step] = {}  # in the order the steps began
        yield {"progress": render_progress([], lang, message=text(lang, "article_reading"))}
        last = 0.0
        while True:
            item = updates.get()
            if item is _DONE:
                break
            name = step_name(str(getattr(item, "step", "")), lang)
            step = Step(name, int(getattr(item, "done", 0)), int(getattr(item, "total", 0)))
            by_name[name] = step
            steps = list(by_name.values())
            if time.monotonic() - last >= PROGRESS_EVERY or step.done >= step.total:
                last = time.monotonic()
                yield {"progress": render_progress(
                    steps, lang, message=text(lang, "article_reading"))}
        steps = list(by_name.values())
        error = outcome.get("error")
        if error is not None:
            if isinstance(error, AssistantError):
                log.info("pasted article refused: %s", error)
                message = text(lang, "article_error", message=str(error))
            else:
                log.error("pasted article failed", exc_info=error)
                message = text(lang, "unexpected", kind=type(error).__name__)
            yield {"progress": render_progress(steps, lang, message=message, kind="error"),
                   "error": True}
            return
        engine = outcome["engine"]
        count = len(engine.article.sentences)
        yield {"progress": render_progress([], lang,
                                           message=text(lang, "article_ready", sentences=count)),
               "ready": engine}
