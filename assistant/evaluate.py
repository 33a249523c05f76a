"""Run the fixed question sets and measure answers, citations, refusals, retrieval, latency and
what the verifier did.

    assistant eval [--part dev|dev2|heldout|news-dev|...|all|heldouts] [--llm local|openai|none]

Each part belongs to a text: the bundled article (dev, dev2, heldout) or one of the unseen texts
under tests/data/texts/ (their dev half may be tuned on; their held-out half is only measured).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .article import Article
from .chain import Engine, Outcome
from .compose import ARTICLE_LANGUAGE_NAME, compose
from .compose import TEXTS as TEMPLATES
from .config import ARTICLE_LANGUAGE, DEFAULT_ARTICLE, Settings
from .facts import names, numbers
from .results import Answer, Citation, Turn
from .text import STOPWORDS, fold, strip_markup
from .verify import NameMatcher

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
TEXTS_DIR = DATA_DIR / "texts"
# part -> (text, question file). dev: tuned on. dev2: written later by helpers who had not seen
# the engine, tuned on afterwards. heldout: never tuned on. The unseen texts' sets were written
# before anything was tuned on them.
PARTS = {"dev": ("iss", DATA_DIR / "questions_dev.yaml"),
         "dev2": ("iss", DATA_DIR / "questions_dev2.yaml"),
         "heldout": ("iss", DATA_DIR / "questions_heldout.yaml")}
# The texts nobody tuned on, each with a dev half (choices are made on the dev halves, by
# leave-one-text-out) and a held-out half (only measured).
TEXTS = ("news", "encyclopedia", "sport", "economy", "science", "culture", "harbour")
for _text in TEXTS:
    for _half in ("dev", "heldout"):
        PARTS[f"{_text}-{_half}"] = (_text, TEXTS_DIR / _text / f"{_half}.yaml")
HELDOUT_PARTS = ("heldout", *(f"{t}-heldout" for t in TEXTS))
DEV_PARTS = ("dev", "dev2", *(f"{t}-dev" for t in TEXTS))


def article_path(text: str) -> Path:
    return DEFAULT_ARTICLE if text == "iss" else TEXTS_DIR / text / "article.txt"


def settings_for(part: str, base: Settings) -> Settings:
    """The settings that read the part's text (each text has its own index directory)."""
    text = PARTS[part][0]
    if text == "iss":
        return base
    return replace(base, article_path=article_path(text),
                   index_dir=Path(base.index_dir) / "texts" / text)


@dataclass(frozen=True)
class Case:
    """One question of the set and what a right answer must hold."""

    id: str
    question: str
    language: str
    kind: str
    expect: str  # "answer" or "refuse"
    history: tuple[tuple[str, str], ...] = ()
    facts: tuple[str, ...] = ()
    cite: tuple[str, ...] = ()
    conversation: str = ""  # the conversation a turn belongs to ("" for a single question)
    turn: int = 0  # its place in the conversation (0 first)


@dataclass(frozen=True)
class CaseResult:
    case: Case
    answer: Answer
    seconds: float
    correct: bool
    fact_ok: bool
    cite_ok: bool
    language_ok: bool
    rank: int | None  # rank of the expected sentence in retrieval (0 = first), None if absent
    rejected: tuple[str, ...] = ()  # why the verifier refused drafts or translations
    unverified: int = 0  # claims in the shown text that its citations do not support
    rules_found: bool | None = None
    proposed_found: bool | None = None
    kind_ok: bool | None = None
    unsupported_words: tuple[str, ...] = ()  # content words shown that nothing supports
    candidates: tuple[dict[str, Any], ...] = ()  # each candidate's signals and whether it is right
    probability: float | None = None


