"""The page's own words in French and English, and how the page's language is chosen.

Pure data and functions, no Gradio: `text(lang, key, **values)` is every label the page shows.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
MAX_HIGHLIGHTS = 20

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "page_title": "Questions sur l'article",
        "intro": "Posez une question sur l'article, en français ou en anglais. Chaque réponse "
        "cite ses phrases, surlignées dans l'article ; touchez une source pour la retrouver.",
        "chat_label": "Conversation",
        "chat_placeholder": "Les réponses s'affichent ici, avec leurs sources. "
        "Essayez une de ces questions :",
        "question_label": "Votre question",
        "placeholder": "Votre question sur l'article… (Entrée pour envoyer)",
        "send": "Envoyer",
        "stop": "Arrêter",
        "new_conversation": "Nouvelle conversation",
        "tab_chat": "Conversation",
        "tab_article": "Article",
        "tabs_label": "Vue",
        "article_label": "L'article",
        "legend_found": "Surligné : les phrases citées par la dernière réponse.",
        "legend_near": "Surligné : le passage le plus proche, qui ne répond pas à la question.",
        "legend_none": "Les phrases citées par les réponses seront surlignées ici.",
        "sources": "Sources",
        "closest": "Passage le plus proche (il ne répond pas à la question)",
        "not_in_article": "L'article ne le dit pas",
        "full_quote": "Citation complète",
        "translation": "Traduction automatique",
        "translation_label": "Traduction automatique :",
        "copy": "Copier avec les sources",
        "like": "Cette réponse m'est utile",
        "dislike": "Cette réponse ne m'est pas utile",
        "like_short": "Utile",
        "dislike_short": "Pas utile",
        "show_source": "Montrer dans l'article",
        "typing": "L'assistant rédige la réponse…",
        "queued": "En attente : la question précédente reçoit sa réponse.",
        "stopped": "Réponse arrêtée.",
        "empty": "Écrivez une question avant d'envoyer.",
        "too_long": "Votre question est trop longue ({length} caractères, maximum {limit}). "
        "Raccourcissez-la puis renvoyez-la.",
        "too_many_waiting": "Attendez la réponse aux questions déjà envoyées ({count} en "
        "attente), puis renvoyez celle-ci.",
        "busy": "Le service est très sollicité en ce moment. Réessayez dans quelques secondes ; "
        "votre question est restée dans la zone de saisie.",
        "rate_limited": "Trop de questions en peu de temps. Réessayez dans {seconds} s ; votre "
        "question est restée dans la zone de saisie.",
        "engine_error": "Le moteur de réponse n'a pas pu répondre : {message} "
        "Corrigez cela puis reposez la question ; la conversation est conservée.",
        "unexpected": "Une erreur inattendue est survenue ({kind}). Reposez la question ; si "
        "cela se reproduit, consultez le journal du serveur.",
        "feedback_saved": "Merci pour votre avis.",
        "feedback_failed": "Merci. Votre avis n'a pas pu être enregistré (voir le journal "
        "du serveur).",
        "feedback_missing": "Cette réponse n'est plus dans la conversation.",
        "quick": "Réponse rapide",
        "quick_title": "Le modèle de langue était occupé : voici tout de suite la réponse "
        "vérifiée des règles, tirée de l'article comme les autres.",
        "other_article": "Utiliser un autre article",
        "bundled_article": "Revenir à l'article fourni",
        "editor_title": "Un autre article",
        "editor_hint": "Collez le texte de l'article : le titre sur la première ligne, puis "
        "le sous-titre et les paragraphes, chacun sur sa ligne. Au plus {limit} caractères.",
        "editor_label": "Texte de l'article",
        "editor_placeholder": "Titre de l'article\nSous-titre\nPremier paragraphe…",
        "read_article": "Lire cet article",
        "close_editor": "Fermer",
        "article_reading": "Lecture de l'article…",
        "article_waiting": "En attente : un autre article est en cours de lecture.",
        "article_ready": "Article prêt : {sentences} phrases. La conversation recommence, "
        "sur cet article.",
        "article_back": "Retour à l'article fourni. La conversation recommence.",
        "article_empty": "Collez le texte d'un article avant de le lire.",
        "article_too_long": "Cet article est trop long ({length} caractères, maximum "
        "{limit}). Raccourcissez-le puis relisez-le.",
        "article_rate_limited": "Trop d'articles en peu de temps. Réessayez dans {seconds} s ; "
        "votre texte est resté dans la zone de saisie.",
        "article_error": "L'article n'a pas pu être lu : {message} Corrigez le texte puis "
        "relisez-le ; l'article précédent reste affiché.",
        "article_pasted": "Article collé",
        "progress_label": "Lecture de l'article",
    },
    "en": {
        "page_title": "Questions about the article",
        "intro": "Ask a question about the article, in French or English. Each answer cites "
        "its sentences, highlighted in the article; tap a source to find it.",
        "chat_label": "Conversation",
        "chat_placeholder": "Answers appear here, with their sources. "
        "Try one of these questions:",
        "question_label": "Your question",
        "placeholder": "Your question about the article… (Enter to send)",
        "send": "Send",
        "stop": "Stop",
        "new_conversation": "New conversation",
        "tab_chat": "Conversation",
        "tab_article": "Article",
        "tabs_label": "View",
        "article_label": "The article",
        "legend_found": "Highlighted: the sentences cited by the latest answer.",
        "legend_near": "Highlighted: the closest passage, which does not answer the question.",
        "legend_none": "The sentences that answers cite will be highlighted here.",
        "sources": "Sources",
        "closest": "Closest passage (it does not answer the question)",
        "not_in_article": "The article does not say",
        "full_quote": "Full quote",
        "translation": "Machine translation",
        "translation_label": "Machine translation:",
        "copy": "Copy with sources",
        "like": "This answer helps me",
        "dislike": "This answer does not help me",
        "like_short": "Helpful",
        "dislike_short": "Not helpful",
        "show_source": "Show in the article",
        "typing": "The assistant is writing the answer…",
        "queued": "Waiting: the previous question is being answered.",
        "stopped": "Answer stopped.",
        "empty": "Type a question before sending.",
        "too_long": "Your question is too long ({length} characters, at most {limit}). "
        "Shorten it and send it again.",
        "too_many_waiting": "Wait for the answers to the questions already sent ({count} "
        "waiting), then send this one again.",
        "busy": "This application is busy right now. Try again in a few seconds; your "
        "question is still in the input box.",
        "rate_limited": "Too many questions in a short time. Try again in {seconds} s; your "
        "question is still in the input box.",
        "engine_error": "The answer engine could not answer: {message} "
        "Fix this, then ask again; the conversation is kept.",
        "unexpected": "An unexpected error occurred ({kind}). Ask again; if it happens again, "
        "look at the server log.",
        "feedback_saved": "Thank you for your feedback.",
        "feedback_failed": "Thank you. Your feedback could not be saved (see the server log).",
        "feedback_missing": "This answer is no longer in the conversation.",
        "quick": "Quick answer",
        "quick_title": "The language model was busy: this is the rules' verified answer, "
        "given at once, taken from the article like the others.",
        "other_article": "Use another article",
        "bundled_article": "Back to the bundled article",
        "editor_title": "Another article",
        "editor_hint": "Paste the article's text: the title on the first line, then the "
        "subtitle and the paragraphs, each on its own line. At most {limit} characters.",
        "editor_label": "Article text",
        "editor_placeholder": "Article title\nSubtitle\nFirst paragraph…",
        "read_article": "Read this article",
        "close_editor": "Close",
        "article_reading": "Reading the article…",
        "article_waiting": "Waiting: another article is being read.",
        "article_ready": "Article ready: {sentences} sentences. The conversation starts over, "
        "about this article.",
        "article_back": "Back to the bundled article. The conversation starts over.",
        "article_empty": "Paste an article's text before reading it.",
        "article_too_long": "This article is too long ({length} characters, at most "
        "{limit}). Shorten it, then read it again.",
        "article_rate_limited": "Too many articles in a short time. Try again in {seconds} s; "
        "your text is still in the box.",
        "article_error": "The article could not be read: {message} Fix the text, then read "
        "it again; the previous article stays.",
        "article_pasted": "Pasted article",
        "progress_label": "Reading the article",
    },
}

def language(lang: str | None) -> str:
    """The UI language for `lang`: "fr" or "en" (French for anything else)."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def text(lang: str | None, key: str, **values: Any) -> str:
    """The UI string `key` in `lang` (plain text, not escaped), formatted with `values`."""
    template = STRINGS[language(lang)][key]
    return template.format(**values) if values else template


def language_from_header(accept_language: str | None) -> str:
    """The first of fr/en named in an Accept-Language header, else the default."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def number(value: int, lang: str | None) -> str:
    """`value` with its thousands grouped as the language writes them (100 000 / 100,000)."""
    grouped = f"{value:,}"
    return grouped.replace(",", "\u202f") if language(lang) == "fr" else grouped
