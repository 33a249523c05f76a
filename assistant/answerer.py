"""The built-in answerer (no LLM): choose the sentence that answers, extract the direct answer
when the question asks for a year, a name, a place or a number, quote it verbatim, or say that
the article does not say."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .article import Article
from .config import ARTICLE_LANGUAGE, Settings
from .drafts import Draft
from .facts import normalise
from .names import NameChecker
from .nlp import Entity
from .question import Question
from .results import Turn
from .retrieve import QueryStats, Retrieval, Scored
from .store import ArticleIndex, Chunk
from .text import STOPWORDS, fold, stems, words

# Calibration: measured on the dev and dev2 question sets, never on held-out (README, "Quality").
MIN_MARGIN = Settings.min_margin  # the chosen cosine above the article's mean cosine
TYPED_EASING = 0.01
CROSS_EASING = 0.003  # cosines across languages crowd closer together than within one
MIN_RELATED = 0.0  # below this margin, not even a closest passage is shown
CANDIDATES = 4  # how far down the ranking a sentence of the right type may be taken from
LABEL_BONUS = 2.0  # merit for holding the preferred kind of answer (a person for "who")
CLAUSE_WEIGHT = 1.0  # merit per standard deviation of the answer clause's closeness
FOCUS_BONUS = 3.0  # a follow-up's "he"/"it": merit for a sentence naming who or what it stands for
MIN_SHARE = 0.5  # a sentence taken for its answer type must score at least this share of the top
LEAD_SENTENCES = 2  # an overview without an LLM quotes this many sentences of the lead

_PREPOSITIONS = re.compile(
    r"(?:\b(?:jusqu['’]en|jusqu['’]à|d['’]ici|depuis|dès|avant|après|en|vers|à partir de|"
    r"au|aux|à|dans|until|by|since|before|after|in|from|at)\s+)$",
    re.IGNORECASE,
)



@dataclass(frozen=True)
class Thresholds:
    min_margin: float = MIN_MARGIN
    min_related: float = MIN_RELATED


class RulesAnswerer:
    """The answerer without an LLM: the fast path, and the fallback when a draft fails."""

    name = "rules"

    def __init__(self, index: ArticleIndex, names: NameChecker,
                 thresholds: Thresholds = Thresholds()) -> None:
        self.index = index
        self.names = names
        self.thresholds = thresholds

    def holds_kind(self, question: Question, draft: Draft) -> bool:
        """Whether a draft's direct answer holds an entity of the kind the question asks for
        (a year for "when", a person for "who"...), in a role the question allows. True when
        the question asks for no particular kind."""
        if not question.wants or not draft.found or not draft.cites:
            return True
        chunk = self.index.chunks[draft.cites[0]]
        wanted = normalise(draft.direct)
        text = chunk.sentence.text
        return any(normalise(text[e.start:e.end]) in wanted or wanted in normalise(
            text[e.start:e.end]) for e in answer_entities(question, chunk))

    def draft(self, question: Question, turns: tuple[Turn, ...], found: Retrieval) -> Draft:
        if question.kind == "overview":
            return overview_draft(self.index.article)
        return draft_from(question, found, self.index, self.thresholds,
                          self.names.unknown(question.search))


def overview_draft(article: Article) -> Draft:
    """Without an LLM, an overview is the article's lead, quoted (the title and subtitle head
    the answer as its claim)."""
    lead = tuple(s.index for s in article.sentences[:LEAD_SENTENCES])
    return Draft("rules", True, cites=lead, overview=True, reason="overview: the lead, quoted")


def draft_from(question: Question, found: Retrieval, index: ArticleIndex,
               thresholds: Thresholds = Thresholds(), unknown_names: Sequence[str] = ()) -> Draft:
    """Pick the answering sentence among the retrieved passages, or decide the article does not
    say. `unknown_names`: names the question mentions and the article does not."""
    if not found.passages:
        return Draft("rules", False, reason="nothing was retrieved")
    if unknown_names:
        names = tuple(re.sub(r"['’]s$", "", n) for n in unknown_names)
        return Draft("rules", False, unknown_names=names,
                     reason=f"the article never mentions {', '.join(names)}")
    stats = found.stats
    candidates = _follow_up_order(
        question, [(p.scores, index.chunks[p.sentence]) for p in found.passages])

    chosen = choose(question, candidates, stats)
    if chosen is None:
        top_scores, top_chunk = candidates[0]
        wanted = f"a {question.kind} answer" if question.wants or question.kind == "why" else (
            "an answer")
        return _refusal(top_chunk, top_scores, stats, thresholds,
                        f"no retrieved sentence holds {wanted} in the role asked")
    scores, chunk = chosen.scores, chosen.chunk
    margin = relevance_margin(scores, stats)
    # An answer of the kind asked for (a year for "when") is evidence of its own: it may stand
    # out less from the rest of the article than a bare quote must; so may a question in another
    # language than the article's.
    easing = (TYPED_EASING if chosen.entities else 0.0) + (
        CROSS_EASING if question.language != ARTICLE_LANGUAGE else 0.0)
    if margin < thresholds.min_margin - easing:
        return _refusal(chunk, scores, stats, thresholds,
                        f"the best sentence stands out by {margin:.3f}, under "
                        f"{thresholds.min_margin - easing:.3f}")
    direct = extract(question, chosen)
    return Draft("rules", True, cites=(chunk.sentence.index,), direct=direct,
                 reason=f"retrieval rank {found.passages[0].rank if found.passages else 0}, "
                        f"margin {margin:.3f}")


def relevance_margin(scores: Scored, stats: QueryStats) -> float:
    """How far the sentence stands out from the rest of the article for this query."""
    return max(scores.dense, scores.context, scores.clause) - stats.article_mean


def _follow_up_order(question: Question,
                     candidates: list[tuple[Scored, Chunk]]) -> list[tuple[Scored, Chunk]]:
    """For a follow-up about someone or something ("Et lui, qu'a-t-il dit ?"): sentences naming
    them first, and the one the last answer quoted last (the follow-up asks beyond what was
    said) unless it can hold a new name, year or place of the kind asked for, or has the
    follow-up's own words."""
    if not question.conversation.focus and not question.conversation.last_quotes:
        return candidates
    focus = {fold(n) for n in question.conversation.focus}
    quoted = question.conversation.last_quotes

    def merit(scores: Scored, chunk: Chunk) -> float:
        named = bool(focus & {fold(w) for w in words(chunk.sentence.text)})
        return scores.fused + FOCUS_BONUS * named

    asked = set(stems(question.search)) - focus

    def already_quoted(chunk: Chunk) -> bool:
        """Already quoted, and none of the follow-up's own words are in it."""
        text = chunk.sentence.text
        return (not question.wants and text in quoted
                and not asked & set(stems(text)))

    ranked = sorted(candidates, key=lambda c: (already_quoted(c[1]), -merit(*c)))
    return [(replace(s, fused=merit(s, c)), c) for s, c in ranked]


