"""Question reading without models: language, kind, follow-ups, names, cleaning."""

from __future__ import annotations

import pytest

from assistant.answerer import Choice, _follow_up_order, answer_entities, choose, extract
from assistant.article import Sentence
from assistant.condense import is_followup, standalone
from assistant.language import detect
from assistant.names import question_names
from assistant.nlp import Entity, entities, one_label_per_name
from assistant.question import Conversation, analyse, question_kind
from assistant.results import Answer, Citation, Turn
from assistant.retrieve import QueryStats, Scored
from assistant.store import Chunk
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
     ("Combien coûte la station ?", "money"), ("Quelle agence finance ?", "money"),
     ("Dans quelle grande ville ?", "where"), ("From which spaceport do they fly?", "where"),
     ("ou se trouve la base ?", "where"), ("Which countries built it?", "place"),
     ("Quels pays ou régions l'ont bâtie ?", "place"), ("Ils se sont vus où ?", "where"),
     ("Avec qui a-t-il parlé ?", "who"), ("Et lui, c'est qui ?", "who"),
     ("Quel conflit attise les tensions qui entourent l'accord ?", "what"),
     ("Paris a-t-il un projet qui lui appartienne ?", "yesno"),
     ("What happened when they met?", "what"), ("Comment se nomme le chef ?", "who"),
     ("Je voudrais savoir où ils se sont vus.", "where"), ("Ou bien la base ou le port ?", "what"),
     ("Et elle, où en est-elle ?", "how")],
)
def test_question_kind(text: str, kind: str) -> None:
    assert question_kind(text) == kind


def test_followup_inherits_kind_and_rewrites_query() -> None:
    history = [_turn("Où les directeurs se sont-ils rencontrés ?", "Houston",
                     "Ils se sont vus à Houston.")]
    assert is_followup("Et quand ?", history)
    assert not is_followup("Quand la station sera-t-elle retirée ?", [])
    rewritten = standalone("Et lui ?", history)
    assert rewritten.query.startswith("Et lui ?")
    assert "Houston" in rewritten.query and "rencontrés" in rewritten.query
    assert rewritten.conversation.context == "Houston"
    assert analyse("Et lui ?", kind_from=rewritten.kind_from).kind == "where"
    # "il" cannot stand for a place: the query keeps its own topic, with no name added
    own = standalone("Et qu'a-t-il déclaré sur les discussions ?", history)
    assert own.query == "Et qu'a-t-il déclaré sur les discussions ?"
    assert own.conversation.context == "Houston" and own.conversation.focus == ()
    # after a "who" question, "elle" stands for the person the answer named
    said = _answer("Marie Curie", "Marie Curie a rencontré Jean Dupont à Lyon.")
    who = standalone("Et qu'a-t-elle dit du budget ?", [Turn("Qui a rencontré Jean Dupont ?", said)])
    assert who.query == "Et qu'a-t-elle dit du budget ? (Marie Curie)"
    assert who.conversation.focus == ("Marie", "Curie")
    assert who.conversation.last_quotes == ("Marie Curie a rencontré Jean Dupont à Lyon.",)
    # "ils" stands for more people than the one name the answer gave
    assert standalone("Et de quoi ont-ils parlé ?", [Turn("Qui a rencontré Jean Dupont ?", said)]
                      ).conversation.focus == ()
    # an impersonal "il" stands for nobody
    other = standalone("Et qu'y a-t-il d'autre comme budget ?",
                       [Turn("Qui a rencontré Jean Dupont ?", said)])
    assert other.conversation.focus == ()
    refused = Answer("The article does not say.", False)
    assert standalone("Et lui ?", [Turn("Qui ?", refused)]).conversation.context == ""


def test_cleaning_and_markup() -> None:
    assert clean_question("  Qui\x00 est\tlà ?\x1b ") == "Qui est là ?"
    assert strip_markup("<b>Où</b> <img src=x onerror=alert(1)> ?") == "Où ?"
    assert stems("Les États-Unis coopèrent")[0] == "etats-unis"  # names kept whole, folded


def test_question_names() -> None:
    assert question_names("Quel rôle le Canada joue-t-il ?") == ["Canada"]
    assert question_names("Who met Sean Duffy?") == ["Sean Duffy"]
    assert question_names("Quand ?") == []
    assert question_names("Are Western sanctions still in force?") == []
    assert question_names("Et la NASA, qu'en pense-t-elle ?") == ["NASA"]
    assert question_names("**[ADMIN]** Réponds. Selon l'ONU ?") == ["ONU"]
    assert question_names("Did the European Space Agency send anyone?") == [
        "European Space Agency"]


def _answer(direct: str, quote: str) -> Answer:
    """A typed earlier answer: its direct answer and the sentence it quoted."""
    return Answer(f"{direct}. « {quote} » [1]", True, [Citation(quote, 0, len(quote), "", 0.0)],
                  direct=direct)


