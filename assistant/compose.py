"""Write a verified draft as the `Answer` the reader gets: the answer sentence(s) in the
reader's language with markers [n], then each cited sentence quoted verbatim (and, for a reader
of another language, its machine translation, labelled as such)."""

from __future__ import annotations

from typing import Any

from .answerer import relevance_margin
from .article import Article
from .drafts import Draft
from .results import Answer, Citation
from .retrieve import Retrieval

ARTICLE_LANGUAGE_NAME = {"fr": {"fr": "français", "en": "French"},
                         "en": {"fr": "anglais", "en": "English"}}

TEXTS = {
    "fr": {
        "according": "Selon l'article : ",
        "according_other": "Selon l'article (cité en {language}) : ",
        "quote": "« {quote} » {marker}",
        "direct": "{direct}. ",
        "translation": "\n\nTraduction automatique de {marker} : « {text} »",
        "refuse": "L'article ne le dit pas.",
        "unknown": "L'article ne le dit pas : il ne mentionne pas {names}.",
        "name": "« {name} »",
        "closest": " Le passage le plus proche [1] : « {quote} »",
        "overview": "L'article s'intitule « {title} »{subtitle}. Il commence ainsi : ",
        "subtitle": " : « {subtitle} »",
    },
    "en": {
        "according": "According to the article: ",
        "according_other": "According to the article (quoted in {language}): ",
        "quote": "“{quote}” {marker}",
        "direct": "{direct}. ",
        "translation": "\n\nMachine translation of {marker}: “{text}”",
        "refuse": "The article does not say.",
        "unknown": "The article does not say: it does not mention {names}.",
        "name": "“{name}”",
        "closest": " The closest passage [1]: “{quote}”",
        "overview": "The article is titled “{title}”{subtitle}. It opens with: ",
        "subtitle": ": “{subtitle}”",
    },
}


def compose(draft: Draft, found: Retrieval, article: Article, language: str,
            article_language: str) -> Answer:
    """The answer the reader gets from a verified draft. `language`: the reader's;
    `article_language`: the article's, named beside its quotes when it is another."""
    texts = TEXTS.get(language, TEXTS["en"])
    sentences = article.sentences
    margins = {p.sentence: relevance_margin(p.scores, found.stats) for p in found.passages}

    def citation(i: int) -> Citation:
        s = sentences[i]
        return Citation(s.text, s.start, s.end, s.section, round(margins.get(i, 0.0), 4),
                        draft.translations.get(i, ""))

    common: dict[str, Any] = {"language": language, "query": found.query,
                              "backend": draft.backend, "reason": draft.reason}
    if not draft.found:
        if draft.unknown_names:
            quoted = ", ".join(texts["name"].format(name=n) for n in draft.unknown_names)
            return Answer(texts["unknown"].format(names=quoted), False, [], **common)
        if draft.closest is None:
            return Answer(texts["refuse"], False, [], **common)
        near = citation(draft.closest)
        return Answer(texts["refuse"] + texts["closest"].format(quote=near.text), False, [near],
                      **common)

    citations = [citation(i) for i in draft.cites]
    marker = {c: f"[{n}]" for n, c in enumerate(draft.cites, start=1)}
    quotes = " ".join(texts["quote"].format(quote=c.text, marker=marker[i])
                      for i, c in zip(draft.cites, citations))
    if language == article_language:
        according = texts["according"]
    else:
        named = ARTICLE_LANGUAGE_NAME.get(article_language, {}).get(language, article_language)
        according = texts["according_other"].format(language=named)
    said = " ".join(
        f"{claim.text.rstrip()} {''.join(marker[i] for i in (claim.cites or draft.cites[:1]))}"
        for claim in draft.claims)
    translations = "".join(texts["translation"].format(marker=marker[i], text=c.translation)
                           for i, c in zip(draft.cites, citations) if c.translation)
    if draft.overview and said:
        text = f"{said}\n\n{according}{quotes}{translations}"
    elif draft.overview:
        subtitle = texts["subtitle"].format(subtitle=article.subtitle) if article.subtitle else ""
        text = texts["overview"].format(title=article.title, subtitle=subtitle) + quotes + \
            translations
    else:
        # The verified short answer and its quotes come first, as soon as reading is verified;
        # each translation after its quotes; the answer sentence the LLM writes comes last, as
        # it comes last in the stream (`Engine.stream` appends each verified piece).
        direct = draft.direct[:1].upper() + draft.direct[1:] if draft.direct else ""
        text = (texts["direct"].format(direct=direct) if direct else "") + according + quotes
        text += translations
        if said:
            text += f"\n\n{said}"
    return Answer(text, True, citations, direct=draft.direct, **common)