@dataclass
class Report:
    part: str
    outcomes: list[CaseResult] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        answerable = [o for o in self.outcomes if o.case.expect == "answer"]
        refusals = [o for o in self.outcomes if o.case.expect == "refuse"]
        followups = [o for o in self.outcomes if o.case.kind == "followup"]
        turns = [o for o in self.outcomes if o.case.conversation]
        conversations: dict[str, list[CaseResult]] = {}
        for o in turns:
            conversations.setdefault(o.case.conversation, []).append(o)
        said_no = [o for o in self.outcomes if not o.answer.found]
        ranks = [o.rank for o in answerable]
        times = sorted(o.seconds * 1000 for o in self.outcomes)

        def rate(items: list[CaseResult], ok: Any) -> float:
            return round(sum(1 for o in items if ok(o)) / len(items), 3) if items else 0.0

        return {
            "part": self.part,
            "cases": len(self.outcomes),
            "answerable": len(answerable),
            "unanswerable": len(refusals),
            "answer_accuracy": rate(answerable, lambda o: o.correct),
            "fact_accuracy": rate(answerable, lambda o: o.fact_ok and o.answer.found),
            "citation_accuracy": rate(answerable, lambda o: o.cite_ok and o.answer.found),
            "refusal_recall": rate(refusals, lambda o: not o.answer.found),
            "refusal_precision": rate(said_no, lambda o: o.case.expect == "refuse"),
            "false_refusals": rate(answerable, lambda o: not o.answer.found),
            "false_answers": rate(refusals, lambda o: o.answer.found),
            "followup_accuracy": rate(followups, lambda o: o.correct),
            "conversation_turns": len(turns),
            "conversation_turn_accuracy": rate(turns, lambda o: o.correct),
            "conversation_accuracy": round(sum(all(o.correct for o in c) for c in
                                               conversations.values()) / len(conversations), 3)
            if conversations else 0.0,
            "language_accuracy": rate(self.outcomes, lambda o: o.language_ok),
            "recall_at_1": round(sum(1 for r in ranks if r == 0) / len(ranks), 3) if ranks else 0,
            "recall_at_3": round(sum(1 for r in ranks if r is not None and r < 3) / len(ranks), 3)
            if ranks else 0,
            "llm_answers": sum(1 for o in self.outcomes if o.answer.backend != "rules"),
            "drafts_rejected": sum(1 for o in self.outcomes for r in o.rejected
                                   if "translation" not in r),
            "translations_rejected": sum(1 for o in self.outcomes for r in o.rejected
                                         if "translation" in r),
            "unverified_claims_shown": sum(o.unverified for o in self.outcomes),
            "unsupported_text_shown": sum(1 for o in self.outcomes if o.unsupported_words),
            "latency_p50_ms": round(statistics.median(times), 1) if times else 0,
            "latency_p95_ms": round(times[int(0.95 * (len(times) - 1))], 1) if times else 0,
        }

    def failures(self) -> list[CaseResult]:
        return [o for o in self.outcomes if not o.correct]

    def rejections(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            for reason in o.rejected:
                key = reason.split("(")[0].split("'")[0].split("“")[0].strip()[:70]
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def load_cases(part: str) -> list[Case]:
    """The cases of one part of the question set; a conversation's turns are cases of their
    own, in order, marked with the conversation's id."""
    raw = yaml.safe_load(PARTS[part][1].read_text("utf-8")) or []
    cases = []
    for c in raw:
        if c.get("kind") == "conversation":
            for n, t in enumerate(c.get("turns") or []):
                cases.append(_case({**t, "id": f"{c['id']}-t{n + 1}", "kind": "conversation",
                                    "language": t.get("language", c.get("language", "fr"))},
                                   conversation=str(c["id"]), turn=n))
        else:
            cases.append(_case(c))
    return cases


def _case(c: dict[str, Any], conversation: str = "", turn: int = 0) -> Case:
    return Case(
        id=str(c["id"]),
        question=str(c["question"]),
        language=str(c.get("language", "fr")),
        kind=str(c.get("kind", "paraphrase")),
        expect=str(c.get("expect", "answer")),
        history=tuple((str(q), str(a)) for q, a in c.get("history") or []),
        facts=tuple(str(f) for f in c.get("facts") or []),
        cite=tuple(str(x) for x in c.get("cite") or []),
        conversation=conversation,
        turn=turn,
    )


def scripted_turns(engine: Engine, history: tuple[tuple[str, str], ...]) -> list[Turn]:
    """The question set's scripted conversation as typed turns. A scripted answer is written
    "direct. « quote » [1]": its direct answer is the text before the quote and it cites the
    article sentence that holds the quote (this reads the test data, not the product's output)."""
    turns = []
    for question, said in history:
        quote_at = min((said.find(m) for m in "«“\"" if m in said), default=-1)
        head = (said[:quote_at] if quote_at >= 0 else said).strip(" .:")
        quoted = said[quote_at:].strip(" «»“”\"[]0123456789") if quote_at >= 0 else ""
        cited = [s for s in engine.article.sentences if quoted and (
            quoted[:60] in s.text or s.text[:60] in quoted)]
        refused = fold(head).startswith(("l'article ne", "the article does not"))
        citations = [Citation(s.text, s.start, s.end, s.section, 0.0) for s in cited[:1]]
        turns.append(Turn(question, Answer(said, not refused and bool(citations), citations,
                                           direct="" if refused else head)))
    return turns


def right(case: Case, answer: Answer) -> tuple[bool, bool, bool, bool]:
    """(correct, fact_ok, cite_ok, language_ok) of `answer` for `case`."""
    text = fold(answer.text)
    fact_ok = not case.facts or any(fold(f) in text for f in case.facts)
    first = answer.citations[0].text if answer.citations else ""
    cite_ok = not case.cite or any(c in first for c in case.cite)
    language_ok = answer.language == case.language
    if case.expect == "refuse":
        correct = not answer.found
    else:
        correct = answer.found and fact_ok and cite_ok and language_ok
    return correct, fact_ok, cite_ok, language_ok


def judge(case: Case, outcome: Outcome, seconds: float, rank: int | None,
          matcher: NameMatcher | None = None, article: Article | None = None,
          context: str = "", article_language: str = ARTICLE_LANGUAGE) -> CaseResult:
    """Is the answer right for this case? Each candidate the decision weighed is judged too
    (its signals and whether it was right are what `assistant calibrate` fits on)."""
    answer = outcome.answer
    correct, fact_ok, cite_ok, language_ok = right(case, answer)
    decision = outcome.decision
    candidates: list[dict[str, Any]] = []
    if decision is not None and outcome.found is not None and article is not None:
        for c in decision.candidates:
            shown = compose(c.draft, outcome.found, article, answer.language, article_language)
            candidates.append({"name": c.name, "features": c.features,
                               "right": case.expect == "answer" and right(case, shown)[0]})
    return CaseResult(
        case, answer, seconds, correct, fact_ok, cite_ok, language_ok, rank,
        rejected=decision.rejected if decision else (),
        unverified=unsupported_claims(answer, matcher or NameMatcher(None),
                                      article.text if article else ""),
        rules_found=decision.rules.found if decision else None,
        proposed_found=decision.proposed.found if decision and decision.proposed else None,
        kind_ok=decision.kind_ok if decision else None,
        unsupported_words=tuple(unsupported_words(answer, context,
                                                  article.text if article else "")),
        candidates=tuple(candidates),
        probability=decision.probability if decision else None,
    )


def unsupported_claims(answer: Answer, matcher: NameMatcher, article_text: str = "") -> int:
    """A check of the shown text, after composition: numbers and names outside the quotes and
    translations that no citation states (0 when everything shown is supported). Quoted text
    that is word for word in the article (a title) counts as quoted."""
    if not answer.found:
        return 0
    said = _outside_quotes(answer, article_text)
    for label in _LABELS:
        said = said.replace(label, " ")
    said = re.sub(r"\[\d+\]", " ", said)
    source = " ".join(c.text for c in answer.citations)
    extra = [n for n in numbers(said) if n not in numbers(source)]
    unknown = [n for n in names(said) if not matcher.stated(n, source)]
    return len(extra) + len(unknown)


def _outside_quotes(answer: Answer, article_text: str) -> str:
    """The shown text without what it quotes from the article, its citations and their shown
    translations: what the assistant says in its own words."""
    said = _without_quoted(answer.text, article_text)
    for c in answer.citations:
        said = said.replace(c.text, " ")
        if c.translation:
            said = said.replace(c.translation, " ")
    return said


def _without_quoted(said: str, article_text: str) -> str:
    """`said` without what it quotes word for word from the article: spans between quotes,
    and the title and subtitle (which may hold quotes of their own)."""
    for line in article_text.splitlines()[:2]:
        if line.strip():
            said = said.replace(line.strip(), " ")
    for quoted in re.findall(r"«\s*(.+?)\s*»|“(.+?)”", said):
        span = quoted[0] or quoted[1]
        if span and span in article_text:
            said = said.replace(span, " ")
    return said


# The answer templates' own words that look like names.
_LABELS = sorted({texts[key].format(language=names[reader]).rstrip(" :")
                  for reader, texts in TEMPLATES.items() for key in ("according", "according_other")
                  for names in ARTICLE_LANGUAGE_NAME.values()}
                 | {"The article is titled", "L'article s'intitule", "Machine translation of",
                    "Traduction automatique de"}, key=len, reverse=True)
# Every literal fragment of the answer templates: words the assistant's own frame says.
_FRAME = sorted({part.strip() for texts in TEMPLATES.values() for template in texts.values()
                 for part in re.split(r"\{[^}]*\}", template) if part.strip()}
                | {n for names in ARTICLE_LANGUAGE_NAME.values() for n in names.values()},
                key=len, reverse=True)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_ELIDED = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)'")


