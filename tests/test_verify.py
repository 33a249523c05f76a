"""The verifier's building blocks, without models: spans, numbers, names, and verify() itself
over a small article."""

from __future__ import annotations

from assistant.article import parse_article
from assistant.drafts import Claim, Draft
from assistant.facts import is_span, names, numbers
from assistant.verify import NameMatcher, verify

ARTICLE = parse_article(
    "Le musée rouvre\nLa ville de Brest inaugure son musée\n"
    "Le musée de Brest a rouvert en 2025 après deux ans de travaux. "
    "La rénovation a coûté 8 millions d'euros, selon Claire Morvan, sa directrice.\n"
)


def test_a_span_is_made_of_whole_words() -> None:
    sentence = "La station sera retirée d'ici 2030, selon l'agence."
    assert is_span("d’ici 2030", sentence) and is_span("L'AGENCE", sentence)
    assert not is_span("3", sentence) and not is_span("203", sentence)
    # a digit group of a larger number is no span of its own
    assert is_span("300 000 ans", "depuis 300 000 ans.") and not is_span("000 ans", "depuis 300 000 ans.")
    assert not is_span("3", "à 3,5 %") and is_span("3,5 %", "à 3,5 %")
    assert not is_span("aux Etats", "à Houston aux Etats-Unis") and not is_span("", sentence)


def test_numbers_and_names() -> None:
    assert numbers("deux agences, 1 000 euros, 2,5 %, en 2028 [1]") == {"2", "1000", "2.5",
                                                                       "2028"}
    assert numbers("un accord, one deal") == set()
    assert names("Dmitri Bakanov met Sean Duffy in Houston. The ISS stays.") == [
        "Dmitri Bakanov", "Sean Duffy", "Houston", "ISS"]


def _draft(**fields: object) -> Draft:
    values: dict[str, object] = {"backend": "test", "found": True, "cites": (0,), **fields}
    return Draft(**values)


def test_verify() -> None:
    matcher = NameMatcher(None)  # spelling only: no embedding model needed here

    def check(draft: Draft) -> tuple[bool, str]:
        verdict = verify(draft, {0, 1}, ARTICLE, matcher, "fr")
        return verdict.ok, verdict.reason

    assert check(_draft(direct="en 2025"))[0]
    assert not check(_draft(cites=(5,)))[0]
    assert "not in the sentence" in check(_draft(direct="en 2026"))[1]
    claim = Claim("Le musée a rouvert en 2025 après deux ans de travaux.", (0,), generated=True)
    assert check(_draft(direct="en 2025", claims=(claim,)))[0]
    invented = Claim("Le musée a rouvert en 2027.", (0,), generated=True)
    assert "2027" in check(_draft(direct="en 2025", claims=(invented,)))[1]
    named = Claim("Le maire Jean Kervella a rouvert le musée en 2025.", (0,), generated=True)
    assert "Jean Kervella" in check(_draft(direct="en 2025", claims=(named,)))[1]
    dropped = Claim("Le musée a rouvert récemment.", (0,), generated=True)
    assert "drops 2025" in check(_draft(direct="en 2025", claims=(dropped,)))[1]
    bad = verify(_draft(cites=(1,), translations={1: "The renovation cost 9 million euros."}),
                 {1}, ARTICLE, matcher, "en")
    assert bad.ok and bad.draft.translations == {} and "9" in bad.dropped[0]


def test_every_content_word_of_a_generated_sentence_must_be_stated() -> None:
    matcher = NameMatcher(None)

    def reason(text: str, cites: tuple[int, ...] = (0,), language: str = "fr",
               translations: dict[int, str] | None = None, context: str = "") -> str:
        draft = _draft(cites=cites, direct="", claims=(Claim(text, cites, generated=True),),
                       translations=translations or {})
        return verify(draft, set(cites), ARTICLE, matcher, language, context).reason

    # The sentence's facts in its own words, or in other forms of them, pass; any other
    # content word fails, harmless or not ("ses portes").
    assert reason("Le musée de Brest a rouvert après deux ans de travaux.") == ""
    assert reason("Les travaux du musée de Brest ont duré deux ans.") == (
        "the sentence says 'duré', which its cited sentences do not")
    assert reason("Le musée de Brest a rouvert ses portes en 2025.", context="Quand ?") == (
        "the sentence says 'portes', which its cited sentences do not")
    # A word of another sentence, a word of no sentence, a negation: caught.
    assert "'coûté'" in reason("Le musée a coûté deux ans de travaux.")
    assert "'fermé'" in reason("Le musée de Brest a fermé en 2025.")
    assert "negation" in reason("Le musée de Brest n'a pas rouvert en 2025.")
    # A sentence joining facts of two sentences must cite both.
    joined = "Le musée de Brest a rouvert en 2025 ; la rénovation a coûté 8 millions d'euros."
    assert "which its sentences do not" in reason(joined)  # its 8 million, first
    assert reason(joined, cites=(0, 1)) == ""
    # The question's own words may be used.
    assert reason("Les visiteurs retrouvent le musée de Brest en 2025.",
                  context="Quand les visiteurs retrouvent-ils le musée ?") == ""
    # A reader of another language: checked against the verified translation of the sentence.
    english = {0: "The Brest museum reopened in 2025 after two years of work."}
    assert reason("The museum reopened in 2025.", language="en", translations=english) == ""
    assert "'closed'" in reason("The museum closed in 2025.", language="en",
                                translations=english)
    assert "no verified translation" in reason("The museum reopened in 2025.", language="en")


def test_a_translation_keeps_negation() -> None:
    matcher = NameMatcher(None)
    negated = verify(_draft(cites=(0,), translations={
        0: "The Brest museum did not reopen in 2025 after two years of work."}),
        {0}, ARTICLE, matcher, "en")
    assert negated.draft.translations == {} and "negation" in negated.dropped[0]