@dataclass(frozen=True)
class Choice:
    """The sentence chosen to answer, and why."""

    scores: Scored
    chunk: Chunk
    merit: float  # retrieval score plus the answer-type evidence
    entities: tuple[Entity, ...]  # those that can answer the question (none if it wants no kind)


def choose(question: Question, candidates: list[tuple[Scored, Chunk]],
           stats: QueryStats | None = None) -> Choice | None:
    """Among the top retrieved sentences, the one that best holds an answer of the kind asked
    for; None when the question wants a kind of answer (a year, a person, a reason...) none of
    them has."""
    if not candidates:
        return None
    stats = stats or QueryStats(0.0, 0.0, 1.0, max(s.fused for s, _ in candidates))
    if question.identity:
        return _identify(question, [c for c in candidates if _can_answer(question, c[1])])
    # The best retrieval score (before any follow-up preference, when the retriever gave it).
    top = stats.fused_top
    # "And then?" may be answered further down: a later year is evidence enough.
    reach = len(candidates) if question.conversation.later_than else CANDIDATES
    pool = [
        (scores, chunk) for i, (scores, chunk) in enumerate(candidates[:reach])
        # too far below the best match to be what the question is about
        if (i == 0 or question.conversation.later_than or scores.fused >= MIN_SHARE * top)
        and _can_answer(question, chunk)
    ]
    if not question.wants:
        return Choice(pool[0][0], pool[0][1], pool[0][0].fused, ()) if pool else None
    best: Choice | None = None
    for scores, chunk in pool:
        ents = answer_entities(question, chunk)
        if not ents:
            continue
        preference = min(question.wants.index(e.label) for e in ents)
        label_bonus = LABEL_BONUS / (1 + preference)
        clause_z = (_answer_clause_score(chunk, scores, ents) - stats.clause_mean) / (
            stats.clause_std)
        merit = scores.fused + label_bonus + CLAUSE_WEIGHT * clause_z
        if best is None or merit > best.merit:
            best = Choice(scores, chunk, merit, tuple(ents))
    return best