def _turn(question: str, direct: str, quote: str) -> Turn:
    return Turn(question, _answer(direct, quote))


def _candidate(i: int, text: str, fused: float | None = None,
               ents: tuple[Entity, ...] | None = None) -> tuple[Scored, Chunk]:
    """A retrieved sentence: its scores and what the index knows of it (patterns only)."""
    found = tuple(entities(text)) if ents is None else ents
    return (Scored(i, 5.0 - i if fused is None else fused, 0.8, 0.8, 0.8, 0.0, 0.0, ()),
            Chunk(Sentence(i, text, 0, len(text), "", 0), found, ()))


def _chunk(text: str, places: list[str]) -> Chunk:
    ents = tuple(Entity(p, "LOC", text.index(p), text.index(p) + len(p)) for p in places)
    return Chunk(Sentence(0, text, 0, len(text), "", 0), ents, ())


def test_a_place_answers_where_only_in_a_locative_phrase() -> None:
    where = analyse("In which city did they meet?")
    met = _chunk("They met at Lyon in France.", ["Lyon", "France"])
    argued = _chunk("Talks between Spain and Italy went well.", ["Spain", "Italy"])
    assert [e.text for e in answer_entities(where, met)] == ["Lyon", "France"]
    assert answer_entities(where, argued) == []
    # French puts a country after "en": it is no answer to "which city"
    seen = _chunk("Ils se sont vus à Lyon en France.", ["Lyon", "France"])
    city = analyse("Dans quelle ville se sont-ils vus ?")
    assert [e.text for e in answer_entities(city, seen)] == ["Lyon"]
    assert len(answer_entities(analyse("Où se sont-ils vus ?"), seen)) == 2
    # "Which countries..." asks for the places themselves: no preposition needed.
    assert [e.text for e in answer_entities(analyse("Which countries talked?"), argued)] == [
        "Spain", "Italy"]


def test_place_answer_keeps_lists_and_nested_places() -> None:
    scores = Scored(0, 1.0, 0.8, 0.8, 0.8, 0.0, 0.0, ())
    listed = _chunk("Built by Spain, Italy and Greece, later joined by Peru.",
                    ["Spain", "Italy", "Greece", "Peru"])
    q = analyse("Which countries built it?")
    ents = tuple(answer_entities(q, listed))
    assert extract(q, Choice(scores, listed, 1.0, ents)) == "Spain, Italy and Greece"
    nested = _chunk("They met at Lyon in France.", ["Lyon", "France"])
    q = analyse("Where did they meet?")
    ents = tuple(answer_entities(q, nested))
    assert extract(q, Choice(scores, nested, 1.0, ents)) == "Lyon in France"


def test_followup_about_someone_prefers_new_sentences_naming_them() -> None:
    quoted = "Marie Curie a rencontré Jean Dupont à Lyon."
    candidates = [_candidate(0, quoted, 9.0), _candidate(1, "Les discussions ont porté sur le budget.", 5.0),
                  _candidate(2, "Marie Curie a déclaré que tout allait bien.", 4.0)]
    what = analyse("Et qu'a-t-elle dit ?",
                   conversation=Conversation(focus=("Marie", "Curie"), last_quotes=(quoted,)))
    assert [s.sentence for s, _ in _follow_up_order(what, candidates)] == [2, 1, 0]
    # a "where" follow-up may find a new place in the sentence already quoted
    where = analyse("Et où était-elle ?",
                    conversation=Conversation(focus=("Marie", "Curie"), last_quotes=(quoted,)))
    assert [s.sentence for s, _ in _follow_up_order(where, candidates)] == [0, 2, 1]


def test_why_needs_a_sentence_that_gives_a_reason() -> None:
    why = analyse("Pourquoi la réunion a-t-elle eu lieu ?")
    assert choose(why, [_candidate(0, "La réunion a eu lieu lundi.", 5.0)]) is None
    assert choose(why, [_candidate(0, "Elle servira pour quelques années.", 5.0)]) is None
    assert choose(why, []) is None
    reason = _candidate(1, "La réunion a eu lieu afin de signer l'accord.", 4.0)
    chosen = choose(why, [_candidate(0, "La réunion a eu lieu lundi.", 5.0), reason])
    assert chosen is not None and chosen.chunk.sentence.index == 1


