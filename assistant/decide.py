"""Which draft the reader gets: the LLM proposes, the verifier checks, the rules stand behind.

Every draft goes through `verify`. A draft that fails is never shown: the next one is tried, and
the rules' own draft (or a refusal) is always there. The order and the few signals that decide
between an LLM's answer and the rules' were measured (README, "How the LLM and the rules
decide"), not guessed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

from .article import Article
from .calibration import Model, signals
from .calibration import choose as calibration_choose
from .drafts import Answerer, Draft
from .question import Question
from .results import Turn
from .retrieve import Retrieval
from .support import Aligner
from .verify import NameMatcher, Verdict, verify

log = logging.getLogger(__name__)


class LLMUnavailable(Exception):
    """The LLM cannot answer now (not installed yet, failed to load, timed out): the rules do."""


class LLMBusy(LLMUnavailable):
    """The LLM would make this reader wait too long (its queue, another article being read):
    the rules' verified answer is given at once, as the quick answer."""


class LLMPreempted(LLMUnavailable):
    """A background call (the article's stored work) gave way to readers: stopped for one, or
    past its deadline behind them. It may be tried again later."""


QUICK = "quick"  # Answer.backend of the rules' answer given at once because the LLM was busy


@dataclass(frozen=True)
class Checks:
    """What the verifier needs besides the draft: the article, its language, the name matcher
    and the translation aligner."""

    article: Article
    matcher: NameMatcher
    aligner: Aligner | None = None
    language: str = "fr"  # the article's
    model: Model | None = None  # the measured decision (calibration.py); None: the rules' order


@dataclass(frozen=True)
class Candidate:
    """A verified answer that could be shown, and the signals the decision weighs it by."""

    name: str  # "rules" or "llm"
    draft: Draft
    features: dict[str, float]


def context_of(question: Question, turns: tuple[Turn, ...]) -> str:
    """The words an answer sentence may take from the conversation: the question and the
    earlier questions (never the wording of earlier answers)."""
    return " ".join([question.search, *(t.question for t in turns)])


@dataclass(frozen=True)
class Decision:
    """The draft to show, and what was tried before it."""

    draft: Draft
    rules: Draft  # the rules' draft (verified)
    proposed: Draft | None = None  # the LLM's draft, verified or not
    rejected: tuple[str, ...] = ()  # why the verifier refused a draft or a translation
    llm_error: str = ""
    kind_ok: bool | None = None  # the LLM's answer holds the kind of entity asked for
    candidates: tuple[Candidate, ...] = ()  # what the measured decision chose among
    probability: float | None = None  # the chosen candidate's probability of being right


def decide(question: Question, turns: tuple[Turn, ...], found: Retrieval, checks: Checks,
           rules: Answerer, llm: Answerer | None) -> Decision:
    """The verified draft for this question."""
    article = checks.article
    given = set(found.given())
    if question.kind == "overview":
        given = {s.index for s in article.sentences}
    context = context_of(question, turns)

    def check(draft: Draft, allowed: set[int]) -> Verdict:
        return verify(draft, allowed, article, checks.matcher, question.language, context,
                      checks.language, checks.aligner)

    ruled = with_stored_translations(rules.draft(question, turns, found), llm,
                                     question.language, checks.language)
    checked = check(ruled, given)
    if not checked.ok:  # the rules cite only what they were given: this is a bug, not a case
        log.error("the rules' draft failed verification: %s", checked.reason)
        ruled = Draft("rules", False, reason=f"no verified answer ({checked.reason})")
    else:
        ruled = checked.draft
    if llm is None or ruled.unknown_names:
        return Decision(ruled, ruled)
    try:
        proposed = llm.draft(question, turns, found)
    except LLMUnavailable as exc:
        if isinstance(exc, LLMBusy):
            quick = replace(ruled, backend=QUICK)
            return Decision(_noted(quick, f"quick answer: {exc}"), ruled, llm_error=str(exc))
        return Decision(ruled, ruled, llm_error=str(exc))
    proposed = with_stored_translations(proposed, llm, question.language, checks.language)
    verdict = check(proposed, given)
    rejected = tuple(f"{proposed.backend}: {r}" for r in verdict.dropped)
    holds = getattr(rules, "holds_kind", None)
    verified: Draft | None = verdict.draft if verdict.ok else None
    kind_ok = holds(question, verified) if holds is not None and verified is not None else None
    if not verdict.ok:
        log.info("%s draft rejected: %s", proposed.backend, verdict.reason)
        rejected = (*rejected, f"{proposed.backend}: {verdict.reason}")
    candidates = []
    for name, draft in (("rules", ruled), ("llm", verified)):
        if draft is not None and draft.found and draft.cites and not draft.overview:
            fits = holds(question, draft) if holds is not None else True
            candidates.append(Candidate(name, draft, signals(
                question, found, ruled, verified, draft, fits, bool(turns), checks.language)))
    if question.kind == "overview" or checks.model is None:
        if verified is None:
            # The reader's `reason` says that, not what: the rejected text is unverified.
            shown = _noted(ruled, f"the {proposed.backend} LLM's draft failed verification")
        else:
            shown = choose(question, ruled, verified)
        return Decision(shown, ruled, proposed, rejected, kind_ok=kind_ok,
                        candidates=tuple(candidates))
    pick, probability = pick_candidate(checks.model, [c.features for c in candidates])
    if pick is None:
        closest = candidates[0].draft.cites[0] if candidates else ruled.closest
        shown = Draft(ruled.backend, False, closest=closest,
                      reason=f"no answer is likely enough to be right (p={probability:.2f} < "
                             f"{checks.model.threshold:.2f})")
    else:
        chosen = candidates[pick]
        shown = _noted(chosen.draft, f"chosen by the measured decision (p={probability:.2f})")
    return Decision(shown, ruled, proposed, rejected, kind_ok=kind_ok,
                    candidates=tuple(candidates), probability=probability)


