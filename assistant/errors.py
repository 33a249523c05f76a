"""Errors the assistant raises for broken input or setup; each message says what to do."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the CLI and the UI catch this at the edge and show its message."""


class EmptyQuestionError(AssistantError):
    """The question is empty or blank."""


class QuestionTooLongError(AssistantError):
    """The question is longer than the configured cap."""


class HistoryError(AssistantError):
    """The conversation history given with a question is malformed."""


class ArticleError(AssistantError):
    """The article file is missing, unreadable or empty."""


class EmptyArticleError(ArticleError):
    """The article given is empty or blank."""


class ArticleWithoutSentencesError(ArticleError):
    """The article has a title but no paragraph with a sentence in it."""


class ArticleTooLongError(ArticleError):
    """The article is longer than the configured cap (`max_article_chars`)."""


class ArticleNotTextError(ArticleError):
    """The article is not text: bytes, a file that is not UTF-8, or a string holding NULs."""


class ModelLoadError(AssistantError):
    """An embedding or language model could not be loaded."""


class IndexBuildError(AssistantError):
    """The vector index could not be built or opened."""


class ConfigError(AssistantError):
    """A setting has a value the assistant cannot use."""
