"""The article model: structure and exact offsets, on the shipped article and on others."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.article import load_article, parse_article, split_sentences
from assistant.config import DEFAULT_ARTICLE
from assistant.errors import ArticleError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "article" / "iss-2028.txt"


def test_shipped_article_structure_and_offsets() -> None:
    article = load_article(DEFAULT_ARTICLE)
    assert article.title and article.subtitle
    assert len(article.sections) == 6
    for section in article.sections[1:]:
        assert article.text[section.heading_start : section.heading_end] == section.heading
        assert not section.heading.startswith("#")
    for s in article.sentences:
        assert article.text[s.start : s.end] == s.text
        assert s.text[-1] in ".!?"
    # a heading that starts mid-line (after "## ") is a heading, not part of a sentence
    assert all("##" not in s.text for s in article.sentences)
    assert len({s.index for s in article.sentences}) == len(article.sentences) == 13


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ is not beside this checkout")
def test_shipped_article_is_the_original_wording() -> None:
    assert DEFAULT_ARTICLE.read_bytes() == SHARED.read_bytes()


def test_other_article_form() -> None:
    text = (
        "Un titre\nUn sous-titre sans point\nPremière phrase. M. Dupont est venu à 10 h. "
        "Fin ?\nUne section\nTexte de la section ! Encore une phrase. ## Autre titre\n"
        "Dernière phrase.\n"
    )
    article = parse_article(text)
    assert article.title == "Un titre"
    assert article.subtitle == "Un sous-titre sans point"
    assert [s.heading for s in article.sections] == ["", "Une section", "Autre titre"]
    texts = [s.text for s in article.sentences]
    assert texts[1] == "M. Dupont est venu à 10 h."
    assert texts[-1] == "Dernière phrase."
    for s in article.sentences:
        assert text[s.start : s.end] == s.text


def test_split_sentences_keeps_abbreviations() -> None:
    parts = split_sentences("Dr. Who est là. Il part. J. R. R. Tolkien écrit.")
    assert [p for _, p in parts] == ["Dr. Who est là.", "Il part.", "J. R. R. Tolkien écrit."]


def test_a_quoted_sentence_is_a_sentence_of_its_own() -> None:
    text = "Le chantier a duré deux ans. « Nous avons tout gardé », dit-elle. \u201cWe kept it.\u201d He left."
    parts = [p for _, p in split_sentences(text)]
    assert parts == ["Le chantier a duré deux ans.", "« Nous avons tout gardé », dit-elle.",
                     "\u201cWe kept it.\u201d", "He left."]


def test_bad_article_files(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="cannot read"):
        load_article(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ArticleError, match="UTF-8"):
        load_article(binary)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    with pytest.raises(ArticleError, match="empty"):
        load_article(empty)


def test_article_over_the_cap_is_refused_with_the_setting_to_change(tmp_path: Path) -> None:
    text = DEFAULT_ARTICLE.read_text("utf-8")
    big = tmp_path / "big.txt"
    big.write_text(text + "\n" + "Une phrase de plus. " * 1000, "utf-8")
    with pytest.raises(ArticleError, match=r"22,455 characters long; the limit is 20,000 .*"
                                           r"ASSISTANT_MAX_ARTICLE_CHARS"):
        load_article(big, max_chars=20_000)
    assert load_article(big, max_chars=30_000).sentences
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as out:  # never read whole: refused after 4 bytes a character
        out.truncate(50_000_000)
    with pytest.raises(ArticleError, match="over 80,000 bytes"):
        load_article(huge, max_chars=20_000)
    assert load_article(DEFAULT_ARTICLE).title  # the shipped article is far below the default
