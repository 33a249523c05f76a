"""The LLM answerer: it reads the article (the phrase that answers, copied word for word, or
nothing) and writes (an answer sentence, translations of the quotes, an overview). Everything it
writes is a proposal: `verify` checks it against the article before a reader sees it.

Two chat backends behind one small interface (`chat.Chat`): `LocalChat` (the bundled GGUF
through llama.cpp, in process, `local_chat.py`) and `LangChainChat` (any LangChain chat model:
`ChatOpenAI` for an OpenAI-compatible endpoint, `chat.py`)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

from . import prompts
from .article import Article
from .chat import Chat, Completion, LangChainChat, openai_chat, render_chatml
from .config import Settings
from .decide import LLMUnavailable
from .drafts import Claim, Draft
from .facts import is_span
from .question import Question
from .results import Turn
from .retrieve import Retrieval
from .support import terms

log = logging.getLogger(__name__)

READ_TOKENS = 48
WRITE_TOKENS = 60
SUMMARY_TOKENS = 160

__all__ = [
    "Chat",
    "Completion",
    "LLMAnswerer",
    "LangChainChat",
    "make_llm_answerer",
    "openai_chat",
    "render_chatml",
]


class LLMAnswerer:
    """Reads and writes with an LLM. Every draft it returns is checked by `verify`; what it
    writes (an answer sentence, translations, an overview) is checked again."""

    def __init__(self, chat: Chat, article: Article, budget_chars: int = 9000) -> None:
        self.chat = chat
        self.name = chat.name
        self.article = article
        whole = prompts.article_block(article)
        # The whole article when it fits the context (read once, reused by every question);
        # else the passages retrieved for each question.
        self.whole: str | None = whole if len(whole) <= budget_chars else None
        self.budget_chars = budget_chars
        self.work: Any = None  # the article's stored translations and overview (ArticleWork)

    def warm(self) -> None:
        """Read the article prefix now (or load it from disk), if the backend caches it."""
        warm = getattr(self.chat, "warm", None)
        if warm is not None and self.whole is not None:
            try:
                warm(prompts.prefix_messages(self.whole))
            except LLMUnavailable:
                pass

    def _block(self, sentences: set[int]) -> str:
        """The article, or the given sentences of it when it does not fit the context."""
        if self.whole is not None:
            return self.whole
        kept: set[int] = set()
        for i in sorted(sentences):
            kept.add(i)
            if len(prompts.article_block(self.article, kept)) > self.budget_chars:
                kept.discard(i)
                break
        return prompts.article_block(self.article, kept)

    def draft(self, question: Question, turns: tuple[Turn, ...], found: Retrieval) -> Draft:
        if question.kind == "overview":
            return self._overview(question)
        ranked = [p.sentence for p in found.passages]
        reply = self.chat.complete(
            prompts.reader_messages(self._block(set(ranked)), question.search,
                                    _previous(turns)),
            max_tokens=READ_TOKENS, schema=prompts.READ_SCHEMA)
        phrase = _field(reply.text, "answer")
        if not phrase:
            return Draft(self.name, False, reason=f"the LLM read no answer in the article "
                                                  f"(confidence {reply.confidence:.2f})",
                         confidence=reply.confidence)
        where = _locate(phrase, found)
        if where is None:  # not word for word in a retrieved sentence: the verifier refuses it
            first = (found.passages[0].sentence,) if found.passages else ()
            return Draft(self.name, True, cites=first, direct=phrase,
                         reason="the LLM's phrase is not in a retrieved sentence")
        return Draft(self.name, True, cites=(where,), direct=phrase,
                     reason=f"the LLM copied it (confidence {reply.confidence:.2f})",
                     confidence=reply.confidence)

    def write_claim(self, question: Question, draft: Draft) -> Draft:
        """`draft` with one answer sentence in the reader's language (to be verified)."""
        if not draft.found or draft.overview or not draft.direct or not draft.cites:
            return draft
        reply = self.chat.complete(
            prompts.writer_messages(self._block(set(draft.cites)), question.search,
                                    draft.direct, question.language),
            max_tokens=WRITE_TOKENS, schema=prompts.WRITE_SCHEMA)
        sentence = _one_sentence(_field(reply.text, "sentence") or "")
        if not sentence:
            return draft
        return replace(draft, claims=(Claim(sentence, draft.cites[:1], generated=True),))

    def translate(self, index: int, language: str, **options: Any) -> str:
        """A machine translation of article sentence `index` (to be verified). `options`:
        passed to the chat (`background=True` for the article's stored translations)."""
        stored = self.work.translation(index, language) if self.work is not None else ""
        if stored:
            return stored
        sentence = self.article.sentences[index].text
        reply = self.chat.complete(
            prompts.translation_messages(self._block({index}), sentence, language),
            max_tokens=int(len(sentence) / 2.2) + 24, schema=prompts.TRANSLATE_SCHEMA,
            **options)
        return _one_paragraph(_field(reply.text, "translation") or "")

    def _overview(self, question: Question) -> Draft:
        stored = self.work.overview(question.language) if self.work is not None else None
        if stored is not None:
            return stored
        translations = ({i: t for s in self.article.sentences
                         if (t := self.work.translation(s.index, question.language))
                         for i in (s.index,)} if self.work is not None else {})
        return self.propose_overview(question.language, translations)

    def propose_overview(self, language: str, translations: dict[int, str],
                         **options: Any) -> Draft:
        """A 2-4 sentence overview in `language`, each sentence tied to the article sentences
        it rests on (to be verified; `translations`: verified ones, for a reader of another
        language than the article's, which ties are found in and checked against)."""
        lead = {s.index for s in self.article.sentences}  # as much of it as fits, from the top
        reply = self.chat.complete(prompts.summary_messages(self._block(lead), language),
                                   max_tokens=SUMMARY_TOKENS, schema=prompts.SUMMARY_SCHEMA,
                                   **options)
        summary = _one_paragraph(_field(reply.text, "summary") or "")
        parts = [p for p in re.split(r"(?<=[.!?])\s+", summary) if p][:4]
        claims = []
        cites: list[int] = []
        for part in parts:
            sources = self._support(part, language, translations)
            if not sources:
                continue
            claims.append(Claim(part, sources, generated=True))
            cites.extend(i for i in sources if i not in cites)
        if len(claims) < 2:
            return Draft(self.name, False, overview=True,
                         reason="the LLM's overview had fewer than two sentences tied to the "
                                "article")
        return Draft(self.name, True, cites=tuple(cites), claims=tuple(claims), overview=True,
                     translations={i: translations[i] for i in cites if i in translations},
                     reason="the LLM's overview, each sentence tied to the article sentences "
                            "it rests on")

    def _support(self, sentence: str, language: str,
                 translations: dict[int, str]) -> tuple[int, ...]:
        """The article sentences a summary sentence rests on: the one sharing most of its
        content words, and a second one when it covers what the first lacks (names and
        numbers count double). Read in the summary's language: the translations for a reader
        of another language than the article's."""
        own = terms(sentence, language)
        if not own:
            return ()
        texts = ({i: t for i, t in translations.items()} if translations
                 else {s.index: s.text for s in self.article.sentences})
        bags = {i: terms(t, language) for i, t in texts.items()}

        def gain(bag: set[str], left: set[str]) -> float:
            return sum(2 if w[:1].isdigit() or w.isupper() else 1 for w in left & bag)

        first = max(bags, key=lambda i: gain(bags[i], own), default=None)
        if first is None or gain(bags[first], own) / (1 + len(own)) < 0.2:
            return ()
        left = own - bags[first]
        second = max((i for i in bags if i != first), key=lambda i: gain(bags[i], left),
                     default=None)
        if left and second is not None and gain(bags[second], left) > 0:
            return (first, second)
        return (first,)