def pick_candidate(model: Model, features: list[dict[str, float]]) -> tuple[int | None, float]:
    """The candidate the model shows (None: refuse) and its probability of being right."""
    return calibration_choose(model, [{"features": f} for f in features])


def with_stored_translations(draft: Draft, llm: Answerer | None, language: str,
                             article_language: str) -> Draft:
    """`draft` with the stored translation of each sentence it cites, for a reader of another
    language than the article's (computed once per article: no waiting)."""
    work = getattr(llm, "work", None)
    if work is None or language == article_language or not draft.found:
        return draft
    stored = {i: t for i in draft.cites if i not in draft.translations
              and (t := work.translation(i, language))}
    return replace(draft, translations={**draft.translations, **stored}) if stored else draft


def written(question: Question, decision: Decision, llm: Answerer | None, checks: Checks,
            turns: tuple[Turn, ...] = ()) -> Iterator[Decision]:
    """The decision as the LLM writes it for the reader, step by step, each step verified: for
    a reader of another language than the article's, the translation of each quote that was
    not stored yet; then an answer sentence in the reader's language, checked word by word
    against the cited sentences (or their verified translations). A step that fails
    verification is left out: the verified short answer and its quote stand."""
    draft = decision.draft
    claim = getattr(llm, "write_claim", None)
    translate = getattr(llm, "translate", None)
    if llm is None or claim is None or not draft.found or draft.overview:
        return
    given = set(draft.cites)
    rejected = list(decision.rejected)
    context = context_of(question, turns)

    def check(trial: Draft) -> Verdict:
        return verify(trial, given, checks.article, checks.matcher, question.language, context,
                      checks.language, checks.aligner)

    if question.language != checks.language and translate is not None:
        for index in draft.cites:
            if index in draft.translations:
                continue
            try:
                translation = translate(index, question.language)
            except LLMUnavailable as exc:
                yield replace(decision, draft=draft, rejected=tuple(rejected), llm_error=str(exc))
                return
            checked = check(replace(draft, translations={**draft.translations,
                                                          index: translation}))
            if checked.ok and index in checked.draft.translations:
                draft = checked.draft
            else:
                reason = checked.dropped[0] if checked.dropped else checked.reason
                rejected.append(f"{llm.name} translation: {reason}")
            yield replace(decision, draft=draft, rejected=tuple(rejected))
    try:
        proposed = claim(question, draft)
    except LLMUnavailable as exc:
        yield replace(decision, draft=draft, rejected=tuple(rejected), llm_error=str(exc))
        return
    if proposed is not draft:
        checked = check(proposed)
        if checked.ok:
            draft = checked.draft
        else:
            rejected.append(f"{llm.name} answer sentence: {checked.reason}")
            draft = _noted(draft, "the LLM's answer sentence failed verification")
        yield replace(decision, draft=draft, rejected=tuple(rejected))


def choose(question: Question, ruled: Draft, proposed: Draft) -> Draft:
    """Between two verified drafts. The rules' refusal stands (the question asks for a kind of
    answer no retrieved sentence holds, or nothing stands out): the small LLM answers questions
    the article cannot answer with a phrase on the same topic. Otherwise the LLM's answer when
    it found one, else the rules'. Measured on the dev halves (84 cases: dev2 and the unseen
    texts' dev halves): right answers 68% (rules alone) -> 79%, refusals 74% -> 74%, where
    trusting every LLM answer gave 82% but 41% refusals (README, "How the LLM and the rules
    decide")."""
    if proposed.found and proposed.overview:
        return proposed
    if not ruled.found:
        return ruled
    return proposed if proposed.found else ruled


def _noted(draft: Draft, note: str) -> Draft:
    return replace(draft, reason=f"{draft.reason}; {note}" if draft.reason else note)
