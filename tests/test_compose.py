"""The answer's frame names the article's language beside its quotes only when the reader reads
another one."""

from __future__ import annotations

import pytest

from assistant.article import parse_article
from assistant.compose import compose
from assistant.drafts import Draft
from assistant.retrieve import QueryStats, Retrieval

ENGLISH = parse_article("The harbour reopens\nA new quay\nThe quay opened in 2025.\n")
FOUND = Retrieval("q", (), QueryStats(0.0, 0.0, 1.0, 0.0))
DRAFT = Draft("rules", True, cites=(0,), direct="2025")


@pytest.mark.parametrize(("reader", "frame"), [
    ("en", "2025. According to the article: “The quay opened in 2025.” [1]"),
    ("fr", "2025. Selon l'article (cité en anglais) : « The quay opened in 2025. » [1]"),
])
def test_the_frame_follows_the_articles_language(reader: str, frame: str) -> None:
    assert compose(DRAFT, FOUND, ENGLISH, reader, "en").text == frame


def test_a_french_article_is_said_to_be_quoted_in_french_to_an_english_reader() -> None:
    french = parse_article("Le port rouvre\nUn quai\nLe quai a ouvert en 2025.\n")
    text = compose(DRAFT, FOUND, french, "en", "fr").text
    assert text.startswith("2025. According to the article (quoted in French): “Le quai")
    assert compose(DRAFT, FOUND, french, "fr", "fr").text.startswith("2025. Selon l'article : «")