def test_who_came_before_someone_needs_a_sentence_about_succession() -> None:
    def person(i: int, text: str, name: str) -> tuple[Scored, Chunk]:
        ent = Entity(name, "PER", text.index(name), text.index(name) + len(name))
        return _candidate(i, text, ents=(ent,))

    stats = QueryStats(article_mean=0.0, clause_mean=0.8, clause_std=0.1, fused_top=5.0)
    met = person(0, "Jean Dupont a rencontré Marie Curie à Lyon.", "Jean Dupont")
    assert choose(analyse("Qui dirigeait l'agence avant Marie Curie ?"), [met], stats) is None
    assert choose(analyse("Who will replace Marie Curie?"), [met], stats) is None
    before = person(1, "Jean Dupont a précédé Marie Curie à la tête de l'agence.", "Jean Dupont")
    chosen = choose(analyse("Qui dirigeait l'agence avant Marie Curie ?"), [met, before], stats)
    assert chosen is not None and chosen.chunk.sentence.index == 1
    assert choose(analyse("Qui a rencontré Marie Curie ?"), [met], stats) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Elle servira pour quelques années encore.", [("quelques années encore", "DURATION")]),
     ("Le chantier durera 3 ans et coûtera 5 millions d'euros.",
      [("3 ans", "DURATION"), ("5 millions d'euros", "MONEY")]),
     ("Deux agences ont signé en 2024.", [("Deux", "NUMBER"), ("2024", "YEAR")]),
     ("Several partners stayed, for a few more years.", [("a few more years", "DURATION")]),
     # a number written in digit groups is one duration, not its last group
     ("Ces dépôts accumulés depuis 300 000 ans.", [("300 000 ans", "DURATION")])],
)
def test_patterns_find_years_numbers_money_and_durations(
        text: str, expected: list[tuple[str, str]]) -> None:
    assert [(e.text, e.label) for e in entities(text)] == expected


def test_a_vague_duration_answers_how_long_but_not_how_many() -> None:
    text = "La Russie utilisera son segment pour quelques années encore."
    chunk = Chunk(Sentence(0, text, 0, len(text), "", 0), tuple(entities(text)), ())
    how_long = analyse("Pendant combien de temps encore la Russie l'utilisera-t-elle ?")
    assert [e.text for e in answer_entities(how_long, chunk)] == ["quelques années encore"]
    assert answer_entities(analyse("Combien d'années la Russie l'utilisera-t-elle ?"), chunk) == []


def test_and_then_asks_for_something_later() -> None:
    history = [_turn("Jusqu'à quand le musée restera-t-il ouvert ?", "Jusqu'en 2028",
                     "Le musée restera ouvert jusqu'en 2028.")]
    rewritten = standalone("Et ensuite, qu'est-il prévu ?", history)
    assert rewritten.conversation.later_than == 2028
    assert standalone("Et pourquoi ?", history).conversation.later_than == 0
    # "ensuite, où" asks where; "then" at the end means "at that time"
    assert standalone("Et ensuite, où est-il allé ?", history).conversation.later_than == 0
    assert standalone("Who ran it then?", history).conversation.later_than == 0

    question = analyse("Et ensuite, qu'est-il prévu ?", conversation=Conversation(later_than=2028))
    candidates = [_candidate(0, "Le musée restera ouvert jusqu'en 2028.", 5.0),
                  _candidate(1, "Il sera démoli en 2031.", 3.0)]
    chosen = choose(question, candidates)
    assert chosen is not None and chosen.chunk.sentence.index == 1


def test_what_is_x_called_needs_a_name_standing_by_x() -> None:
    def chunk(text: str, names: list[tuple[str, str]], role: str = "") -> Chunk:
        ents = tuple(Entity(n, label, text.index(n), text.index(n) + len(n), role)
                     for n, label in names)
        return Chunk(Sentence(0, text, 0, len(text), "", 0), ents, ())

    asked = analyse("Comment s'appelle le vaisseau de la mission ?")
    boat = chunk("Le vaisseau Orion emmènera demain les équipages à Paris.",
                 [("Orion", "MISC"), ("Paris", "LOC")])
    assert [e.text for e in answer_entities(asked, boat)] == ["Orion"]
    plans = chunk("Paris prévoit la construction de son propre vaisseau.", [("Paris", "LOC")])
    assert answer_entities(asked, plans) == []
    # a person's stated role can share the words of what is asked
    chief = chunk("Jean Dupont, le chef de la mission, a parlé.", [("Jean Dupont", "PER")],
                  role="le chef de la mission")
    assert [e.text for e in answer_entities(analyse("Comment se nomme le chef de la mission ?"),
                                            chief)] == ["Jean Dupont"]


def test_what_about_another_name_needs_a_sentence_about_it() -> None:
    history = [_turn("Jusqu'à quand le musée restera-t-il ouvert ?", "Jusqu'en 2028",
                     "Le musée restera ouvert jusqu'en 2028.")]
    assert standalone("Et la Bibliothèque ?", history).conversation.must_name == ("Bibliothèque",)
    assert standalone("Et combien a coûté la Bibliothèque ?", history).conversation.must_name == ()

    question = analyse("Et la Bibliothèque ?",
                       conversation=Conversation(must_name=("Bibliothèque",)))
    assert choose(question, [_candidate(0, "Le musée restera ouvert jusqu'en 2028.")]) is None
    chosen = choose(question, [_candidate(0, "Le musée restera ouvert jusqu'en 2028."),
                               _candidate(1, "La Bibliothèque fermera en 2026.")], {})
    assert chosen is not None and chosen.chunk.sentence.index == 1


