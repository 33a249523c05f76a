"""The LLM answerer: it reads the article (the phrase that answers, copied word for word, or
nothing) and writes (an answer sentence, translations of the quotes, an overview). Everything it
writes is a proposal: `verify` checks it against the article before a reader sees it.

Two chat backends behind one small interface: `LocalChat` (the bundled GGUF through llama.cpp,
in process) and `LangChainChat` (any LangChain chat model: `ChatOpenAI` for an OpenAI-compatible
endpoint)."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import math
import pickle
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import SecretStr

from . import prompts
from .article import Article
from .config import Settings
from .decide import LLMUnavailable
from .drafts import Claim, Draft
from .facts import is_span
from .model_files import model_ready
from .question import Question
from .results import Turn
from .retrieve import Retrieval

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0  # how long an unavailable local model waits before it is looked for again
READ_TOKENS = 48
WRITE_TOKENS = 60
SUMMARY_TOKENS = 160


@dataclass(frozen=True)
class Completion:
    text: str
    confidence: float = 1.0  # the lowest probability of a generated token (greedy decoding)
    seconds: float = 0.0


class Chat(Protocol):
    """One method to implement: complete chat `messages`, optionally constrained to JSON."""

    name: str

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None) -> Completion:
        """The model's reply; raise LLMUnavailable when it cannot answer now."""
        ...


class LocalChat:
    """The bundled GGUF through llama-cpp-python, loaded on first use. If llama-cpp-python is
    not installed yet (`make llm` builds it) or the model file is missing, it says so once and
    looks again a minute later: the rules answer meanwhile."""

    name = "local"

    def __init__(self, settings: Settings, prefix_key: str = "") -> None:
        self.settings = settings
        self.prefix_key = prefix_key
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._failed_at = -math.inf
        self._failure = ""
        self._said = False

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None) -> Completion:
        started = time.perf_counter()
        if not self._lock.acquire(timeout=self.settings.llm_timeout):
            raise LLMUnavailable("the local LLM is busy with other questions")
        try:
            llama = self._load()
            prompt = render_chatml(messages)
            grammar = self._grammar(schema) if schema else None
            probe = _Confidence()
            deadline = started + self.settings.llm_timeout

            def past_deadline(_ids: Any, _logits: Any) -> bool:
                return time.perf_counter() > deadline

            from llama_cpp import LogitsProcessorList, StoppingCriteriaList

            try:
                out = llama.create_completion(
                    prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, grammar=grammar,
                    stop=["<|im_end|>", "<|endoftext|>"],
                    logits_processor=LogitsProcessorList([probe]),
                    stopping_criteria=StoppingCriteriaList([past_deadline]),
                )
            except (ValueError, RuntimeError) as exc:  # a prompt over the context, a decode error
                raise LLMUnavailable(f"the local LLM could not answer ({exc})") from None
            if time.perf_counter() > deadline:
                raise LLMUnavailable(f"the local LLM took over {self.settings.llm_timeout:.0f} s")
            text = out["choices"][0]["text"]
            return Completion(text, probe.lowest(), time.perf_counter() - started)
        finally:
            self._lock.release()

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Read the shared prefix now, or load its state saved on disk by an earlier process
        (keyed with the index manifest, the model and the prefix itself)."""
        with self._lock:
            llama = self._load()
            prefix = render_chatml(messages)[: -len("<|im_end|>\n<|im_start|>assistant\n")]
            tokens = llama.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
            state_file = self._state_file(prefix)
            if state_file is not None and _load_state(llama, state_file, tokens):
                return
            if len(tokens) >= self.settings.llm_context - 256:
                return  # too long to keep: each question reads its own passages
            llama.reset()
            try:
                llama.eval(tokens)
            except (ValueError, RuntimeError) as exc:
                log.warning("the local LLM could not read the article (%s)", exc)
                llama.reset()
                return
            if state_file is not None:
                _save_state(llama, state_file, len(tokens))

    def _state_file(self, prefix: str) -> Path | None:
        if not self.prefix_key:
            return None
        digest = hashlib.sha256(f"{self.prefix_key}\n{self.settings.llm_model_path}\n{prefix}"
                                .encode()).hexdigest()[:16]
        return Path(self.settings.index_dir) / f"llm-prefix-{digest}.state"

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        if time.monotonic() - self._failed_at < RETRY_SECONDS:
            raise LLMUnavailable(self._failure)
        try:
            importlib.invalidate_caches()  # it may have been installed since the last look
            import llama_cpp
        except ImportError:
            self._fail("the local LLM is not installed yet (llama-cpp-python: `make llm` builds "
                       "it, about 20 minutes on 2 cores); answering with the rules meanwhile")
        path = Path(self.settings.llm_model_path)
        if not model_ready(path):
            self._fail(f"the local LLM's model is not at {path} yet (`assistant setup-llm` "
                       "downloads it); answering with the rules meanwhile")
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=self.settings.llm_context,
                n_threads=self.settings.llm_threads, n_batch=512, verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - any load failure: the rules answer
            self._fail(f"the local LLM failed to load ({exc}); answering with the rules")
        log.info("local LLM loaded from %s", path)
        return self._llama

    def _fail(self, message: str) -> None:
        self._failed_at = time.monotonic()
        self._failure = message
        if not self._said:
            log.warning("%s", message)
            self._said = True
        raise LLMUnavailable(message)

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]


class _Confidence:
    """A llama.cpp logits processor that records, at each step, the probability of the token
    the previous step chose (greedy decoding: the most probable one allowed)."""

    def __init__(self) -> None:
        self.probabilities: list[float] = []
        self._last: np.ndarray | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._last is not None and len(input_ids):
            self.probabilities.append(float(self._last[int(input_ids[-1])]))
        logits = np.asarray(scores, dtype=np.float64)
        exp = np.exp(logits - logits.max())
        self._last = exp / exp.sum()
        return scores

    def lowest(self) -> float:
        return min(self.probabilities) if self.probabilities else 1.0


def _save_state(llama: Any, path: Path, n_tokens: int) -> None:
    """The KV state of the prefix (not llama-cpp-python's logits copy: hundreds of MB)."""
    import ctypes

    import llama_cpp

    try:
        size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        used = llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size)
        for old in path.parent.glob("llm-prefix-*.state"):
            old.unlink(missing_ok=True)  # one cached prefix per index directory
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"tokens": list(llama.input_ids[:n_tokens]), "state": bytes(buffer)[:used]},
                        f)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the LLM prefix cache %s (%s)", path, exc)


