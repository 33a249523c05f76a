"""The pipeline as one LangChain runnable: question + conversation -> standalone query ->
retrieval -> drafts (an LLM's first when there is one, then the rules) -> verify -> `Answer`;
and the `Engine` that loads it once per process."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from .answerer import RulesAnswerer, Thresholds
from .article import Article, load_article
from .article_work import ArticleWork, article_language
from .calibration import load_model
from .cancel import cancel_scope
from .compose import compose
from .condense import standalone
from .config import Settings
from .decide import Checks, Decision, decide, written
from .drafts import Answerer, UsesArticleWork
from .embed import make_embeddings
from .errors import EmptyQuestionError, HistoryError, QuestionTooLongError
from .gate import screen
from .language import detect, warm_up
from .names import NameChecker
from .question import Question, analyse
from .results import Answer, Turn
from .retrieve import HybridRetriever, Retrieval, Searcher
from .store import OnProgress, open_index
from .support import Aligner
from .text import clean_question, strip_markup
from .verify import WORD_MIN_COSINE, NameMatcher

log = logging.getLogger(__name__)

# A conversation: `Turn`s (or (question, Answer) pairs, as the chat page keeps them). A
# (question, answer text) pair is accepted too: its question is answered again by the rules, so
# that nothing re-reads the wording of an answer.
History = Sequence[Turn | tuple[str, Answer] | tuple[str, str]]
MAX_TURNS = 8  # the last turns a follow-up may lean on; older ones are dropped
TURN_CHARS = 500  # what is kept of an earlier question


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


@dataclass(frozen=True)
class Outcome:
    """An answer with how it was reached (for evaluation and logs)."""

    answer: Answer
    decision: Decision | None  # None: the question was turned away before any draft
    question: Question | None = None
    found: Retrieval | None = None


@dataclass
class Step:
    """What flows through the chain for one question."""

    question: Question
    turns: tuple[Turn, ...]
    query: str  # the standalone query that is searched
    found: Retrieval | None = None


def build_chain(searcher: Searcher, checks: Checks, rules: Answerer,
                llm: Answerer | None = None, top_k: int = 8) -> Runnable:
    """LCEL: {question, turns} -> understand -> retrieve -> decide (drafts, verified) -> Answer.
    `llm` is tried first when given; every draft passes the verifier, and the rules answer
    when a draft fails."""

    def understand(inputs: dict[str, Any]) -> Step:
        turns: tuple[Turn, ...] = tuple(inputs.get("turns") or ())
        rewritten = standalone(inputs["question"], turns)
        conversation = detect(strip_markup(turns[-1].question)) if turns else ""
        parsed = analyse(inputs["question"], kind_from=rewritten.kind_from,
                         default_language=conversation, conversation=rewritten.conversation)
        return Step(parsed, turns, rewritten.query)

    def retrieve(step: Step) -> Step:
        step.found = searcher.retrieve(strip_markup(step.query), top_k)
        return step

    def answer_step(step: Step) -> Outcome:
        assert step.found is not None
        decision = decide(step.question, step.turns, step.found, checks, rules, llm)
        answer = compose(decision.draft, step.found, checks.article, step.question.language,
                         checks.language)
        return Outcome(answer, decision, step.question, step.found)

    return RunnableLambda(understand) | RunnableLambda(retrieve) | RunnableLambda(answer_step)


class Engine:
    """Everything loaded once: article, embeddings, index, retriever, answerers and chain."""

    def __init__(self, settings: Settings, rebuild: bool = False,
                 llm: Answerer | None = None, progress: OnProgress | None = None) -> None:
        self.settings = settings
        self.article: Article = load_article(settings.article_path, settings.max_article_chars)
        self.embeddings = make_embeddings(settings)
        self.index = open_index(settings, self.article, self.embeddings, rebuild=rebuild,
                                progress=progress)
        self.searcher = Searcher(self.index, self.embeddings)
        self.retriever = HybridRetriever(searcher=self.searcher, k=settings.top_k)
        self.names = NameChecker(self.index, self.embeddings)
        self.matcher = NameMatcher(self.embeddings)
        self.aligner = Aligner(self.embeddings, WORD_MIN_COSINE)
        self.checks = Checks(self.article, self.matcher, self.aligner,
                             article_language(self.article),
                             load_model() if settings.decision == "measured" else None)
        self.rules = RulesAnswerer(self.index, self.names, Thresholds(min_margin=settings.min_margin))
        if llm is None and settings.llm != "none":
            from .llm import make_llm_answerer

            llm = make_llm_answerer(settings, self.article, self.index.manifest)
        self.llm = llm
        self.work: ArticleWork | None = None
        if llm is not None and hasattr(llm, "translate"):
            model = (settings.llm_model or settings.llm_url) if settings.llm == "openai" else str(
                settings.llm_model_path)
            self.work = ArticleWork(self.article, llm, self.matcher, self.aligner,
                                    Path(settings.index_dir), self.index.manifest,
                                    f"{getattr(llm, 'name', '')}:{model}")
            if isinstance(llm, UsesArticleWork):
                llm.work = self.work
        if llm is not None:  # read the article into the LLM while the first question is typed,
            # then translate its sentences and write its overviews, once, in the background
            threading.Thread(target=self._prepare_llm, name="llm-article-work",
                             daemon=True).start()
        self.chain = build_chain(self.searcher, self.checks, self.rules, llm, settings.top_k)
        self.rules_chain = build_chain(self.searcher, self.checks, self.rules, None,
                                       settings.top_k)
        warm_up()

    def _prepare_llm(self) -> None:
        warm = getattr(self.llm, "warm", None)
        if warm is not None:
            warm()
        if self.work is not None and self.settings.article_work:
            self.work.run()

    def with_llm(self, llm: Answerer | None) -> Engine:
        """This engine (same article, models and index) answering with another LLM backend."""
        other = copy.copy(self)
        other.llm = llm
        if isinstance(llm, UsesArticleWork) and self.work is not None and llm.work is None:
            llm.work = self.work
        other.chain = build_chain(self.searcher, self.checks, self.rules, llm,
                                  self.settings.top_k)
        return other

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer one question, with the conversation so far."""
        return self.ask_detailed(question, history).answer

    def ask_rules(self, question: str, history: History | None = None) -> Answer:
        """The rules' answer alone (no LLM): the fast path."""
        return self.ask_detailed(question, history, rules_only=True).answer

    def ask_detailed(self, question: str, history: History | None = None,
                     rules_only: bool = False, cancel: threading.Event | None = None) -> Outcome:
        """The answer and how it was reached."""
        last: Outcome | None = None
        for last in self.steps(question, history, rules_only, cancel):
            pass
        assert last is not None
        return last

    def steps(self, question: str, history: History | None = None,
              rules_only: bool = False,
              cancel: threading.Event | None = None) -> Iterator[Outcome]:
        """The answer as it grows, each step verified before it is yielded: first the verified
        short answer and its quote (with the stored translation, for a reader of another
        language), then what the LLM writes for the reader (translations not stored yet, an
        answer sentence). LLM calls stop when `cancel` is set (the page's Stop)."""
        cleaned = validate_question(question, self.settings)
        turns = self.turns(history)
        if (refused := screen(cleaned, turns)) is not None:  # no words, another language
            yield Outcome(refused, None)
            return
        chain = self.rules_chain if rules_only else self.chain
        with cancel_scope(cancel):
            outcome: Outcome = chain.invoke({"question": cleaned, "turns": turns})
        yield outcome
        if rules_only or self.llm is None or outcome.decision is None or outcome.question is None:
            return
        assert outcome.found is not None
        steps = written(outcome.question, outcome.decision, self.llm, self.checks, tuple(turns))
        while True:
            with cancel_scope(cancel):
                decision = next(steps, None)
            if decision is None or (cancel is not None and cancel.is_set()):
                return
            answer = compose(decision.draft, outcome.found, self.article,
                             outcome.question.language, self.checks.language)
            yield Outcome(answer, decision, outcome.question, outcome.found)

    def stream(self, question: str, history: History | None = None,
               cancel: threading.Event | None = None) -> Iterator[str | Answer]:
        """The answer's text in pieces as they are verified, then the final `Answer`."""
        shown = ""
        final: Answer | None = None
        for outcome in self.steps(question, history, cancel=cancel):
            final = outcome.answer
            if final.text.startswith(shown) and len(final.text) > len(shown):
                yield final.text[len(shown):]
                shown = final.text
        assert final is not None
        yield final

    def turns(self, history: History | None) -> list[Turn]:
        """The conversation as typed turns (the last MAX_TURNS); HistoryError if malformed."""
        if history is None:
            return []
        if isinstance(history, str | bytes) or not isinstance(history, Sequence):
            raise HistoryError("the history must be a list of (question, answer) turns")
        items = list(history)[-MAX_TURNS:]
        turns: list[Turn] = []
        for n, item in enumerate(items):
            if isinstance(item, Turn):
                item = (item.question, item.answer)
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise HistoryError("each history turn must be a (question, answer) pair")
            question, said = item
            if not isinstance(question, str):
                raise HistoryError("a history turn's question must be text")
            asked = clean_question(question[: 4 * TURN_CHARS])[:TURN_CHARS]
            if isinstance(said, Answer):
                turns.append(Turn(asked, said))
            elif isinstance(said, str):
                # Only the last turn's answer is worth answering again: a follow-up leans on
                # it; earlier text answers stand as questions alone.
                if n == len(items) - 1 and strip_markup(asked):
                    turns.append(Turn(asked, self.ask_rules(asked, turns)))
                else:
                    turns.append(Turn(asked, Answer("", False)))
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


