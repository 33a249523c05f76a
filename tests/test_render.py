"""Rendering of answers, sources and the article panel: exact highlights, escaping, languages."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from ui_support import mark_classes, marked, sources, visible_text

from assistant import render
from assistant.article import load_article, parse_article
from assistant.config import DEFAULT_ARTICLE
from assistant.render import Highlight
from assistant.results import Answer, Citation

ARTICLE = load_article(DEFAULT_ARTICLE)


def cite(i: int) -> Citation:
    s = ARTICLE.sentences[i]
    return Citation(s.text, s.start, s.end, s.section, 0.5)


def test_article_panel_shows_title_subtitle_headings_and_every_sentence():
    panel = render.render_article(ARTICLE)
    assert f'<h2 class="art-title">{html.escape(ARTICLE.title)}</h2>' in panel
    assert f'<p class="art-subtitle">{html.escape(ARTICLE.subtitle)}</p>' in panel
    headings = [s.heading for s in ARTICLE.sections if s.heading]
    assert len(headings) >= 5
    for heading in headings:
        assert f'<h3 class="art-heading">{html.escape(heading)}</h3>' in panel
    text = visible_text(panel)
    for sentence in ARTICLE.sentences:
        assert sentence.text in text
    assert "##" not in text  # the mid-line heading marker is markup, not text
    assert "<mark" not in panel and 'id="hl-target"' not in panel


@pytest.mark.parametrize("index", range(len(ARTICLE.sentences)))
def test_each_sentence_is_highlighted_exactly(index):
    s = ARTICLE.sentences[index]
    panel = render.render_article(ARTICLE, [Highlight(s.start, s.end, 1)])
    assert marked(panel, 1) == s.text == ARTICLE.text[s.start : s.end]
    assert panel.count('<sup class="hl-num">1</sup>') == 1
    assert panel.count('id="hl-target"') == 1


def test_highlights_follow_offsets_not_sentences():
    s = ARTICLE.sentences[2]
    start, end = s.start + 10, s.end - 7  # mid-word on both sides
    panel = render.render_article(ARTICLE, [Highlight(start, end, 1)])
    assert marked(panel, 1) == ARTICLE.text[start:end]
    # A span across two sentences of a paragraph keeps the space between them.
    a, b = ARTICLE.sentences[0], ARTICLE.sentences[1]
    panel = render.render_article(ARTICLE, [Highlight(a.start, b.end, 1)])
    assert marked(panel, 1) == ARTICLE.text[a.start : b.end]


def test_overlapping_highlights_are_each_exact_and_numbered_once():
    s = ARTICLE.sentences[4]
    one = Highlight(s.start, s.start + 60, 1)
    two = Highlight(s.start + 30, s.end, 2)
    panel = render.render_article(ARTICLE, [two, one])
    assert marked(panel, 1) == ARTICLE.text[one.start : one.end]
    assert marked(panel, 2) == ARTICLE.text[two.start : two.end]
    assert panel.count('<sup class="hl-num">1</sup>') == 1
    assert panel.count('<sup class="hl-num">2</sup>') == 1
    assert any({"c1", "c2"} <= classes for classes in mark_classes(panel))


def test_scroll_target_is_the_first_number_or_the_active_one():
    late, early = ARTICLE.sentences[9], ARTICLE.sentences[3]
    highlights = [Highlight(late.start, late.end, 1), Highlight(early.start, early.end, 2)]
    panel = render.render_article(ARTICLE, highlights)
    target = re.search(r'<mark class="([^"]*)" id="hl-target"', panel)
    assert target and "c1" in target.group(1).split()
    assert "hl-active" not in panel
    panel = render.render_article(ARTICLE, highlights, active=2)
    target = re.search(r'<mark class="([^"]*)" id="hl-target"', panel)
    assert target and {"c2", "hl-active"} <= set(target.group(1).split())
    assert all("hl-active" not in c or "c2" in c for c in mark_classes(panel))


def test_not_found_highlights_look_different_and_legend_says_so():
    s = ARTICLE.sentences[8]
    answer = Answer("The article does not say.", False, [cite(8)], "en", "q")
    panel = render.render_article(ARTICLE, render.highlights_for(answer), lang="en")
    assert all("hl-near" in classes for classes in mark_classes(panel))
    assert marked(panel, 1) == s.text
    assert "does not answer the question" in panel
    found = Answer("x [1]", True, [cite(8)], "fr", "q")
    panel = render.render_article(ARTICLE, render.highlights_for(found), lang="fr")
    assert not any("hl-near" in classes for classes in mark_classes(panel))
    assert "phrases citées" in panel


def test_article_text_is_escaped():
    article = parse_article(
        "Titre <b>gras</b> & co\nSous-titre <i>x</i>\n"
        "Une phrase avec <script>alert(1)</script> dedans. Une autre <img src=x onerror=alert(2)>.\n"
    )
    panel = render.render_article(article)
    assert "<script" not in panel and "<img" not in panel and "<b>" not in panel
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "Titre &lt;b&gt;gras&lt;/b&gt; &amp; co" in panel
    s = article.sentences[0]
    assert marked(render.render_article(article, [Highlight(s.start, s.end, 1)]), 1) == s.text


def test_answer_shows_text_markers_and_compact_sources():
    answer = Answer("jusqu'en 2028 [1], puis 2030 [2].", True, [cite(0), cite(2)], "fr", "q")
    out = render.render_answer(answer)
    assert 'class="ans ans-found"' in out
    assert out.count('class="mk"') == 2
    assert sources(out) == [
        (1, cite(0).start, cite(0).end),
        (2, cite(2).start, cite(2).end),
    ]
    text = visible_text(out)
    assert "jusqu'en 2028 [1], puis 2030 [2]." in text
    assert "Sources" in text and "L'article ne le dit pas" not in text
    # One line a source: marker, section, first words; the whole quote one click away, once.
    first_words = " ".join(cite(0).text.split()[: render.FIRST_WORDS])
    line = re.search(r'<button type="button" class="src-btn"[^>]*>(.*?)</button>', out)
    assert line and f"[1] {cite(0).section} « {first_words} … »" in visible_text(line.group(1))
    assert visible_text(out).count(cite(0).text) == 1
    assert '<details class="src-more"><summary>Citation complète</summary>' in out


def test_a_quote_already_in_the_answer_text_is_not_repeated_under_it():
    quote = cite(4).text
    answer = Answer(f"2027. Selon l'article : « {quote} » [1]", True, [cite(4)], "fr", "q")
    out = render.render_answer(answer)
    assert visible_text(out).count(quote) == 1
    assert "src-more" not in out and "src-quote" not in out


def test_machine_translation_is_labelled_beside_the_quote():
    c = dataclasses.replace(cite(4), translation="Moscow also plans its own station.")
    out = render.render_answer(Answer("2027 [1]", True, [c], "en", "q"))
    more = re.search(r'<details class="src-more">(.*?)</details>', out, re.DOTALL)
    assert more
    assert html.escape(c.text, quote=True) in more.group(1)  # the verbatim quote...
    assert "Machine translation: Moscow also plans its own station." in visible_text(
        more.group(1)
    )  # ...and the labelled translation beside it
    assert 'lang="fr"' in more.group(1) and 'class="src-mt" lang="en"' in more.group(1)
    plain = render.answer_plain_text(Answer("2027 [1]", True, [c], "en", "q"))
    assert "Machine translation: Moscow also plans its own station." in plain


def test_the_searched_query_is_never_shown():
    answer = Answer("Houston [1]", True, [cite(6)], "fr", "Où ça ? (Qui a rencontré Duffy ? X)")
    messages = render.chat_messages([("Qui ?", answer), ("Où ça ?", answer)])
    for message in messages:
        assert "Qui a rencontré Duffy" not in message["content"]
        assert "recherchée" not in message["content"]


def test_vote_buttons_carry_the_answer_id_and_labels_in_its_language():
    out = render.render_answer(Answer("x", True, [], "en", "q"), answer_id="abc123")
    assert 'value="abc123:up"' in out and 'value="abc123:down"' in out
    assert "Helpful" in out and "Utile" not in out
    assert "vote" not in render.render_answer(Answer("x", True, [], "en", "q"))


def test_pending_waiting_and_stopped_exchanges():
    done = render.Exchange("Q1 ?", Answer("a [1]", True, [cite(0)], "fr", "Q1 ?"), "id1")
    typing = render.Exchange("Q2 ?", state="streaming")
    waiting = render.Exchange("Q3 ?", state="waiting")
    messages = render.chat_messages([done, typing, waiting], "en")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert 'class="typing"' in messages[3]["content"] and "writing" in messages[3]["content"]
    assert "Waiting" in messages[4]["content"] and "Q3 ?" in messages[4]["content"]
    partial = render.chat_messages([render.Exchange("Q ?", partial="Le début", state="streaming")])
    assert "Le début" in partial[1]["content"] and "ans-streaming" in partial[1]["content"]
    stopped = render.chat_messages([render.Exchange("Q ?", partial="Le déb", state="stopped")])
    assert "Le déb" in stopped[1]["content"] and "Réponse arrêtée" in stopped[1]["content"]


def test_tabs_switch_between_chat_and_article_in_the_page_language():
    fr = render.render_tabs("fr")
    assert 'id="tab-chat" aria-pressed="true"' in fr and 'id="tab-article" aria-pressed="false"' in fr
    assert ">Conversation<" in fr and ">Article<" in fr
    en = render.render_tabs("en", article=True)
    assert 'id="tab-article" aria-pressed="true"' in en and 'lang="en"' in en


def test_markup_in_answers_and_questions_renders_as_text():
    nasty = (
        '<script>alert(1)</script><img src="http://example.com/x.png"> '
        "[lien](javascript:alert(3)) ![i](http://example.com/y.png) [9] **gras**"
    )
    out = render.render_answer(Answer(nasty, True, [cite(0)], "fr", nasty))
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "&lt;script&gt;" in out
    assert out.count('class="mk"') == 0  # [9] matches no citation: stays text
    assert "[9]" in visible_text(out)
    q = render.render_question(nasty + "\nligne 2")
    assert "<script" not in q and "<img" not in q and "<br>" in q
    assert visible_text(q).startswith("<script>alert(1)</script>")


def test_copy_text_keeps_the_sources():
    answer = Answer("2027 [1]", True, [cite(9)], "en", "q")
    plain = render.answer_plain_text(answer)
    assert plain.splitlines()[0] == "2027 [1]"
    assert "Sources:" in plain
    assert f"[1] “{cite(9).text}” ({cite(9).section})" in plain
    out = render.render_answer(answer)
    copy = re.search(r'<pre class="copy-text" hidden>(.*?)</pre>', out, re.DOTALL)
    assert copy and html.unescape(copy.group(1)) == plain
    assert "Copy with sources" in out


def test_chat_messages_alternate_roles():
    first = Answer("a [1]", True, [cite(0)], "fr", "Première ?")
    second = Answer("b [1]", True, [cite(1)], "fr", "Deuxième réécrite ?")
    messages = render.chat_messages([("Première ?", first), ("Deuxième ?", second)])
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "réécrite" not in messages[3]["content"]


def test_ui_strings_exist_in_both_languages():
    assert set(render.STRINGS["fr"]) == set(render.STRINGS["en"])
    assert render.text("en", "send") == "Send" and render.text("fr", "send") == "Envoyer"
    assert render.language("EN") == "en" and render.language("de") == "fr"
    assert render.language(None) == "fr"
    assert "2000" in render.text("fr", "too_long", length=2500, limit=2000)
    assert render.language_from_header("de-DE,en-US;q=0.8,fr;q=0.5") == "en"
    assert render.language_from_header("fr-CA") == "fr"
    assert render.language_from_header("") == render.DEFAULT_LANGUAGE


def test_status_is_escaped_and_empty_message_renders_nothing():
    assert render.render_status("") == ""
    out = render.render_status("<b>oops</b>", "error")
    assert "<b>" not in out and 'role="alert"' in out
    assert 'class="status status-info"' in render.render_status("ok", "info")


def test_highlight_requests_from_the_page_are_validated():
    n = len(ARTICLE.text)
    spans, active = render.parse_highlights(
        {"spans": [[1, 10, 20], [2, 5, n + 1], [3, 30, 20], [True, 1, 2], ["4", 1, 2],
                   [5, 40, 50, 60], [6, 0, 5]], "active": 6, "near": True},
        n,
    )
    assert [(h.number, h.start, h.end) for h in spans] == [(1, 10, 20), (6, 0, 5)]
    assert all(h.near for h in spans) and active == 6
    assert render.parse_highlights({"spans": [[1, 0, 5]], "active": 9}, n)[1] is None
    assert render.parse_highlights("<script>", n) == ([], None)
    many = {"spans": [[i, 0, 5] for i in range(1, 100)]}
    assert len(render.parse_highlights(many, n)[0]) == render.MAX_HIGHLIGHTS


def test_the_quick_answer_says_so_in_its_footer_in_the_answers_language():
    quick = dataclasses.replace(Answer("2028 [1]", True, [cite(0)], "fr", "q"), backend="quick")
    out = render.render_answer(quick)
    footer = re.search(r'<span class="ans-quick" title="([^"]*)">([^<]*)</span>', out)
    assert footer and footer.group(2) == "Réponse rapide"
    assert "occupé" in html.unescape(footer.group(1))
    english = render.render_answer(dataclasses.replace(quick, language="en"))
    assert ">Quick answer<" in english and "busy" in english
    assert 'class="ans ans-found"' in out and "status-error" not in out  # not an error
    assert "ans-quick" not in render.render_answer(dataclasses.replace(quick, backend="local"))


def test_progress_shows_each_step_with_its_counts_and_a_bar():
    steps = [render.Step("Texte lu", 1, 1), render.Step("Phrases encodées", 30, 68)]
    out = render.render_progress(steps, "fr", message="Lecture de l'article…")
    assert '<progress class="progress-bar" max="69" value="31"' in out
    assert "Phrases encodées" in visible_text(out) and "30/68" in visible_text(out)
    assert 'class="progress-step step-done"' in out  # the first step is done
    assert 'role="status"' in out
    error = render.render_progress([], "en", message="<b>bad</b>", kind="error")
    assert 'role="alert"' in error and "&lt;b&gt;" in error and "<progress" not in error
    assert render.render_progress([], "fr") == ""
    big = render.render_progress([render.Step("x", 1200, 2400)], "fr")
    assert "1\u202f200/2\u202f400" in big


def test_the_article_panel_names_its_session_for_the_pages_script():
    panel = render.render_article(ARTICLE, session='s"1<')
    assert 'data-session="s&quot;1&lt;"' in panel


def test_the_article_body_carries_the_articles_own_language():
    assert '<article class="article-body" lang="fr">' in render.render_article(ARTICLE, lang="en")
    english = render.render_article(ARTICLE, lang="fr", text_lang="en")
    assert '<article class="article-body" lang="en">' in english
    assert '<div class="article-panel" lang="fr"' in english