def _load_state(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Restore a saved prefix state if it is the state of exactly `tokens`."""
    import ctypes

    import llama_cpp

    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            saved = pickle.load(f)
        if [int(t) for t in saved["tokens"]] != list(tokens):
            return False
        data = saved["state"]
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, len(data)) != len(data):
            return False
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        llama._requires_eval = True
        return True
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
        log.warning("cannot load the LLM prefix cache %s (%s)", path, exc)
        return False


def render_chatml(messages: list[dict[str, str]]) -> str:
    """Qwen's chat format (ChatML), ending where the assistant starts to reply."""
    parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


class LangChainChat:
    """Any LangChain chat model: `ChatOpenAI` for an OpenAI-compatible endpoint (Ollama, vLLM,
    llama.cpp's server, hosted APIs), or a scripted fake in tests. A model that fails or does
    not answer within its timeout makes the rules answer; it is tried again 15 s later."""

    def __init__(self, model: Any, name: str = "openai", where: str = "") -> None:
        self.model = model
        self.name = name
        self.where = where or name
        self._failed_at = -math.inf
        self._failure = ""
        self._said = False

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None) -> Completion:
        if time.monotonic() - self._failed_at < RETRY_SECONDS / 4:
            raise LLMUnavailable(self._failure)
        started = time.perf_counter()
        kwargs: dict[str, Any] = {"max_tokens": max_tokens}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        try:
            reply = self.model.invoke([(m["role"], m["content"]) for m in messages], **kwargs)
        except Exception as exc:  # noqa: BLE001 - network, HTTP or server errors alike
            self._failed_at = time.monotonic()
            self._failure = f"the LLM at {self.where} did not answer ({type(exc).__name__})"
            if not self._said:
                log.warning("%s: %s; answering with the rules", self._failure, exc)
                self._said = True
            raise LLMUnavailable(self._failure) from None
        self._said = False
        return Completion(str(reply.content), _lowest_probability(reply),
                          time.perf_counter() - started)


