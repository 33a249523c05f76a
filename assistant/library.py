"""The engines of the articles readers bring: one `Engine` per article (a text or a file),
built on first use and cached, the articles' indexes stored under the index directory.

    from assistant.library import engine_for
    engine = engine_for("Titre\\n\\nUn paragraphe. Un autre paragraphe.")
    engine.ask("De quoi parle cet article ?")

Bounds (README "Python API"): at most `Settings.max_articles` engines in memory (the least
recently used is dropped; the settings' own article, `engine_for(None)`, is kept apart and never
dropped), and at most `Settings.max_stored_articles` article directories under
`<index_dir>/articles/` (the least recently used is removed first, never one that an engine of
any process still holds: each engine holds a shared `flock` on its directory's `.lease`).

A text article is stored as `<index_dir>/articles/<key>/article.txt`, `<key>` the start of the
text's sha256; a `pathlib.Path` article is read where it is, its index under the key of its
content. Whatever later work stores for an article (the index, the LLM's prefix state, stored
translations) is written under that directory's settings (`Engine.settings.index_dir`)."""

from __future__ import annotations

import fcntl
import gc
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import IO

from .article import load_article, parse_article
from .chain import Engine, get_engine
from .config import Settings
from .errors import (
    ArticleNotTextError,
    ArticleTooLongError,
    EmptyArticleError,
    IndexBuildError,
)
from .store import OnProgress, Progress

log = logging.getLogger(__name__)

__all__ = ["Progress", "article_key", "engine_for", "stored_articles"]

ARTICLES_DIR = "articles"
ARTICLE_FILE = "article.txt"
LEASE_FILE = ".lease"  # flock'd shared by every engine using the directory; its mtime: last use
KEY_CHARS = 16
_KEY = re.compile(rf"[0-9a-f]{{{KEY_CHARS}}}")
TOUCH_SECONDS = 30.0  # a directory's last use is written at most this often

_lock = threading.Lock()
_engines: OrderedDict[Settings, Engine] = OrderedDict()  # least recently used first
_building: dict[Settings, Future[Engine]] = {}
_touched: dict[Path, float] = {}


