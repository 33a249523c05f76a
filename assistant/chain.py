"""The pipeline as one LangChain runnable: question + history -> standalone query ->
retriever -> answerer -> `Answer`; and the `Engine` that loads it once per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from .answerer import Thresholds, answer_from
from .article import Article, load_article
from .condense import standalone
from .config import Settings
from .embed import make_embeddings
from .errors import EmptyQuestionError, HistoryError, QuestionTooLongError
from .language import detect, warm_up
from .names import NameChecker
from .question import analyse
from .results import Answer, Turn
from .retrieve import HybridRetriever, Searcher
from .store import ArticleIndex, open_index
from .text import clean_question, strip_markup

log = logging.getLogger(__name__)

# A conversation: `Turn`s (or (question, Answer) pairs, as the chat page keeps them). A
# (question, answer text) pair is accepted too: its question is answered again by the rules, so
# that nothing re-reads the wording of an answer.
History = Sequence[Turn | tuple[str, Answer] | tuple[str, str]]
MAX_TURNS = 8  # the last turns a follow-up may lean on; older ones are dropped
Answerer = Callable[[dict[str, Any]], Answer]


def validate_question(question: object, settings: Settings) -> str:
    """The cleaned question; raise a user-facing error for an empty or oversized one."""
    if not isinstance(question, str):
        raise EmptyQuestionError("the question must be text")
    cleaned = clean_question(question)
    if not strip_markup(cleaned):
        raise EmptyQuestionError("the question is empty: type a question about the article")
    if len(cleaned) > settings.max_question_chars:
        raise QuestionTooLongError(
            f"the question is {len(cleaned):,} characters long; the limit is "
            f"{settings.max_question_chars:,} (ASSISTANT_MAX_QUESTION_CHARS): shorten it"
        )
    return cleaned


def build_chain(retriever: HybridRetriever, index: ArticleIndex, names: NameChecker,
                answerer: Answerer | None = None, thresholds: Thresholds | None = None) -> Runnable:
    """LCEL: {question, history} -> condense -> retrieve -> answer. `answerer` is replaceable
    (e.g. by an LLM generator): it receives {question, query, docs, index} and returns Answer."""
    limits = thresholds or Thresholds()

    def condense(inputs: dict[str, Any]) -> dict[str, Any]:
        history = inputs.get("history") or []
        rewritten = standalone(inputs["question"], history)
        conversation = detect(strip_markup(history[-1][0])) if history else ""
        parsed = analyse(inputs["question"], kind_from=rewritten.kind_from,
                         default_language=conversation, conversation=rewritten.conversation)
        return {**inputs, "query": rewritten.query, "parsed": parsed}

    def builtin(inputs: dict[str, Any]) -> Answer:
        parsed = inputs["parsed"]
        unknown = names.unknown(parsed.search)
        return answer_from(parsed, inputs["docs"], index, inputs["query"], limits, unknown)

    retrieve: Runnable = RunnableLambda(lambda x: strip_markup(x["query"])) | retriever
    return (
        RunnableLambda(condense)
        | RunnablePassthrough.assign(docs=retrieve)
        | RunnableLambda(answerer or builtin)
    )


class Engine:
    """Everything loaded once: article, embeddings, index, retriever and chain."""

    def __init__(self, settings: Settings, rebuild: bool = False) -> None:
        self.settings = settings
        self.article: Article = load_article(settings.article_path)
        self.embeddings = make_embeddings(settings)
        self.index = open_index(settings, self.article, self.embeddings, rebuild=rebuild)
        self.searcher = Searcher(self.index, self.embeddings)
        self.retriever = HybridRetriever(searcher=self.searcher, k=settings.top_k)
        thresholds = Thresholds(min_margin=settings.min_margin)
        self.names = NameChecker(self.index, self.embeddings)
        self.chain = build_chain(self.retriever, self.index, self.names, thresholds=thresholds)
        warm_up()

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer one question, with the conversation so far."""
        cleaned = validate_question(question, self.settings)
        turns = self.turns(history)
        pairs = [(t.question, t.answer.text) for t in turns]
        result: Answer = self.chain.invoke({"question": cleaned, "history": pairs})
        return result

    def stream(self, question: str, history: History | None = None) -> Iterator[str | Answer]:
        """The answer's text in pieces as they are verified, then the final `Answer`."""
        result = self.ask(question, history)
        yield result.text
        yield result

    def turns(self, history: History | None) -> list[Turn]:
        """The conversation as typed turns (the last MAX_TURNS); HistoryError if malformed."""
        if history is None:
            return []
        if isinstance(history, str | bytes) or not isinstance(history, Sequence):
            raise HistoryError("the history must be a list of (question, answer) turns")
        turns: list[Turn] = []
        for item in list(history)[-MAX_TURNS:]:
            if isinstance(item, Turn):
                turns.append(item)
                continue
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise HistoryError("each history turn must be a (question, answer) pair")
            question, said = item
            if not isinstance(question, str):
                raise HistoryError("a history turn's question must be text")
            asked = clean_question(question)[: self.settings.max_question_chars]
            if isinstance(said, Answer):
                turns.append(Turn(asked, said))
            elif isinstance(said, str):
                if strip_markup(asked):
                    turns.append(Turn(asked, self.ask(asked, turns)))
            else:
                raise HistoryError("a history turn's answer must be an Answer or text")
        return turns


_engines: dict[Settings, Engine] = {}
_lock = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for these settings, loaded on first use (thread-safe)."""
    settings = settings or Settings.from_env()
    with _lock:
        engine = _engines.get(settings)
        if engine is None:
            engine = Engine(settings)
            _engines[settings] = engine
        return engine


def answer(question: str, history: History | None = None, *, settings: Settings | None = None,
           engine: Engine | None = None) -> Answer:
    """Answer a question about the article, citing the sentences the answer comes from."""
    settings = settings or (engine.settings if engine else None) or Settings.from_env()
    validate_question(question, settings)  # bad input fails before any model loads
    return (engine or get_engine(settings)).ask(question, history)


def answer_stream(question: str, history: History | None = None, *,
                  settings: Settings | None = None,
                  engine: Engine | None = None) -> Iterator[str | Answer]:
    """Like `answer`, streamed: text pieces as they are verified, then the final `Answer`."""
    settings = settings or (engine.settings if engine else None) or Settings.from_env()
    validate_question(question, settings)
    yield from (engine or get_engine(settings)).stream(question, history)