def answer(question: str, history: History | None = None, *, article: str | Path | None = None,
           settings: Settings | None = None, engine: Engine | None = None) -> Answer:
    """Answer a question about the article, citing the sentences the answer comes from.

    `article`: the article's text or a `pathlib.Path` to it (None: the settings' article, the
    bundled one by default); the citations' offsets index that text."""
    return _engine(question, article, settings, engine).ask(question, history)


def answer_stream(question: str, history: History | None = None, *,
                  article: str | Path | None = None, settings: Settings | None = None,
                  engine: Engine | None = None,
                  cancel: threading.Event | None = None) -> Iterator[str | Answer]:
    """Like `answer`, streamed: text pieces as they are verified, then the final `Answer`.
    `cancel`, when set, ends the answer being written (passed on to `Engine.stream`)."""
    yield from _engine(question, article, settings, engine).stream(question, history,
                                                                  cancel=cancel)


def _engine(question: str, article: str | Path | None, settings: Settings | None,
            engine: Engine | None) -> Engine:
    """The engine that answers; bad input (question, then article) fails before models load."""
    if engine is not None and article is not None:
        raise ValueError("give answer() an article or an engine, not both")
    settings = settings or (engine.settings if engine else None) or Settings.from_env()
    validate_question(question, settings)
    if engine is not None:
        return engine
    from .library import engine_for

    return engine_for(article, settings)
