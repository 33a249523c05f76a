"""The seam between the answerer and a chat model: `Chat.complete()` and its typed `Completion`;
`LangChainChat`, any LangChain chat model (`ChatOpenAI` for an OpenAI-compatible endpoint); and
Qwen's chat format for the local model (`local_chat.py`)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import SecretStr

from .config import Settings
from .decide import LLMUnavailable

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0  # how long an unavailable model waits before it is looked for again


@dataclass(frozen=True)
class Completion:
    text: str
    confidence: float = 1.0  # the lowest probability of a generated token (greedy decoding)
    seconds: float = 0.0


class Chat(Protocol):
    """One method to implement: complete chat `messages`, optionally constrained to JSON."""

    name: str

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int,
                 schema: dict[str, Any] | None = None, background: bool = False) -> Completion:
        """The model's reply; raise LLMUnavailable when it cannot answer now (LLMBusy when it
        would make a reader wait too long). `background`: work no reader waits for, which
        yields the model to readers (a backend may ignore it)."""
        ...


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
                 schema: dict[str, Any] | None = None, background: bool = False) -> Completion:
        # `background` is ignored: the endpoint schedules its own work.
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
