"""`assistant check-verifier`: the verifier measured on a corrupted set. Faithful translations
and answer sentences written by hand (`tests/data/corrupted/faithful.yaml`) are corrupted in four
ways (a swapped subject, an added place, a negation, a fact of another sentence); the report
says how many corrupted items the verifier rejects and how many faithful ones it wrongly
rejects, per kind, and chooses the translation thresholds by leave-one-text-out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .article import Article, load_article
from .article_work import article_language
from .drafts import Claim, Draft
from .embed import ArrayEmbeddings
from .evaluate import DATA_DIR, article_path
from .facts import names
from .support import Aligner
from .verify import (
    TRANSLATION_MIN_COSINE,
    WORD_MIN_COSINE,
    NameMatcher,
    translation_problem,
    verify,
)

FAITHFUL = DATA_DIR / "corrupted" / "faithful.yaml"
# Places added by the "added place" corruption: real cities, none named in the texts.
PLACES = ("Lyon", "Berlin", "Madrid", "Toronto", "Osaka")
KINDS = ("faithful", "swapped subject", "added place", "negation", "other sentence's fact",
         "names exchanged")


@dataclass(frozen=True)
class Item:
    text: str
    index: int  # the sentence
    kind: str  # one of KINDS
    what: str  # "translation", "answer_fr", "answer_en"
    generated: str
    question: str


def _negate(text: str, language: str) -> str:
    if language == "en":
        for verb in (" is ", " are ", " was ", " were ", " has ", " have ", " will ", " can "):
            if verb in text:
                return text.replace(verb, f"{verb.rstrip()} not ", 1)
        return "It is not true that " + text[:1].lower() + text[1:]
    for verb, negated in ((" est ", " n'est pas "), (" sont ", " ne sont pas "),
                          (" a ", " n'a pas "), (" ont ", " n'ont pas "),
                          (" sera ", " ne sera pas "), (" va ", " ne va pas ")):
        if verb in text:
            return text.replace(verb, negated, 1)
    return "Il est faux que " + text[:1].lower() + text[1:]


def _with_place(text: str, language: str, article: Article) -> str:
    place = next(p for p in PLACES if p not in article.text)
    return re.sub(r"[.!?]?$", f" {'in' if language == 'en' else 'à'} {place}.", text.rstrip(), 1)


def _swapped(text: str, source: str, article: Article) -> str | None:
    own = names(text)
    others = [n for s in article.sentences for n in names(s.text)
              if n not in source and n not in text and len(n) > 2]
    if not own or not others:
        return None
    return text.replace(own[0], others[0], 1)


def _exchanged(text: str) -> str | None:
    """Two names of the sentence in each other's place: the same words, another claim (a check
    of words alone cannot see it; measured to say so)."""
    own = list(dict.fromkeys(names(text)))
    if len(own) < 2:
        return None
    a, b = own[0], own[1]
    return text.replace(a, "\0").replace(b, a).replace("\0", b)


def _joined(text: str, other: str, language: str) -> str:
    tail = " ".join(other.rstrip(".!? ").split()[:9])
    joiner = ", and " if language == "en" else ", et "
    return text.rstrip(".!? ") + joiner + tail[:1].lower() + tail[1:] + "."


def items(entries: list[dict[str, Any]], articles: dict[str, Article]) -> list[Item]:
    """The faithful items and their corruptions."""
    out: list[Item] = []
    for n, e in enumerate(entries):
        article = articles[e["text"]]
        index = next(s.index for s in article.sentences if s.text == e["sentence"].strip()
                     or e["sentence"].strip() in s.text)
        neighbour = next((o for o in entries[n + 1:] + entries[:n] if o["text"] == e["text"]), e)
        source_language = article_language(article)
        target = "en" if source_language == "fr" else "fr"
        for what, generated, language, question, other in (
                ("translation", e["translation"], target, "", neighbour["translation"]),
                ("answer_fr", e["answer_fr"], "fr", e["question_fr"], neighbour["answer_fr"]),
                ("answer_en", e["answer_en"], "en", e["question_en"], neighbour["answer_en"])):
            variants = {"faithful": generated,
                        "swapped subject": _swapped(generated, e["sentence"], article),
                        "added place": _with_place(generated, language, article),
                        "negation": _negate(generated, language),
                        "other sentence's fact": _joined(generated, other, language),
                        "names exchanged": _exchanged(generated)}
            for kind, text in variants.items():
                if text is not None and text != generated or kind == "faithful":
                    out.append(Item(e["text"], index, kind, what, str(text), question))
    return out


def _problem(item: Item, article: Article, matcher: NameMatcher, aligner: Aligner | None,
             translation: str) -> str:
    source = article.sentences[item.index].text
    source_language = article_language(article)
    if item.what == "translation":
        return translation_problem(item.generated, source, matcher,
                                   "en" if source_language == "fr" else "fr", aligner)
    language = "fr" if item.what == "answer_fr" else "en"
    translations = {item.index: translation} if language != source_language else {}
    draft = Draft("bench", True, cites=(item.index,), claims=(
        Claim(item.generated, (item.index,), generated=True),), translations=translations)
    verdict = verify(draft, {item.index}, article, matcher, language, item.question,
                     source_language, aligner)
    return "" if verdict.ok else verdict.reason


def measure(embeddings: ArrayEmbeddings, path: Path = FAITHFUL) -> dict[str, Any]:
    entries = yaml.safe_load(path.read_text("utf-8")) or []
    articles = {t: load_article(article_path(t)) for t in {e["text"] for e in entries}}
    matcher = NameMatcher(embeddings)
    aligner = Aligner(embeddings, WORD_MIN_COSINE)
    faithful_translation = {(e["text"], e["sentence"]): e["translation"] for e in entries}
    rows = []
    for item in items(entries, articles):
        article = articles[item.text]
        source = article.sentences[item.index].text
        translation = next((t for (text, s), t in faithful_translation.items()
                            if text == item.text and (s.strip() == source or s.strip() in source)),
                           "")
        problem = _problem(item, article, matcher, aligner, translation)
        row = {"text": item.text, "what": item.what, "kind": item.kind, "rejected": bool(problem),
               "reason": problem, "generated": item.generated}
        if item.what == "translation":
            base = translation_problem(item.generated, source, matcher,
                                       "en" if article_language(article) == "fr" else "fr", None)
            vectors = embeddings.documents_array([source, item.generated])
            alignment = aligner.alignment(item.generated, source)
            row.update(base=bool(base), cosine=float(vectors[0] @ vectors[1]),
                       worst_word=min((s for _, s in alignment), default=1.0))
        rows.append(row)
    return {"rows": rows, "summary": summarise(rows),
            "thresholds": choose_thresholds([r for r in rows if r["what"] == "translation"]),
            "in_force": {"translation_min_cosine": TRANSLATION_MIN_COSINE,
                         "word_min_cosine": WORD_MIN_COSINE}}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for what in ("translation", "answer_fr", "answer_en"):
        mine = [r for r in rows if r["what"] == what]
        faithful = [r for r in mine if r["kind"] == "faithful"]
        corrupted = [r for r in mine if r["kind"] != "faithful"]
        out[what] = {
            "faithful": len(faithful),
            "falsely_rejected": sum(r["rejected"] for r in faithful),
            "corrupted": len(corrupted),
            "caught": sum(r["rejected"] for r in corrupted),
            "caught_by_kind": {k: f"{sum(r['rejected'] for r in corrupted if r['kind'] == k)}/"
                                  f"{sum(1 for r in corrupted if r['kind'] == k)}"
                               for k in KINDS[1:]},
        }
    return out


def _rejects(row: dict[str, Any], cosine: float, word: float) -> bool:
    return bool(row["base"] or row["cosine"] < cosine or row["worst_word"] < word)


def choose_thresholds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The translation thresholds (sentence cosine, word cosine) that best separate faithful
    from corrupted translations, chosen by leave-one-text-out: for each text, the pair best on
    the others is measured on it."""
    grid = [round(0.70 + 0.02 * i, 2) for i in range(14)]

    def score(subset: list[dict[str, Any]], c: float, w: float) -> float:
        faithful = [r for r in subset if r["kind"] == "faithful"]
        corrupted = [r for r in subset if r["kind"] != "faithful"]
        caught = sum(_rejects(r, c, w) for r in corrupted) / max(1, len(corrupted))
        false = sum(_rejects(r, c, w) for r in faithful) / max(1, len(faithful))
        return caught - 2 * false  # a faithful translation lost costs twice a corrupted one let by

    texts = sorted({r["text"] for r in rows})
    held: dict[str, Any] = {}
    caught = false = n_corrupted = n_faithful = 0
    for text in texts:
        train = [r for r in rows if r["text"] != text]
        test = [r for r in rows if r["text"] == text]
        c, w = max(((c, w) for c in grid for w in grid), key=lambda p: score(train, *p))
        held[text] = {"cosine": c, "word": w}
        caught += sum(_rejects(r, c, w) for r in test if r["kind"] != "faithful")
        false += sum(_rejects(r, c, w) for r in test if r["kind"] == "faithful")
        n_corrupted += sum(r["kind"] != "faithful" for r in test)
        n_faithful += sum(r["kind"] == "faithful" for r in test)
    best = max(((c, w) for c in grid for w in grid), key=lambda p: score(rows, *p))
    return {"chosen_on_all": {"cosine": best[0], "word": best[1]}, "per_text": held,
            "leave_one_text_out": {"caught": f"{caught}/{n_corrupted}",
                                   "falsely_rejected": f"{false}/{n_faithful}"}}