def test_a_count_must_count_what_is_asked() -> None:
    chunk = _candidate(0, "Les deux agences se sont vues en 2018.")[1]
    assert answer_entities(analyse("Combien d'années se sont écoulées ?"), chunk) == []
    assert [e.text for e in answer_entities(analyse("How many agencies met?"), chunk)] == ["deux"]
    modules = _candidate(0, "La station aura trois nouveaux modules.")[1]
    assert [e.text for e in answer_entities(analyse("Combien de modules ?"), modules)] == ["trois"]
    assert analyse("Quel âge a-t-il ?").kind == "quantity"


def test_who_is_someone_answers_with_their_role() -> None:
    text = "Jean Dupont, le maire de Lyon, a rencontré Marie Curie."
    dupont = Entity("Jean Dupont", "PER", 0, 11, "le maire de Lyon")
    curie = Entity("Marie Curie", "PER", text.index("Marie"), len(text) - 1)
    candidate = _candidate(0, text, ents=(dupont, curie))
    question = analyse("Qui est Jean Dupont ?")
    assert question.identity == "Jean Dupont"
    chosen = choose(question, [candidate])
    assert chosen is not None and extract(question, chosen) == "Jean Dupont, le maire de Lyon"
    # "Et X ?" after "Qui est Y ?" asks who X is
    assert analyse("Et Curie ?", kind_from="Qui est Jean Dupont ?").identity == "Curie"
    third = "Et Curie ? (Qui est Jean Dupont ? Jean Dupont, le maire de Lyon)"
    assert analyse("Et Pasteur ?", kind_from=third).identity == "Pasteur"
    assert analyse("Qui est le maire ?").identity == ""


def test_who_heads_something_is_a_person() -> None:
    assert analyse("Qui dirige l'agence ?").wants == ("PER",)
    assert analyse("Who runs the agency?").wants == ("PER",)
    assert analyse("Qui a signé l'accord ?").wants == ("PER", "ORG", "LOC", "MISC")
    assert analyse("Quelle agence dirige la coopération ?").wants == ("PER", "ORG", "LOC", "MISC")


def test_a_pronoun_beside_a_name_of_the_follow_up_stands_for_it() -> None:
    said = _answer("Marie Curie", "Marie Curie a rencontré Jean Dupont à Lyon.")
    rewritten = standalone("Et Jean Dupont, qu'en pense-t-il ?", [Turn("Qui a vu Jean Dupont ?",
                                                                       said)])
    assert rewritten.conversation.focus == ("Jean", "Dupont")
    assert rewritten.query == "Et Jean Dupont, qu'en pense-t-il ?"


def test_a_name_after_an_organisation_noun_is_an_organisation_everywhere() -> None:
    texts = ["L'agence spatiale Kosmo et Paris ont signé.", "Kosmo construira la base."]
    at = texts[0].index
    found = [[Entity("Kosmo", "LOC", at("Kosmo"), at("Kosmo") + 5),
              Entity("Paris", "LOC", at("Paris"), at("Paris") + 5)],
             [Entity("Kosmo", "LOC", 0, 5)]]
    labels = [[(e.text, e.label) for e in ents] for ents in one_label_per_name(found, texts)]
    assert labels == [[("Kosmo", "ORG"), ("Paris", "LOC")], [("Kosmo", "ORG")]]
    # a place after a preposition stays a place: "l'agence de Lyon" is in Lyon
    lyon = ["L'agence de Lyon a signé."]
    kept = one_label_per_name([[Entity("Lyon", "LOC", lyon[0].index("Lyon"), lyon[0].index("Lyon") + 4)]],
                      lyon)
    assert kept[0][0].label == "LOC"


@pytest.mark.parametrize(
    ("text", "overview"),
    [("De quoi parle cet article ?", True), ("Résume le texte", True), ("Résume l'article", True),
     ("What is this article about?", True), ("Summarize the article", True),
     ("What are the main points?", True), ("Quels sont les points principaux ?", True),
     ("Fais un résumé", True), ("What's it about?", True), ("tl;dr", True),
     ("Résume la rencontre entre les deux directeurs", False), ("Qui est le directeur ?", False),
     ("What is the station?", False), ("De quoi ont-ils parlé ?", False)],
)
def test_overview_questions(text: str, overview: bool) -> None:
    assert (question_kind(text) == "overview") is overview
