"""Question reading without models: language, kind, follow-ups, names, cleaning."""

from __future__ import annotations

import pytest

from assistant.condense import is_followup, short_answer, standalone
from assistant.language import detect
from assistant.names import question_names
from assistant.question import analyse, question_kind
from assistant.text import clean_question, stems, strip_markup


@pytest.mark.parametrize(
    ("text", "lang"),
    [("Quand ?", "fr"), ("Who said that?", "en"), ("Et lui ?", "fr"), ("And when?", "en"),
     ("Jusqu'à quand la station restera-t-elle en service ?", "fr"),
     ("Is the station still useful?", "en")],
)
def test_language(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_names_only_question_takes_the_conversation_language() -> None:
    assert detect("Sean Duffy ?", "fr") == "fr"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("Jusqu'à quand ?", "when"), ("By what year will it end?", "when"),
     ("Who is in charge?", "who"), ("Où se sont-ils vus ?", "where"),
     ("Combien d'agences ?", "quantity"), ("Pourquoi ?", "why"), ("How did it go?", "how"),
     ("Is the station old?", "yesno"), ("Quelle entreprise construit la station ?", "org"),
     ("Combien coûte la station ?", "money"), ("Quelle agence finance ?", "money")],
)
def test_question_kind(text: str, kind: str) -> None:
    assert question_kind(text) == kind


def test_followup_inherits_kind_and_rewrites_query() -> None:
    history = [("Où les directeurs se sont-ils rencontrés ?",
                "Houston. Selon l'article : « Ils se sont vus à Houston. » [1]")]
    assert is_followup("Et quand ?", history)
    assert not is_followup("Quand la station sera-t-elle retirée ?", [])
    rewritten = standalone("Et lui ?", history)
    assert rewritten.query.startswith("Et lui ?")
    assert "Houston" in rewritten.query and "rencontrés" in rewritten.query
    assert rewritten.context == "Houston"
    assert analyse("Et lui ?", kind_from=rewritten.kind_from).kind == "where"
    # a follow-up with a topic of its own keeps it, with only the names of the conversation
    own = standalone("Et qu'a-t-il déclaré sur les discussions ?", history)
    assert own.query == "Et qu'a-t-il déclaré sur les discussions ? (Houston)"
    assert own.context == "Houston"
    assert short_answer("The article does not say. The closest passage [1]: “x”") == ""


def test_cleaning_and_markup() -> None:
    assert clean_question("  Qui\x00 est\tlà ?\x1b ") == "Qui est là ?"
    assert strip_markup("<b>Où</b> <img src=x onerror=alert(1)> ?") == "Où ?"
    assert stems("Les États-Unis coopèrent")[0] == "etats-unis"  # names kept whole, folded


def test_question_names() -> None:
    assert question_names("Quel rôle le Canada joue-t-il ?") == ["Canada"]
    assert question_names("Who met Sean Duffy?") == ["Sean Duffy"]
    assert question_names("Quand ?") == []