def article_key(text: str) -> str:
    """The content key an article is stored under: the start of its UTF-8 text's sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_CHARS]


def engine_for(article: str | Path | None = None, settings: Settings | None = None,
               progress: OnProgress | None = None) -> Engine:
    """The engine of this article (None: the settings' article, the bundled one by default),
    built on first use and cached.

    `article` is the article's text (title line, then paragraphs) or a `pathlib.Path` to a
    UTF-8 file; citations' offsets index exactly that text. `progress` is called with each
    step of a build (from the building thread, and the embedding step from a worker thread).
    Bad input raises an `ArticleError` subclass before anything is stored."""
    settings = settings or Settings.from_env()
    report = progress or (lambda _: None)
    if article is None or (isinstance(article, Path) and _same_file(article, settings)):
        engine = get_engine(settings)
        report(Progress("ready", 1, 1))
        return engine
    report(Progress("reading", 0, 1))
    text, source = _read(article, settings)
    key = article_key(text)
    root = Path(settings.index_dir) / ARTICLES_DIR
    directory = root / key
    wanted = replace(settings, article_path=source or directory / ARTICLE_FILE,
                     index_dir=directory, chroma_url="")
    report(Progress("reading", 1, 1))
    with _lock:
        cached = _engines.get(wanted)
        if cached is not None:
            _engines.move_to_end(wanted)
        future = _building.get(wanted) if cached is None else None
        mine = cached is None and future is None
        if mine:
            future = _building[wanted] = Future()
    if cached is not None:
        _touch(directory)
        report(Progress("ready", 1, 1))
        return cached
    assert future is not None
    if not mine:  # another thread is building it: wait for its engine (or its error)
        built = future.result()
        report(Progress("ready", 1, 1))
        return built
    try:
        if source is None:  # no sentences: raised here, before anything is stored
            parse_article(text)
        engine = _build(wanted, text if source is None else None, progress)
    except BaseException as exc:
        with _lock:
            del _building[wanted]
        future.set_exception(exc)
        raise
    with _lock:
        del _building[wanted]
        _engines[wanted] = engine
        while len(_engines) > settings.max_articles:
            dropped = next(iter(_engines))
            del _engines[dropped]  # (no reference kept: its directory may be removed below)
            log.info("article engine %s dropped from memory (ASSISTANT_MAX_ARTICLES=%d)",
                     dropped.index_dir.name, settings.max_articles)
    future.set_result(engine)
    _enforce_disk_bound(root, settings.max_stored_articles)
    report(Progress("ready", 1, 1))
    return engine


def stored_articles(settings: Settings) -> list[Path]:
    """The article directories under the index directory, least recently used first."""
    root = Path(settings.index_dir) / ARTICLES_DIR
    return [d for _, d in sorted(_last_uses(root))]


def _read(article: object, settings: Settings) -> tuple[str, Path | None]:
    """The article's text, checked (text, within the cap; a file is also parsed), and its
    file."""
    cap = settings.max_article_chars
    if isinstance(article, Path):
        parsed = load_article(article, cap)  # raises the same errors, naming the file
        return parsed.text, article.resolve()
    if isinstance(article, bytes | bytearray | memoryview):
        raise ArticleNotTextError(
            f"the article must be text (str) or a pathlib.Path; got {len(article):,} bytes: "
            "decode them first (for example data.decode('utf-8'))")
    if not isinstance(article, str):
        raise ArticleNotTextError(
            f"the article must be text (str) or a pathlib.Path; got {type(article).__name__}")
    if not article.strip():
        raise EmptyArticleError(
            "the article is empty: paste its text (a title line, then paragraphs)")
    if len(article) > cap:
        raise ArticleTooLongError(
            f"the article is {len(article):,} characters long; the limit is {cap:,} "
            "(ASSISTANT_MAX_ARTICLE_CHARS): give one article, not a collection, or raise it")
    try:
        article.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArticleNotTextError(
            f"the article holds a character that is not text (position {exc.start:,}, a lone "
            "surrogate): give it as decoded text") from None
    if "\x00" in article:
        raise ArticleNotTextError(
            f"the article holds NUL characters (first at {article.index(chr(0)):,}), so it is "
            "not plain text: paste the article's text")
    return article, None


def _same_file(path: Path, settings: Settings) -> bool:
    try:
        return path.resolve() == Path(settings.article_path).resolve()
    except OSError:
        return False


def _build(settings: Settings, text: str | None, progress: OnProgress | None) -> Engine:
    """Build the engine of an article directory; a failed build removes what it created."""
    directory = Path(settings.index_dir)
    try:
        lease = _lease(directory)
    except OSError as exc:
        raise IndexBuildError(
            f"cannot store the article in {directory} ({exc.strerror or exc}): set "
            "ASSISTANT_INDEX_DIR to a writable directory") from None
    created = not (directory / "manifest.json").is_file()
    try:
        if text is not None:
            try:
                _write_article(directory / ARTICLE_FILE, text)
            except OSError as exc:
                raise IndexBuildError(
                    f"cannot store the article in {directory} ({exc.strerror or exc}): free "
                    "some space or set ASSISTANT_INDEX_DIR to a writable directory") from None
        engine = Engine(settings, progress=progress)
    except BaseException:
        if created and _upgrade(lease):  # nothing half-built is left (an index built before
            _remove(directory, lease)  # stays, and so does one another process is building)
        else:
            lease.close()
        raise
    weakref.finalize(engine, lease.close)  # the directory is in use while the engine lives
    _touch(directory, force=True)
    return engine


def _lease(directory: Path) -> IO[bytes]:
    """A shared lock on the directory's lease file, held while an engine uses the directory.
    The lease is taken on the file that is there (a directory removed meanwhile is made again)."""
    while True:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            handle = (directory / LEASE_FILE).open("ab")
        except FileNotFoundError:  # removed between mkdir and open
            continue
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(directory / LEASE_FILE).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()  # the directory was removed while we waited for the lock: again


def _upgrade(handle: IO[bytes]) -> bool:
    """Whether this lease could be made exclusive (no one else holds the directory)."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _write_article(path: Path, text: str) -> None:
    """Store the text byte for byte (no newline translation), atomically."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def _touch(directory: Path, force: bool = False) -> None:
    """Record the directory's last use (the lease file's mtime), at most every TOUCH_SECONDS."""
    now = time.monotonic()
    if not force and now - _touched.get(directory, -TOUCH_SECONDS) < TOUCH_SECONDS:
        return
    _touched[directory] = now
    try:
        os.utime(directory / LEASE_FILE)
    except OSError:
        pass


def _last_uses(root: Path) -> list[tuple[float, Path]]:
    found: list[tuple[float, Path]] = []
    if not root.is_dir():
        return found
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink() and _KEY.fullmatch(entry.name):
            try:
                found.append(((entry / LEASE_FILE).stat().st_mtime, entry))
            except OSError:
                found.append((entry.stat().st_mtime, entry))
    return found


def _enforce_disk_bound(root: Path, bound: int) -> None:
    """Remove what killed builds left (directories without an index that no engine holds),
    then the least recently used directories no engine holds, until at most `bound` remain."""
    uses = sorted(_last_uses(root))
    complete = []
    for used, directory in uses:
        if (directory / "manifest.json").is_file():
            complete.append(directory)
        elif _remove_if_free(directory):
            log.info("article directory %s removed (a build that did not finish)", directory.name)
    if len(complete) <= bound:
        return
    gc.collect()  # engines dropped from memory may be waiting for the collector to free them
    kept = len(complete)
    for directory in complete:
        if kept <= bound:
            break
        if _remove_if_free(directory):
            kept -= 1
            log.info("article directory %s removed (ASSISTANT_MAX_STORED_ARTICLES=%d)",
                     directory.name, bound)
    if kept > bound:
        log.warning("%d article directories in %s, over ASSISTANT_MAX_STORED_ARTICLES=%d: the "
                    "others are in use", kept, root, bound)


def _remove_if_free(directory: Path) -> bool:
    """Remove the directory if no engine (of any process) holds its lease."""
    try:
        handle = (directory / LEASE_FILE).open("ab")
    except OSError:
        return False
    if not _upgrade(handle):
        handle.close()
        return False
    _remove(directory, handle)
    return True


def _remove(directory: Path, handle: IO[bytes]) -> None:
    """Remove a directory whose lease `handle` holds (the lease file goes first, so that a
    process waiting for it sees that the directory went and makes it again)."""
    try:
        (directory / LEASE_FILE).unlink(missing_ok=True)
        shutil.rmtree(directory, ignore_errors=True)
        _forget_chroma(directory)
    finally:
        handle.close()
        _touched.pop(directory, None)


def _forget_chroma(directory: Path) -> None:
    """Drop Chroma's cached clients of stores under a removed directory (it keeps one per path
    for the life of the process)."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:
        return
    cache = SharedSystemClient._identifier_to_system
    for path in [p for p in cache if str(p).startswith(str(directory) + os.sep)]:
        system = cache.pop(path, None)
        try:
            if system is not None:
                system.stop()
        except Exception:
            log.debug("stopping Chroma's client of %s failed", path, exc_info=True)
