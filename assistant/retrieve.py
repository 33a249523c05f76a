"""Hybrid retrieval over the index: dense (Chroma: sentence, sentence in context, clauses) and BM25 over
accent-folded stems, fused as weighted z-scores; exposed as a LangChain `BaseRetriever`."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .config import ARTICLE_LANGUAGE
from .store import ArticleIndex, Embedder
from .text import stems

# Each signal is standardised over the article's sentences (z-score), then summed with these
# weights; measured on the dev question set (README, "Quality"). Rank fusion (RRF) scored
# lower there: it throws away how far ahead the best sentence is.
# The e5 sparse head measured no better once the others are in (recall@1 0.68 either way) and
# costs 13 ms a question: its weight is 0 and it is not computed.
# e5 reads at most this much of a query: past it, encoding costs seconds and adds nothing a
# question needs (a 2,000-character question took 5-10 s, a 500-character one 0.8 s).
QUERY_CHARS = 500
WEIGHTS = {"dense": 1.0, "context": 2.0, "clause": 0.5, "sparse": 0.0, "bm25": 0.25}


@dataclass(frozen=True)
class Scored:
    """Every score of one sentence for one query."""

    sentence: int
    fused: float
    dense: float  # cosine of the query with the sentence alone
    context: float  # cosine with the sentence in its context
    clause: float  # best cosine with one of its clauses
    sparse: float
    bm25: float
    clause_scores: tuple[float, ...]


@dataclass(frozen=True)
class Passage:
    """A retrieved sentence of the article, with its scores and rank for this query."""

    sentence: int  # index into `Article.sentences`
    text: str
    start: int
    end: int
    section: str
    rank: int
    scores: Scored


@dataclass(frozen=True)
class QueryStats:
    """How the query scored over the whole article: what a passage's scores are measured against."""

    article_mean: float  # mean dense cosine over every sentence
    clause_mean: float
    clause_std: float
    fused_top: float  # the best fused score (before any follow-up preference)


@dataclass(frozen=True)
class Retrieval:
    """What the retriever hands the answerers: the query, the top passages best first, and the
    query's statistics over the article."""

    query: str
    passages: tuple[Passage, ...]
    stats: QueryStats

    def given(self) -> frozenset[int]:
        """The sentence indices an answerer was given (and so may cite)."""
        return frozenset(p.sentence for p in self.passages)


class BM25:
    """Okapi BM25 over the stems of the article's sentences."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = sum(self.lengths) / max(len(docs), 1)
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs), np.float32)
        for i, (doc, length) in enumerate(zip(self.docs, self.lengths)):
            norm = self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
            out[i] = sum(
                self.idf[t] * doc[t] * (self.k1 + 1) / (doc[t] + norm) for t in query if t in doc
            )
        return out


class Searcher:
    """Scores every sentence of an index for a query, with all retrieval signals."""

    def __init__(self, index: ArticleIndex, embeddings: Embedder,
                 language: str = ARTICLE_LANGUAGE) -> None:
        self.index = index
        self.embeddings = embeddings
        self.language = language
        self.bm25 = BM25([stems(c.sentence.text, language) for c in index.chunks])

    def retrieve(self, query: str, k: int) -> Retrieval:
        """The top-k passages for `query`, typed."""
        scored = self.score(query, k)
        return retrieval(self.index, query, scored[:k], scored)

    def score(self, query: str, k: int) -> list[Scored]:
        """Every sentence scored, best first."""
        idx = self.index
        n = len(idx.chunks)
        qvec = self.embeddings.query_array(query[:QUERY_CHARS])
        dense_ranked = self._chroma_ranking(qvec, min(n, max(k, 1)) * 3)
        dense = idx.sentence_vecs @ qvec
        context = idx.context_vecs @ qvec
        clause_all = idx.clause_vecs @ qvec
        clause = np.full(n, -1.0, np.float32)
        per_sentence: list[list[float]] = [[] for _ in range(n)]
        for owner, value in zip(idx.clause_owner, clause_all):
            per_sentence[owner].append(float(value))
            clause[owner] = max(clause[owner], value)
        if WEIGHTS["sparse"] and idx.sparse is not None and self.embeddings.has_sparse:
            sparse = idx.sparse @ self.embeddings.sparse_array([query])[0]
        else:
            sparse = np.zeros(n, np.float32)
        bm25 = self.bm25.scores(stems(query, self.language))

        signals = {"dense": dense, "context": context, "clause": clause, "sparse": sparse,
                   "bm25": bm25}
        fused = np.zeros(n, np.float64)
        for name, values in signals.items():
            fused += WEIGHTS[name] * _standardise(values)
        # Chroma's nearest neighbours come first among equals (ties are rare; order is stable).
        rank_of = {i: r for r, i in enumerate(dense_ranked)}
        order = sorted(range(n), key=lambda i: (-fused[i], rank_of.get(i, n)))
        scored = [
            Scored(int(i), float(fused[i]), float(dense[i]), float(context[i]), float(clause[i]),
                   float(sparse[i]), float(bm25[i]), tuple(per_sentence[i]))
            for i in order
        ]
        return scored

    def _chroma_ranking(self, qvec: np.ndarray, k: int) -> list[int]:
        """Sentence order from the Chroma store's nearest neighbours (sentence or context)."""
        hits = self.index.vectorstore.similarity_search_by_vector_with_relevance_scores(
            qvec.tolist(), k=k, filter={"kind": {"$in": ["sentence", "context"]}}
        )
        order: list[int] = []
        for doc, _ in hits:
            i = int(doc.metadata["sentence"])
            if i not in order:
                order.append(i)
        return order


def _standardise(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


class HybridRetriever(BaseRetriever):
    """LangChain retriever: the top-k sentences as Documents (for LangChain users; the engine's
    own chain uses the typed `Searcher.retrieve`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Any
    k: int = 8

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        found = self.searcher.retrieve(query, self.k)
        return [Document(page_content=p.text, metadata={"sentence": p.sentence, "rank": p.rank,
                                                        "section": p.section, "start": p.start,
                                                        "end": p.end, "score": p.scores.fused})
                for p in found.passages]


def retrieval(index: ArticleIndex, query: str, top: list[Scored],
              everything: list[Scored]) -> Retrieval:
    """The typed result for the top sentences, with the query's statistics over the article."""
    dense_all = np.asarray([s.dense for s in everything])
    clauses_all = np.asarray([c for s in everything for c in s.clause_scores] or [0.0])
    fused_all = np.asarray([s.fused for s in everything])
    stats = QueryStats(
        article_mean=float(dense_all.mean()),
        clause_mean=float(clauses_all.mean()),
        clause_std=float(clauses_all.std()) or 1.0,
        fused_top=float(fused_all.max()),
    )
    passages = []
    for rank, s in enumerate(top):
        sentence = index.chunks[s.sentence].sentence
        passages.append(Passage(s.sentence, sentence.text, sentence.start, sentence.end,
                                sentence.section, rank, s))
    return Retrieval(query, tuple(passages), stats)
