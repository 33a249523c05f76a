"""Answer questions about one news article, citing the exact sentences the answers come from.

    from assistant import answer
    a = answer("Jusqu'à quand le musée restera-t-il ouvert ?")
    print(a.text, a.found, a.citations)
"""

from .chain import Engine, answer, answer_stream, get_engine
from .config import Settings
from .errors import (
    ArticleError,
    ArticleNotTextError,
    ArticleTooLongError,
    ArticleWithoutSentencesError,
    AssistantError,
    EmptyArticleError,
    EmptyQuestionError,
    HistoryError,
    IndexBuildError,
    ModelLoadError,
    QuestionTooLongError,
)
from .library import Progress, article_key, engine_for
from .results import Answer, Citation, Turn

__all__ = [
    "Answer",
    "ArticleError",
    "ArticleNotTextError",
    "ArticleTooLongError",
    "ArticleWithoutSentencesError",
    "AssistantError",
    "Citation",
    "EmptyArticleError",
    "EmptyQuestionError",
    "Engine",
    "HistoryError",
    "IndexBuildError",
    "ModelLoadError",
    "Progress",
    "QuestionTooLongError",
    "Settings",
    "Turn",
    "answer",
    "answer_stream",
    "article_key",
    "engine_for",
    "get_engine",
]