def unsupported_words(answer: Answer, context: str, article_text: str = "") -> list[str]:
    """An independent check of the shown text (not the verifier's code): the content words
    outside the quotes, their shown translations and the answer's frame that no cited sentence,
    no shown translation, no question of the conversation and not the short answer state. Two
    words match when they share their first five letters (or are equal, when shorter)."""
    if not answer.found:
        return []
    said = _outside_quotes(answer, article_text)
    support = " ".join([context, answer.direct, *(c.text for c in answer.citations),
                        *(c.translation for c in answer.citations)])
    for fragment in _FRAME:
        said = said.replace(fragment, " ")
    known = {_key(w) for w in _tokens(support)}
    return [w for w in _tokens(said) if _key(w) not in known]


def _tokens(text: str) -> list[str]:
    out = []
    for raw in re.findall(r"[\w'’-]+", text.replace("’", "'")):
        word = _ELIDED.sub("", fold(raw))
        for part in _TOKEN.findall(word):
            if len(part) >= 3 and part not in STOPWORDS:
                out.append(part)
    return out


def _key(word: str) -> str:
    return word[:5]


def ready(engine: Engine) -> Engine:
    """`engine` with its LLM holding the article (read, or its saved state loaded) and the
    article's stored work done (unless its settings turn it off), as a reader finds it once the
    engine has been up a while: no question of an evaluation gets the quick answer because the
    article is still being read."""
    warm = getattr(engine.llm, "warm", None)
    if warm is not None:
        warm()
    if engine.work is not None and engine.settings.article_work:
        engine.work.run()
    return engine


