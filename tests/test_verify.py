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
