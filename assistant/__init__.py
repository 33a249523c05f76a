"""Answer questions about one news article, citing the exact sentences the answers come from.

    from assistant import answer
    a = answer("Jusqu'à quand le musée restera-t-il ouvert ?")
    print(a.text, a.found, a.citations)
"""

from .chain import Engine, answer, answer_stream, get_engine
from .config import Settings
from .errors import (
    AssistantError,
    EmptyQuestionError,
    HistoryError,
    IndexBuildError,
    ModelLoadError,
    QuestionTooLongError,
)
from .results import Answer, Citation, Turn

__all__ = [
    "Answer",
    "AssistantError",
    "Citation",
    "EmptyQuestionError",
    "Engine",
    "HistoryError",
    "IndexBuildError",
    "ModelLoadError",
    "QuestionTooLongError",
    "Settings",
    "Turn",
    "answer",
    "answer_stream",
    "get_engine",
]
