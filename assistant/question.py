"""What a question asks for: its language, its kind (who / when / where / how many / ...) and
which kinds of entity can answer it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .language import detect
from .text import fold, strip_markup, words

_PLACES = (r"(ville|pays|lieu|endroit|region|planete|continent|city|country|countries|place|town"
           r"|planet|spaceport)s?\b")
# "qui", "où", "quand" (who, where, when) ask only at the head of a clause, after a preposition
# or at the end ("c'est qui ?"); elsewhere they are relative ("les tensions qui entourent").
_HEAD = (r"(?:^|[,:;.!?(]\s*|\b(?:et|and|mais|but|alors|so|then|ensuite|donc|avec|de|par|pour"
         r"|chez|sur|contre|to|with|from|by|for|of|about|at|in|on|jusqu'a|d'ici|depuis|since"
         r"|until|till|know|wonder|ask|tell me|dis-moi|dites-moi|sais-tu|savez-vous|savoir"
         r"|demande|demandais)\s+)")


def _asking(word: str) -> str:
    return rf"(?:{_HEAD}(?:{word})\b|\b(?:{word})\s*\?*\s*$)"


_DOCUMENT = r"(?:l'|cet |ce |le |the |this )?(?:article|texte|text|document|piece|story|page)"
# (kind, pattern) in order: the first match wins. Patterns run on accent-folded text.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        # What the whole article says: "De quoi parle cet article ?", "Résume le texte",
        # "What is this about?", "the main points".
        ("overview", (rf"^\W*(?:(?:de quoi|sur quoi) (?:parle|traite|porte)(?:-t-il|-t-elle)?"
                      rf"(?: {_DOCUMENT}| ce| il| elle)?|de quoi s'agit-il|quel est le sujet"
                      rf"(?: de {_DOCUMENT}| du texte)?"
                      rf"|(?:fais |fait |faites |peux-tu faire |donne(?:-moi)? )?(?:un )?resum\w*"
                      rf"(?: {_DOCUMENT}| le| ca| cela| moi)?|(?:les |quels sont les )?(?:points"
                      rf" principaux|principaux points|grandes lignes)(?: de {_DOCUMENT})?"
                      rf"|what(?: is|'s) (?:{_DOCUMENT}|it) about|what does {_DOCUMENT} (?:say|cover)"
                      rf"|(?:can you |please )?(?:give me )?(?:a )?summar(?:y|i[sz]e)(?: of)?"
                      rf"(?: {_DOCUMENT}| it| this)?|(?:what are )?the (?:main|key) points"
                      rf"(?: of {_DOCUMENT})?|tl;?dr|(?:an? )?overview(?: of {_DOCUMENT})?)"
                      rf"(?: en (?:quelques|deux|trois) (?:mots|phrases)| in (?:a few|two|three)"
                      rf" (?:words|sentences))?\W*(?:please|s'il (?:te|vous) plait)?\W*$")),
        ("when", (rf"{_asking('quand|when')}|"
                 r"\b((en|a|pour|dans|d'ici|jusqu'en|depuis) quelle (annee|date|epoque)"
                 r"|quelle (annee|date)|quelle est la date|(what|which) "
                 r"(year|date|time)|what is the date|date of"
                 r"|until when|since when|by when|how long until)\b")),
        ("duration", (r"\b(combien de temps|pendant combien|how long|for how many years"
                     r"|jusqu'a quand|until when)\b")),
        ("money", (r"\b(budget|cout|coute|couter|couteux|prix|montant|financement|finance|cost"
                  r"|costs|price|funding|funded|spend|spent|paid|pay|how much money|dollars?"
                  r"|euros?)\b")),
        ("quantity", (r"\b(combien|how many|how much|how old|quel age|quel (nombre|pourcentage|chiffre)"
                     r"|what (number|percentage))\b")),
        # A place noun after a locative preposition asks where something is or happens ("dans
        # quelle ville", "from which spaceport"); without one it asks which place acts or is
        # acted on ("quels pays ont bâti", "which country signed").
        ("where", (rf"(^(d')?ou\b(?! bien)|\bd'(ou|where)\b|{_asking('where')}"
                  r"|\b(dans|en|a|au|aux|vers|depuis|sur|de|pres de"
                  r"|in|at|from|to|on|into|near|towards?) (quel|quelle|quels|quelles|which|what)"
                  rf" (\w+ )?{_PLACES})")),
        ("place", rf"\b(quel|quelle|quels|quelles|which|what) (\w+ )?{_PLACES}"),
        ("org", (r"\b(quel|quelle|quels|quelles|which|what) (entreprise|societe|compagnie"
                r"|constructeur|industriel|company|firm|manufacturer|contractor)s?\b")),
        ("who", (rf"{_asking('qui|who|whom|whose')}|"
                r"\b((quel|quelle|quels|quelles|which|what) (agence"
                r"|organisation|organisme|personne|agency|organization|person)s?"
                r"|quel est le nom|quel sera le nom"
                r"|what is the name|what (is|are|was|were|will) .* called|name of|comment s'appell\w*"
                r"|comment se nomm\w*"
                r"|how is .* called)\b")),
        ("why", (r"\b(pourquoi|why|pour quelle raison|for what reason|what led to"
                r"|(la|les|the) (causes?|raisons?|reasons?|motifs?) (de|des|du|d'|of|for|behind))")),
        ("how", r"\b(comment|how)\b"),
        ("what", r"\b(que|qu|quoi|quel|quelle|quels|quelles|lequel|laquelle|what|which)\b"),
    )
)
_YESNO = re.compile(
    r"^(is|are|was|were|do|does|did|will|would|can|could|has|have|had|should|est-ce que"
    r"|est ce que)\b|\w-t-(il|elle|ils|elles|on)\b|\w-(il|elle|ils|elles)\b"
)
# Which entity labels can answer each kind of question, best first.
WANTS: dict[str, tuple[str, ...]] = {
    "when": ("YEAR", "DATE"),
    "duration": ("DURATION", "YEAR", "DATE", "NUMBER"),
    "quantity": ("NUMBER", "DURATION"),
    "money": ("MONEY",),
    "org": ("ORG",),
    "where": ("LOC",),
    "place": ("LOC",),
    "who": ("PER", "ORG", "LOC", "MISC"),
}


_WHICH = re.compile(r"\b(quel|quelle|quels|quelles|which|what)\b")
_LEADER = re.compile(
    r"\b(dirig\w*|chef|patron\w*|president\w*|directeur|directrice|administrat\w*|head\w*"
    r"|lead\w*|led|runs?|ran|running|boss|chief|director|ceo|pdg)\b"
)


@dataclass(frozen=True)
class Conversation:
    """What a follow-up takes from the turns before it."""

    context: str = ""  # what the conversation already answered (a follow-up wants something new)
    focus: tuple[str, ...] = ()  # names a pronoun of the follow-up stands for
    # the sentences the last answer quoted: a follow-up about someone asks beyond them
    last_quotes: tuple[str, ...] = ()
    later_than: int = 0  # "Et ensuite ?": the answer must hold a later year than this
    must_name: tuple[str, ...] = ()  # "Et la mairie ?": the answer must be about this


@dataclass(frozen=True)
class Question:
    """A question as the engine reads it."""

    text: str  # as typed, cleaned of control characters
    search: str  # without markup: what is searched
    language: str
    kind: str  # overview, when, duration, quantity, money, where, place, who, org, why, how,
    # what, yesno
    # what a follow-up takes from the turns before
    conversation: Conversation = field(default_factory=Conversation)
    identity: str = ""  # "Qui est X ?": the answer is who X is, in the article's words
    named: str = ""  # "Comment s'appelle X ?": the X whose name is asked

    @property
    def wants(self) -> tuple[str, ...]:
        if self.kind == "who" and _LEADER.search(fold(self.search)) and not _WHICH.search(
                fold(self.search)):
            return ("PER",)  # who heads something is a person, not another organisation
        return WANTS.get(self.kind, ())

    def mentions(self, phrase: str) -> bool:
        """True when the question already names `phrase` (so it cannot be the answer)."""
        asked = {fold(w) for w in words(f"{self.search} {self.conversation.context}")}
        return any(fold(w) in asked for w in words(phrase) if len(w) > 2 or w.isdigit())


def question_kind(text: str) -> str:
    """The kind of answer `text` asks for; 'what' when nothing more specific is found."""
    return _explicit_kind(text) or ("yesno" if _YESNO.search(fold(text).strip()) else "what")


def _explicit_kind(text: str) -> str:
    """The kind a question word of `text` asks for, '' when it has none."""
    # "où" (where) and "ou" (or) differ only by the accent, which folding drops; an unaccented
    # "ou" counts as "où" only where "or" cannot stand (at the start, in "d'ou").
    # "Où en est-elle ?" asks how far along something is, not where.
    text = re.sub(r"\bo[ùu] en (?=(?:est|sont|était|étaient|sera|seront|sommes|êtes)\b)",
                  "comment en ", text, flags=re.IGNORECASE)
    folded = fold(re.sub(r"\bo[ùÙ]", "where", text, flags=re.IGNORECASE))
    for kind, pattern in _KINDS:
        if pattern.search(folded):
            if kind == "what" and _YESNO.search(folded.strip()):
                return "yesno"
            return kind
    return ""


def analyse(text: str, kind_from: str = "", default_language: str = "",
            conversation: Conversation = Conversation()) -> Question:
    """Read a (cleaned) question. `kind_from` is searched for a kind when `text` has no question
    word (a follow-up such as "And him?" asks what the previous question asked)."""
    search = strip_markup(text)
    kind = _explicit_kind(search)
    if not kind and kind_from:
        kind = question_kind(kind_from)
    kind = kind or question_kind(search)
    language = detect(search, default_language)
    identity = _IDENTITY.match(search)
    if not identity and kind_from and _IDENTITY_ASKED.search(kind_from):
        identity = _BARE_NAME.match(search)  # "Qui est X ?" then "Et Y ?" (then "Et Z ?")
    return Question(text=text, search=search, language=language, kind=kind,
                    conversation=conversation,
                    identity=identity.group("name") if identity else "", named=_named(search))


# "Comment s'appelle X ?", "What is X called?": the X whose name is asked.
_NAME_OF = re.compile(
    r"\b(?:(?:what|how) (?:is|are|was|were|will) (?P<middle>.+?) (?:be )?called\b"
    r"|(?:comment s['’]appell\w*|comment se nomm\w*|quel(?:le)? (?:est|sera|était) le nom"
    r"|name of)\s+(?P<after>.+))",
    re.IGNORECASE,
)


def _named(search: str) -> str:
    asked = _NAME_OF.search(search)
    named = (asked.group("middle") or asked.group("after") or "") if asked else ""
    return re.sub(r"^(?:de|du|des|d['’])\s*|\s*\?\s*$", "", named.strip(), flags=re.IGNORECASE)


_NAMED = r"(?:(?:M|Mr|Mme|Mrs|Ms|Dr)\.?\s+)?(?P<name>[A-ZÀ-ÖØ-Þ][\w'’-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]*)*)"
# "Qui est Jean Dupont ?", "Who was Ada Lovelace?": who someone is, not another name.
_IDENTITY = re.compile(
    rf"^\s*(?i:(?:et|and)\s+)?(?i:qui\s+(?:est|était|etait|sont)|who\s+(?:is|was|are)|who['’]s)"
    rf"\s+{_NAMED}\s*\??\s*$"
)
_IDENTITY_ASKED = re.compile(
    rf"(?i:qui\s+(?:est|était|etait|sont)|who\s+(?:is|was|are)|who['’]s)\s+{_NAMED}\s*\?"
)
_BARE_NAME = re.compile(
    rf"^\s*(?i:et|and|what about|and what about|quid de)\s+{_NAMED}\s*\??\s*$"
)