def _identify(question: Question, candidates: list[tuple[Scored, Chunk]]) -> Choice | None:
    """"Qui est X ?": the best sentence that gives X's role ("X, le directeur"), else the best
    that names X; None when none of them does."""
    asked = _name_words(question.identity)
    named: Choice | None = None
    for scores, chunk in candidates:
        for ent in chunk.entities:
            # the same name, whole or shortened ("Dupont", "M Dupont", "Jean Dupont")
            own = _name_words(ent.text)
            if ent.label in _NAMES and own and (asked <= own or own <= asked):
                if ent.role:
                    return Choice(scores, chunk, scores.fused, (ent,))
                named = named or Choice(scores, chunk, scores.fused, ())
    return named


def _name_words(name: str) -> set[str]:
    """The folded words of a name, titles and function words aside."""
    return {fold(w) for w in words(name) if fold(w) not in STOPWORDS and fold(w) not in _TITLES}


_TITLES = {"m", "mr", "mrs", "ms", "mme", "dr"}


def _can_answer(question: Question, chunk: Chunk) -> bool:
    """What a sentence needs to answer at all: words giving a reason for "why"; words of
    succession for "who came before / after / replaced X" (the extractive answerer can infer
    neither); a later year for "and then?"; the new name of "what about X?"."""
    text = chunk.sentence.text
    if question.kind == "why" and not _REASON.search(text):
        return False
    if (question.kind == "who" and _SUCCESSION_ASKED.search(question.search)
            and not _SUCCESSION.search(text)):
        return False
    must_name = [_name_words(n) for n in question.conversation.must_name]
    present = {fold(w) for w in words(text)}
    if must_name and not any(_shared(name, present) == len(name) for name in must_name):
        return False
    if question.conversation.later_than:
        return any(e.label == "YEAR" and int(e.text) > question.conversation.later_than
                   for e in chunk.entities)
    return True


_SUCCESSION_ASKED = re.compile(
    r"\b(?:(?i:avant|après|before|after)\s+(?:(?:M|Mr|Mrs|Ms|Mme|Dr)\.?\s+)?[A-ZÀ-ÖØ-Þ]"
    r"|(?i:rempla[cç]\w*|replac\w*|succ[eé]d\w*|successeur\w*|successor\w*"
    r"|pr[ée]d[ée]cesseur\w*|predecessor\w*)\b)"
)
_SUCCESSION = re.compile(
    r"\b(?:avant|après|before|after|rempla[cç]\w*|replac\w*|succ[eé]d\w*|successeur\w*"
    r"|successor\w*|pr[ée]d[ée]cesseur\w*|predecessor\w*|pr[ée]c[ée]d\w*|preced\w*|previous"
    r"|former|ancien\w*|nomm[ée]\w*|appointed)\b",
    re.IGNORECASE,
)


def _answer_clause_score(chunk: Chunk, scores: Scored, ents: list[Entity]) -> float:
    """The best cosine of the question with a clause that holds one of the answer entities."""
    if not chunk.clauses or len(scores.clause_scores) != len(chunk.clauses):
        return scores.dense
    values = [score for score, clause in zip(scores.clause_scores, chunk.clauses)
              if any(clause.start <= e.start < clause.end for e in ents)]
    return max(values) if values else scores.dense


def answer_entities(question: Question, chunk: Chunk) -> list[Entity]:
    """Entities of the sentence that can answer the question and that it does not name."""
    found = []
    for label in question.wants:
        for ent in chunk.entities:
            if (ent.label == label and not question.mentions(_repeated_part(ent))
                    and _fits(question, chunk, ent)):
                found.append(ent)
        if found and label in ("PER", "YEAR", "LOC", "NUMBER", "DURATION"):
            break
    return found