def _lowest_probability(reply: Any) -> float:
    """The least likely token of a reply, when the server sent log-probabilities (else 1)."""
    tokens = (getattr(reply, "response_metadata", None) or {}).get("logprobs") or {}
    values = [float(t["logprob"]) for t in tokens.get("content") or []
              if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)]
    return math.exp(min(values)) if values else 1.0


def openai_chat(settings: Settings) -> LangChainChat:
    """An OpenAI-compatible endpoint through LangChain's `ChatOpenAI`."""
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        base_url=settings.llm_url, model=settings.llm_model or "default",
        api_key=SecretStr(settings.llm_api_key or "none"), temperature=0.0,
        timeout=settings.llm_timeout, max_retries=0, logprobs=True,
    )
    return LangChainChat(model, "openai", settings.llm_url)


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
                                                  f"(confidence {reply.confidence:.2f})")
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

    def translate(self, index: int, language: str) -> str:
        """A machine translation of article sentence `index` (to be verified)."""
        sentence = self.article.sentences[index].text
        reply = self.chat.complete(
            prompts.translation_messages(self._block({index}), sentence, language),
            max_tokens=int(len(sentence) / 2.2) + 24, schema=prompts.TRANSLATE_SCHEMA)
        return _one_paragraph(_field(reply.text, "translation") or "")

    def _overview(self, question: Question) -> Draft:
        lead = {s.index for s in self.article.sentences}  # as much of it as fits, from the top
        reply = self.chat.complete(prompts.summary_messages(self._block(lead), question.language),
                                   max_tokens=SUMMARY_TOKENS, schema=prompts.SUMMARY_SCHEMA)
        summary = _one_paragraph(_field(reply.text, "summary") or "")
        parts = [p for p in re.split(r"(?<=[.!?])\s+", summary) if p][:4]
        claims = []
        cites: list[int] = []
        for part in parts:
            source = self._support(part)
            if source is None:
                continue
            claims.append(Claim(part, (source,), generated=True))
            if source not in cites:
                cites.append(source)
        if len(claims) < 2:
            return Draft(self.name, False, overview=True,
                         reason="the LLM's overview had fewer than two sentences tied to the "
                                "article")
        return Draft(self.name, True, cites=tuple(cites), claims=tuple(claims), overview=True,
                     reason="the LLM's overview, each sentence tied to the article sentence it "
                            "rests on")

    def _support(self, sentence: str) -> int | None:
        """The article sentence a summary sentence rests on: the one sharing most of its
        content words (names and numbers count double)."""
        best, best_score = None, 0.0
        own = _content(sentence)
        for s in self.article.sentences:
            theirs = _content(s.text)
            shared = sum(2 if w[:1].isdigit() else 1 for w in own & theirs)
            score = shared / (1 + len(own))
            if score > best_score:
                best, best_score = s.index, score
        return best if best_score >= 0.2 else None


def _content(text: str) -> set[str]:
    from .text import stems

    return set(stems(text, "fr")) | set(stems(text, "en"))


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
    return LLMAnswerer(LocalChat(settings, prefix_key=key), article,
                       budget_chars=context_budget(settings.llm_context))


def context_budget(context_tokens: int) -> int:
    """How many characters of article fit the context beside the examples, the task and the
    answer (about 1,300 tokens), at about 2.5 characters a token (French, numbers, names)."""
    return max(1000, int((context_tokens - 1300) * 2.5))