def run(engine: Engine, part: str, cases: list[Case] | None = None,
        write: bool = True) -> Report:
    """Ask every case of `part` and judge the answers. A conversation's turns are asked in
    order, each with the assistant's own earlier `Answer`s as its history, as the page keeps
    them. `write=False`: the decision only (the verified short answer and its quote), without
    what the LLM writes after it."""
    report = Report(part)
    sentences = engine.article.sentences
    history: list[Turn] = []
    for case in cases if cases is not None else load_cases(part):
        if case.conversation:
            if case.turn == 0:
                history = []
            turns = list(history)
        else:
            turns = scripted_turns(engine, case.history)
        started = time.perf_counter()
        if write:
            outcome = engine.ask_detailed(case.question, turns)
        else:
            outcome = next(iter(engine.steps(case.question, turns)))
        seconds = time.perf_counter() - started
        if case.conversation:
            history.append(Turn(case.question, outcome.answer))
        rank = None
        if case.expect == "answer":
            scored = engine.searcher.score(strip_markup(outcome.answer.query or case.question),
                                           engine.settings.top_k)
            order = [s.sentence for s in scored]
            targets = [s.index for s in sentences if any(c in s.text for c in case.cite)]
            hits = [order.index(t) for t in targets if t in order]
            rank = min(hits) if hits else None
        context = " ".join([case.question, *(t.question for t in turns)])
        report.outcomes.append(judge(case, outcome, seconds, rank, engine.matcher,
                                     engine.article, context, engine.checks.language))
    return report