def _previous(turns: tuple[Turn, ...]) -> str:
    """The last turn, for a follow-up: its question and the phrase that answered it."""
    if not turns:
        return ""
    last = turns[-1]
    said = last.answer.direct or (last.answer.citations[0].text if last.answer.found
                                  and last.answer.citations else "")
    return f"the question was “{last.question}”" + (f", answered “{said}”" if said else "")


def _field(reply: str, key: str) -> str | None:
    """One string field of the model's JSON reply; None for null or an unusable reply."""
    try:
        data = json.loads(reply)
    except ValueError:
        match = re.search(r"\{.*\}", reply, re.DOTALL)
        try:
            data = json.loads(match.group()) if match else None
        except ValueError:
            data = None
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        return None
    value = value.strip().strip("«»“”\"").strip()
    return value or None


def _locate(phrase: str, found: Retrieval) -> int | None:
    """The retrieved sentence that holds `phrase` word for word, the best ranked first."""
    for passage in found.passages:
        if is_span(phrase, passage.text):
            return passage.sentence
    return None


def _one_sentence(text: str) -> str:
    text = _one_paragraph(text)
    first = re.split(r"(?<=[.!?])\s+", text)[0] if text else ""
    return first if len(first) <= 300 else ""


def _one_paragraph(text: str) -> str:
    text = text.strip().strip('"“”«»').strip()
    return re.sub(r"\s+", " ", text.split("\n\n")[0]).strip()


def make_llm_answerer(settings: Settings, article: Article,
                      manifest: dict[str, Any]) -> LLMAnswerer:
    """The LLM answerer the settings ask for (its model loads on first use)."""
    if settings.llm == "openai":
        return LLMAnswerer(openai_chat(settings), article,
                           budget_chars=context_budget(settings.llm_context))
    key = f"{manifest.get('article_sha256', '')}:{manifest.get('store', '')}"
    from .local_chat import LocalChat

    return LLMAnswerer(LocalChat(settings, prefix_key=key), article,
                       budget_chars=context_budget(settings.llm_context))


def context_budget(context_tokens: int) -> int:
    """How many characters of article fit the context beside the examples, the task and the
    answer (about 1,300 tokens), at about 2.5 characters a token (French, numbers, names)."""
    return max(1000, int((context_tokens - 1300) * 2.5))