# Words that give a reason or a purpose. "Pour" gives one before a verb or an article ("pour
# garantir", "essentiels pour l'acheminement"), not before a length of time ("pour quelques
# années"); so does "for".
_REASON = re.compile(
    r"\b(?:parce qu|car\b|puisqu|en raison d|à cause d|grâce à|afin d|permet\w*\b|vis\w* à\b"
    r"|objectif\w*\b|dans le but|en vue d|si bien qu|c['’]est pourquoi|donc\b|suite à|du fait d"
    r"|dûe?s? à|because|since\b|as a result|due to|owing to|thanks to|in order|so that|to allow"
    r"|to ensure|aim(?:s|ed|ing)? (?:at|to)\b|goal\b|purpose\b|reason\w*\b|result\w* (?:in|from)\b"
    r"|led to\b|caus\w*\b"
    r"|pour\s+(?!quelques|plusieurs|longtemps|toujours|\d|un an|une année|deux|trois)(?:l['’]|la\b"
    r"|le\b|les\b|\w+(?:er|ir|re)\b)"
    r"|for\s+(?!a few|several|many|\d|years|months|now|ever)(?:the|its|their|a|an)\b)",
    re.IGNORECASE,
)


def _repeated_part(ent: Entity) -> str:
    """What a question would repeat if it already knew this answer: a duration's amount only
    ("combien d'années encore ?" does not name "quelques années encore")."""
    return ent.text.split()[0] if ent.label == "DURATION" else ent.text


_COUNTED = re.compile(r"\b(?:combien\s+(?:de|d['’])\s*|how many\s+)([\w-]+)", re.IGNORECASE)


def _counts_what_is_asked(question: Question, chunk: Chunk, ent: Entity) -> bool:
    """"Combien d'années ?" is not answered by "deux agences": when the question says what it
    counts, one of the words after the number must name it (cognates count)."""
    asked = _COUNTED.search(question.search)
    # The words after the number, up to three ("trois nouveaux modules", "5 millions de
    # personnes").
    after = re.match(r"(?:\s+[\w'’-]+){1,3}", chunk.sentence.text[ent.end :])
    if not asked or not after or ent.text[-1:] in "%€$":
        return True
    return bool(_shared(set(stems(asked.group(1))), set(stems(after.group(0)))))


_VAGUE = re.compile(r"(?:quelques|plusieurs|de nombreu|a few|several|many)\b", re.IGNORECASE)
_NAMES = ("PER", "ORG", "LOC", "MISC")
NEAR_WORDS = 3  # how close to a word of the question a name must stand to be what it names


def _names_what_is_asked(question: Question, chunk: Chunk, ent: Entity) -> bool:
    """"What is X called?" is answered by a name standing by a word of X ("l'agence spatiale
    Kosmo", "Orion, le vaisseau") or whose role shares one, not by any name in the
    sentence. X is the phrase after the naming words, up to its first complement ("le nom du
    port de la ville" names a port, not the town)."""
    named = question.named
    head = re.split(r"\s(?:de|du|des|d['’]|of|que|qui|that|which|who)\b", named, maxsplit=1)[0]
    own = {fold(w) for w in words(ent.text)}
    if ent.role and _shared(set(stems(named)) - own, set(stems(ent.role))):
        return True
    text = chunk.sentence.text
    near = words(text[: ent.start])[-NEAR_WORDS:] + words(text[ent.end :])[:NEAR_WORDS]
    head_stems = set(stems(head)) - own
    # Most of X, not one adjective of it: "la future base française" is not named by the
    # "Kosmo" of "l'agence spatiale française Kosmo".
    return 2 * _shared(head_stems, set(stems(" ".join(near)))) > len(head_stems)


def _shared(some: set[str], others: set[str]) -> int:
    """How many of `some` stems match one of `others`, cognates included ("russ", "russian")."""
    return sum(1 for a in some
               if any(a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))
                      for b in others))


_CITY_ASKED = re.compile(r"\b(?:villes?|city|cities|towns?)\b", re.IGNORECASE)
_COUNTRY_PREPOSITION = re.compile(r"\b(?:en|au|aux)\s+$", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:jusqu['’]\s*(?:en|à|au)|d['’]ici|until|till|through|by)\s+$",
                    re.IGNORECASE)
_SINCE = re.compile(r"\b(?:depuis|since)\s+(?:l['’]an\s+|the year\s+)?$", re.IGNORECASE)


