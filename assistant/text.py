"""Text helpers shared by indexing and querying: cleaning, accent folding, tokens, stems."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import snowballstemmer

# Control characters and line/paragraph separators become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# Invisible characters are removed, not turned into spaces, so that a word they were slipped
# into stays one word ("N\u200bASA" is NASA): zero-width spaces and joiners, soft hyphen,
# bidirectional marks, embeddings and isolates, variation selectors, byte order marks, Unicode
# tag characters (which can smuggle hidden text), Hangul fillers.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = re.compile(r"<[^<>]{0,200}>")
_WORD = re.compile(r"[\w]+(?:[-'’][\w]+)*", re.UNICODE)
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)

# Function words of French and English: they carry no topic, so keyword search ignores them.
STOPWORDS_FR = frozenset(
    ["a", "à", "au", "aux", "avec", "ce", "ces", "cet", "cette", "c", "ça", "d", "dans", "de", "des", "du", "elle", "elles", "en", "et", "eux", "il", "ils", "je", "la", "le", "les", "leur", "leurs", "lui", "ma", "mais", "me", "même", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "on", "ou", "où", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "son", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "été", "être", "est", "sont", "était", "étaient", "sera", "seront", "ont", "avait", "avaient", "aura", "auront", "ai", "as", "avons", "avez", "fait", "faire", "quel", "quelle", "quels", "quelles", "quoi", "quand", "comment", "combien", "pourquoi", "lequel", "laquelle", "lesquels", "lesquelles", "dont", "si", "selon", "l", "s", "n", "m", "t", "j", "est-ce", "ceci", "cela", "celle", "celui", "ceux", "celles", "tout", "tous", "toute", "toutes", "très", "plus", "aussi", "alors", "donc", "ainsi", "entre", "vers", "chez", "sous", "sans", "depuis", "jusqu", "jusque", "après", "avant", "encore", "déjà", "article", "texte", "dit", "dire", "dit-on"]
)
STOPWORDS_EN = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "about", "into", "over", "after", "before", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "done", "have", "has", "had", "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "it", "its", "this", "that", "these", "those", "there", "here", "he", "she", "they", "them", "his", "her", "their", "him", "we", "us", "our", "you", "your", "i", "me", "my", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much", "not", "no", "yes", "so", "than", "then", "too", "very", "also", "just", "only", "any", "some", "all", "each", "every", "both", "either", "neither", "according", "article", "text", "say", "says", "said", "tell"]
)
STOPWORDS = STOPWORDS_FR | STOPWORDS_EN

_STEMMERS = {
    "fr": snowballstemmer.stemmer("french"),
    "en": snowballstemmer.stemmer("english"),
}


def drop_surrogates(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs joined, lone surrogates (from undecodable
    bytes or broken clients) removed, so that it can always be encoded as UTF-8."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def clean_question(text: str) -> str:
    """Valid Unicode (NFC), invisible characters removed, control characters as spaces,
    whitespace collapsed; everything else kept as typed."""
    text = unicodedata.normalize("NFC", drop_surrogates(text))
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    return re.sub(r"\s+", " ", text).strip()


def strip_markup(text: str) -> str:
    """Text without HTML tags or entities, for searching (the question itself stays as typed)."""
    text = html.unescape(_TAG.sub(" ", text))
    text = re.sub(r"[*_`#>\[\]]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lowercase without accents: 'Étienne-Élise' -> 'etienne-elise'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


def words(text: str) -> list[str]:
    """Word tokens with French elisions removed ("l'ONU" -> "ONU")."""
    return [_ELISION.sub("", w) for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Lowercased words that are not function words."""
    return [w.lower() for w in words(text) if _is_content(w.lower())]


def _is_content(low: str) -> bool:
    return low not in STOPWORDS and fold(low) not in STOPWORDS and len(low) > 1 or low.isdigit()


def stems(text: str, language: str = "fr") -> list[str]:
    """Accent-folded stems of the content words, for keyword search."""
    stemmer = _STEMMERS.get(language, _STEMMERS["fr"])
    out = []
    for word in words(text):
        low = word.lower()
        if word[:1].isupper() or word.isupper() or low.isdigit():
            if low not in STOPWORDS:  # names, acronyms and numbers are kept whole
                out.append(fold(low))
        elif _is_content(low):
            out.append(fold(stemmer.stemWord(low)))
    return out