def _fits(question: Question, chunk: Chunk, ent: Entity) -> bool:
    """Whether the entity's place in the sentence lets it answer this kind of question.
    A place answers "where" only in a locative phrase ("à Lyon", "in Texas"), not as an actor
    or an object ("entre la France et ...", "sanctions against Spain"). A year after
    "depuis"/"since" tells how long, not when: it answers only "since when" (or "when last"),
    which a year after "jusqu'en"/"until" never answers."""
    before = chunk.sentence.text[max(0, ent.start - 20) : ent.start]
    if ent.label in _NAMES and question.named:
        return _names_what_is_asked(question, chunk, ent)
    if ent.label == "DURATION" and question.kind == "quantity":
        return not _VAGUE.match(ent.text)  # "quelques années" is no count
    if ent.label == "NUMBER" and question.kind == "quantity":
        return _counts_what_is_asked(question, chunk, ent)
    if question.kind == "where":
        # French puts a country after "en/au/aux" and a city after "à": a city is not "en X".
        return bool(_LOCATIVE.search(before)) and not (
            _CITY_ASKED.search(question.search) and _COUNTRY_PREPOSITION.search(before))
    if ent.label not in ("YEAR", "DATE"):
        return True
    if _SINCE_ASKED.search(question.search):
        return not _UNTIL.search(before)  # "since when" wants a start, never an end
    return not _SINCE.search(before)


_LOCATIVE = re.compile(
    r"\b(?:à|au|aux|en|dans|sur|vers|depuis|près d[eu'’]|jusqu['’]à|in|at|on|near|from|to|into"
    r"|inside|outside)\s*(?:l['’]|la\s+|le\s+|les\s+|the\s+)?$",
    re.IGNORECASE,
)


# "The first meeting since 2018" also tells when they last met.
_SINCE_ASKED = re.compile(
    r"\b(?:depuis|since|derni[eè]re? fois|pr[ée]c[ée]dente?|previous|last time"
    r"|last (?:[\w-]+ ){0,2}(?:met|meet|meeting|saw|seen|visit\w*|spoke|talk\w*|held))\b",
    re.IGNORECASE,
)


def extract(question: Question, choice: Choice) -> str:
    """The short answer: the entity of the wanted kind in the clause closest to the question."""
    chunk, scores, ents = choice.chunk, choice.scores, list(choice.entities)
    if not ents:
        return ""
    text = chunk.sentence.text
    if question.identity:
        return f"{ents[0].text}, {ents[0].role}" if ents[0].role else ""
    best = _best_clause(chunk, scores)
    in_clause = [e for e in ents if best is None or best[0] <= e.start < best[1]] or ents
    if question.kind in ("when", "duration") and in_clause[0].label in ("YEAR", "DATE"):
        ent = in_clause[0]
        if question.language == "fr":
            prep = _PREPOSITIONS.search(text[max(0, ent.start - 20) : ent.start])
            return (prep.group(0) if prep else "") + ent.text if prep else ent.text
        return ent.text
    if question.kind == "who":
        people = [e for e in in_clause if e.label == "PER"] or in_clause[:1]
        # The person whose role the question describes, else one with a stated role.
        best_person = max(people, key=lambda e: (question.mentions(e.role), bool(e.role)))
        return f"{best_person.text} ({best_person.role})" if best_person.role else best_person.text
    if question.kind in ("where", "place"):
        return _place_span(text, in_clause)
    if in_clause[0].label == "DURATION":
        return in_clause[0].text
    if question.kind in ("quantity", "duration", "money"):
        ent = in_clause[0]
        noun = re.match(r"\s+([\w'’-]+)", text[ent.end :])
        return ent.text + (" " + noun.group(1) if noun and not ent.text[-1:].isdigit() else "")
    return ""


_JOINED = re.compile(
    r"^\s*(?:,|et|ou|and|or|à|au|aux|en|in)?\s*(?:l['’]|la\s+|le\s+|les\s+|the\s+)?$",
    re.IGNORECASE,
)


def _place_span(text: str, places: list[Entity]) -> str:
    """The first place with those joined to it: a list ("l'Italie, le Pérou et la Grèce") or a
    nested place ("Lyon en France")."""
    last = places[0]
    for nxt in places[1:]:
        if not _JOINED.match(text[last.end : nxt.start]):
            break
        last = nxt
    return text[places[0].start : last.end]


def _best_clause(chunk: Chunk, scores: Scored) -> tuple[int, int] | None:
    if not chunk.clauses or len(scores.clause_scores) != len(chunk.clauses):
        return None
    ranked = sorted(zip(scores.clause_scores, chunk.clauses), key=lambda p: -p[0])
    return ranked[0][1].start, ranked[0][1].end


def _refusal(chunk: Chunk, scores: Scored, stats: QueryStats, thresholds: Thresholds,
             reason: str) -> Draft:
    """'The article does not say', with the closest passage when it is related at all."""
    related = relevance_margin(scores, stats) >= thresholds.min_related
    return Draft("rules", False, reason=reason,
                 closest=chunk.sentence.index if related else None)
