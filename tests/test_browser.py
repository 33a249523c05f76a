"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

The app runs in-process with the real engine (a slow scripted one where timing is the point).
Chromium comes from `make browser` (apt), and so does axe-core (npm, into .venv/axe); when either
is missing these tests fail, they never skip. Screenshots go to artifacts/ (git-ignored): the
page at 1400x900 and 390x844, in French and in English.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_support import StreamingFakeEngine, launch, wait_until

import assistant
import ui

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent.parent / ".venv/axe/node_modules/axe-core/axe.min.js"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Generous: other jobs share the two cores. Tests wait on page state, never on fixed sleeps.
TIMEOUT_MS = 120_000
BUILD_MS = 300_000  # indexing a pasted article (about 10 s on a quiet machine)
TEXTS = Path(__file__).resolve().parent / "data" / "texts"
NEWS = (TEXTS / "news" / "article.txt").read_text(encoding="utf-8")
SPORT = (TEXTS / "sport" / "article.txt").read_text(encoding="utf-8")
# The same article under another content key: indexed afresh even if NEWS was read before.
FRESH_NEWS = NEWS.rstrip("\n") + "\n\n"


@pytest.fixture(scope="module")
def settings(settings):
    """The page's settings, with room for the pasted articles these tests read from one
    address (the default allows 5 in 10 minutes)."""
    return dataclasses.replace(settings, ui_article_rate_limit=100)


expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser: Browser, url: str, viewport=DESKTOP, locale: str = "fr-FR") -> Page:
    context = browser.new_context(viewport=viewport, locale=locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#article-panel .article-body", state="attached")
    # The page's script is running (tabs, sources) and the server has named this session.
    page.wait_for_function(
        "window.__articleHooks === true"
        " && !!document.querySelector('#article-panel .article-panel')?.dataset.session")
    return page


@pytest.fixture
def page(browser: Browser, app):
    url, _ = app
    page = open_page(browser, url)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def slow_app(settings):
    """The page over a scripted engine that answers when its gate is open (a test closes it to
    look at the page while the answer is pending), then streams word by word."""
    engine = StreamingFakeEngine(assistant.get_engine(settings).article, settings,
                                 word_delay=0.08)
    demo = ui.build_demo(settings, engine=engine)
    try:
        yield launch(demo, settings), engine
    finally:
        demo.close()


ANSWERED = "#chat .ans.ans-found, #chat .ans.ans-notfound"


def ask(page: Page, question: str) -> None:
    """Type a question, press Enter, wait for its answer to be on the page."""
    count = page.locator(ANSWERED).count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll('{ANSWERED}').length > {count}"
        " && !document.querySelector('#chat .typing, #chat .ans-streaming')"
    )


def cited(page: Page, answer_index: int = -1) -> list[tuple[int, int, int]]:
    answers = page.locator("#chat .ans")
    index = answers.count() - 1 if answer_index < 0 else answer_index
    values = answers.nth(index).locator("button.src-btn").evaluate_all(
        "buttons => buttons.map(b => b.value)"
    )
    triples = [[int(v) for v in value.split(":")] for value in values]
    return [(a, b, c) for a, b, c in triples]


def highlighted(page: Page, number: int) -> str:
    return "".join(page.locator(f"#article-panel mark.c{number}").all_inner_texts())


def target_in_view(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const box = document.querySelector('#article-panel .article-scroll');
              const target = document.querySelector('#article-panel #hl-target');
              if (!box || !target) return false;
              const b = box.getBoundingClientRect(), t = target.getBoundingClientRect();
              return t.top >= b.top - 1 && t.bottom <= b.bottom + 1;
            }"""
        )
    )


def settle(page: Page) -> None:
    """Wait until the article panel has stopped scrolling and two frames have been drawn (what
    the page would load or run on its own has started by then)."""
    page.wait_for_function(
        """() => new Promise((done) => {
          const box = document.querySelector('#article-panel .article-scroll');
          const at = box ? box.scrollTop : 0;
          requestAnimationFrame(() => requestAnimationFrame(() =>
            done(!box || box.scrollTop === at)));
        })"""
    )


def test_answer_highlights_the_cited_sentence_in_the_article(page: Page, app):
    _, article = app
    ask(page, "Jusqu'à quand la NASA pense-t-elle pouvoir garder la station en orbite ?")
    answer = page.locator("#chat .ans").last
    assert "2030" in answer.locator(".ans-text").inner_text()
    sources = cited(page)
    assert sources, "no source under the answer"
    for number, start, end in sources:
        assert highlighted(page, number) == article.text[start:end]
    number, start, end = sources[0]
    assert "jusqu'en 2030" in article.text[start:end]
    # The sentence is near the end of the article: the panel scrolled it into view.
    assert wait_until(lambda: target_in_view(page), timeout=30)
    page.wait_for_function("document.querySelector('#send')?.innerText.trim() === 'Envoyer'")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-answer.png"))
    assert (ARTIFACTS / "browser-answer.png").stat().st_size > 10_000


def test_follow_up_language_and_clicking_an_older_source(page: Page, app):
    _, article = app
    ask(page, "Qui est le directeur russe ?")
    first = cited(page)
    ask(page, "Et où a-t-il rencontré son homologue ?")
    second = cited(page)
    assert "Houston" in page.locator("#chat .ans").last.inner_text()
    assert "recherchée" not in page.locator("#chat").inner_text()  # no internal query shown
    assert highlighted(page, 1) == article.text[second[0][1] : second[0][2]]
    assert first[0] != second[0]

    page.locator("#chat .ans").first.locator("button.src-btn").first.click()
    expected = article.text[first[0][1] : first[0][2]]
    page.wait_for_function(
        "text => [...document.querySelectorAll('#article-panel mark.c1')]"
        ".map(m => m.innerText).join('') === text",
        arg=expected,
    )
    assert page.locator("#article-panel mark.hl-active").count() >= 1
    assert wait_until(lambda: target_in_view(page), timeout=30)

    # An English question switches the page's own text to English.
    ask(page, "How much does the station cost to run each year?")
    last = page.locator("#chat .ans").last
    assert "ans-notfound" in (last.get_attribute("class") or "")
    assert "The article does not say" in last.locator(".ans-badge").inner_text()
    page.wait_for_function("document.querySelector('#send')?.innerText.trim() === 'Send'")
    placeholder = page.locator("#question textarea").get_attribute("placeholder") or ""
    assert placeholder.startswith("Your question")
    assert wait_until(lambda: target_in_view(page), timeout=30)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-follow-up.png"))


def test_markup_in_a_question_executes_and_fetches_nothing(page: Page, app):
    url, _ = app
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    question = (
        "<script>window.__xss = 1; alert('script')</script>"
        "<img src=\"http://203.0.113.9/xss-remote.png\" onerror=\"alert('img')\">"
        "<img src=\"/xss-local.png\" onerror=\"window.__xss = 2\">"
        "<a href=\"javascript:alert('link')\">lien</a> ![x](http://203.0.113.9/xss-md.png) "
        "Quand l'ISS sera-t-elle retirée ?"
    )
    ask(page, question)
    settle(page)
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    assert [u for u in requests if not u.startswith(url)] == []
    assert [u for u in requests if "xss" in u] == []
    chat = page.locator("#chat")
    assert chat.locator("img").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0
    assert chat.locator("script").count() == 0
    assert "<script>window.__xss = 1" in chat.locator(".q").last.inner_text()


def test_feedback_copy_new_conversation_and_empty_question(page: Page, app, settings):
    _, article = app
    ask(page, "Où M Bakanov a-t-il rencontré l'administrateur de la NASA ?")
    answer = page.locator("#chat .ans").last

    answer.locator("button.copy-btn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    _, start, end = cited(page)[0]
    assert "Houston" in copied.splitlines()[0]
    assert "Sources :" in copied and article.text[start:end] in copied

    # The thumbs, labelled in the answer's language.
    up = answer.locator("button.vote-up")
    assert up.inner_text() == "Utile" and "utile" in (up.get_attribute("title") or "")
    up.click()
    path = Path(settings.feedback_path)
    assert wait_until(lambda: path.exists() and path.read_text(encoding="utf-8").strip() != "")
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert record["rating"] == "up"
    assert record["question"] == "Où M Bakanov a-t-il rencontré l'administrateur de la NASA ?"
    assert record["citations"][0]["start"] == start
    page.wait_for_function(
        "document.querySelector('#chat .vote-note')?.innerText.includes('Merci')")
    assert up.get_attribute("aria-pressed") == "true"

    page.fill("#question textarea", "   ")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Écrivez une question')"
    )
    assert page.locator("#chat .ans").count() == 1

    page.locator("#new-conversation").click()
    page.wait_for_function("document.querySelectorAll('#chat .ans').length === 0")
    page.wait_for_function("document.querySelectorAll('#article-panel mark').length === 0")

    # An example question, shown in the empty chat, is asked with one click.
    example = page.locator("#chat button.example").first
    text = example.inner_text().strip()
    example.click()
    page.wait_for_function(f"document.querySelectorAll('{ANSWERED}').length === 1")
    assert page.locator("#chat .q").last.inner_text().strip() == text
    assert page.locator("#article-panel mark").count() >= 1


# --- immediate feedback, queueing, stop ----------------------------------------------------------


def test_the_question_shows_at_once_with_a_typing_indicator_then_streams(browser, slow_app):
    url, engine = slow_app
    page = open_page(browser, url)
    engine.gate.clear()  # the engine "thinks" until the test has looked at the page
    try:
        page.fill("#question textarea", "Qui signe l'accord ?")
        page.keyboard.press("Enter")
        # Before any answer: the user's bubble, the indicator, Stop instead of Send.
        expect(page.locator("#chat .q", has_text="Qui signe l'accord ?")).to_be_visible()
        expect(page.locator("#chat .typing")).to_be_visible()
        expect(page.locator("#stop")).to_be_visible()
        assert page.locator(ANSWERED).count() == 0
        assert page.locator("#question textarea").input_value() == ""
        assert not page.locator("#send").is_visible()
        assert page.locator("#chat .typing").inner_text().startswith("L'assistant rédige")
        # Gradio's own overlays stay off the input.
        assert page.locator("#question .wrap.translucent, #question .eta-bar").count() == 0
        engine.gate.set()
        page.wait_for_selector("#chat .ans-streaming")  # the answer grows in place
        page.wait_for_selector(ANSWERED)
        expect(page.locator("#send")).to_be_visible()
    finally:
        engine.gate.set()
        page.context.close()


def test_two_quick_questions_are_both_answered_in_order(browser, slow_app):
    url, engine = slow_app
    page = open_page(browser, url)
    engine.gate.clear()
    try:
        for question in ("Première question ?", "Deuxième question ?"):
            page.fill("#question textarea", question)
            page.keyboard.press("Enter")
        expect(page.locator("#chat .q-wait")).to_be_visible()  # the second one waits, visibly
        engine.gate.set()
        page.wait_for_function(f"document.querySelectorAll('{ANSWERED}').length === 2")
        questions = page.locator("#chat .q").all_inner_texts()
        assert questions == ["Première question ?", "Deuxième question ?"]
        # The second was asked with the first in its history.
        asked = [(q, [h for h, _ in history]) for q, history in engine.calls[-2:]]
        assert asked == [("Première question ?", []),
                         ("Deuxième question ?", ["Première question ?"])]
        assert page.locator("#chat .q-wait").count() == 0
    finally:
        engine.gate.set()
        page.context.close()


def test_stop_ends_the_answer_and_the_conversation_goes_on(browser, slow_app):
    url, engine = slow_app
    page = open_page(browser, url, locale="en-US")
    engine.gate.clear()
    try:
        page.fill("#question textarea", "A slow question?")
        page.keyboard.press("Enter")
        expect(page.locator("#chat .typing")).to_be_visible()
        assert wait_until(lambda: len(engine.calls) > 0 and engine.calls[-1][0] ==
                          "A slow question?", timeout=60)
        cancel = engine.cancels[-1]  # the page gave the engine this answer's cancel event
        assert not cancel.is_set()
        page.locator("#stop").click()
        expect(page.locator("#chat .ans-stopped")).to_be_visible()
        assert "Answer stopped" in page.locator("#chat .ans-stopped").inner_text()
        assert cancel.is_set()  # the server's work on that answer is told to end
        expect(page.locator("#send")).to_be_visible()
        finished = engine.done
        engine.gate.set()  # the engine's late answer comes back, and is dropped
        assert wait_until(lambda: engine.done > finished, timeout=60)
        page.fill("#question textarea", "Another one?")
        page.keyboard.press("Enter")
        page.wait_for_selector(ANSWERED)
        assert page.locator(ANSWERED).count() == 1
        assert page.locator("#chat .ans-stopped").count() == 1
        assert page.locator("#chat .q").all_inner_texts() == ["A slow question?", "Another one?"]
    finally:
        engine.gate.set()
        page.context.close()


# --- phone layout, languages, accessibility, screenshots -----------------------------------------


def test_on_a_phone_tapping_a_source_shows_the_highlight(browser, app):
    url, article = app
    page = open_page(browser, url, viewport=PHONE)
    try:
        # One column: the chat, its input on screen, the article one tap away.
        assert page.locator("#view-tabs").is_visible()
        assert not page.locator("#article-panel").is_visible()
        ask(page, "Jusqu'à quand la NASA pense-t-elle pouvoir garder la station en orbite ?")
        box = page.locator("#question textarea").bounding_box()
        assert box and box["y"] + box["height"] <= PHONE["height"]
        number, start, end = cited(page)[0]
        page.locator("#chat .ans").last.locator("button.src-btn").first.click()
        page.wait_for_selector("#article-panel .article-scroll", state="visible")
        assert not page.locator("#chat").is_visible()
        assert page.locator("#tab-article").get_attribute("aria-pressed") == "true"
        assert highlighted(page, number) == article.text[start:end]
        assert wait_until(lambda: target_in_view(page), timeout=30)
        target = page.locator("#article-panel #hl-target").bounding_box()
        assert target and 0 <= target["y"] < PHONE["height"]
        page.locator("#tab-chat").click()
        assert page.locator("#chat").is_visible()
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("locale", "questions", "labels"),
    [
        ("fr-FR", ["Qui est le directeur russe ?", "Et où a-t-il rencontré son homologue ?"],
         {"send": "Envoyer", "article": "L'article", "box": "Votre question"}),
        ("en-US", ["When does Russia want to launch the first part of its own station?",
                   "How much does the station cost to run each year?"],
         {"send": "Send", "article": "The article", "box": "Your question"}),
    ],
)
def test_both_widths_both_languages_axe_and_screenshots(browser, app, locale, questions, labels):
    url, _ = app
    assert AXE.exists(), f"{AXE} is missing: run `make browser` (npm install axe-core)"
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, url, viewport=viewport, locale=locale)
        try:
            lang = locale[:2]
            check_axe(page, f"{name}-{lang}-empty")
            for question in questions:
                ask(page, question)
            # Every label in the conversation's language, Gradio's own included where it can be.
            page.wait_for_function(
                "text => document.querySelector('#send')?.innerText.trim() === text",
                arg=labels["send"],
            )
            assert page.get_by_role("textbox", name=labels["box"], exact=True).count() == 1
            names = page.locator("#chat [data-testid='user']").evaluate_all(
                "ms => ms.map(m => m.getAttribute('aria-label') || '')")
            assert names and all(n.startswith(labels["box"]) for n in names)
            assert labels["article"] in page.locator("#article-panel .article-label").inner_text()
            assert all(a.get_attribute("lang") == lang
                       for a in page.locator("#chat .ans").all())
            shot = ARTIFACTS / f"page-{name}-{lang}.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            check_axe(page, f"{name}-{lang}-answered")
            if name == "phone":
                page.locator("#tab-article").click()
                page.wait_for_selector("#article-panel .article-scroll", state="visible")
                assert page.locator("#tab-article").get_attribute("aria-pressed") == "true"
                assert wait_until(lambda p=page: target_in_view(p), timeout=30)
                settle(page)  # the smooth scroll ends
                page.screenshot(path=str(ARTIFACTS / f"page-{name}-{lang}-article.png"))
                check_axe(page, f"{name}-{lang}-article")
        finally:
            page.context.close()


def test_reduced_motion_stops_the_typing_animation(browser, slow_app):
    url, engine = slow_app
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    engine.gate.clear()
    try:
        page.goto(url)
        page.wait_for_selector("#question textarea")
        page.fill("#question textarea", "Quand ?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat .typing")
        animation = page.evaluate(
            "getComputedStyle(document.querySelector('#chat .typing-dots span')).animationName"
        )
        assert animation == "none"
        engine.gate.set()
        page.wait_for_selector(ANSWERED)
    finally:
        engine.gate.set()
        context.close()


def check_axe(page: Page, label: str) -> None:
    """axe-core, WCAG 2.1 A/AA rules: no serious or critical violation (the report is saved)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    (ARTIFACTS / f"axe-{label}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{label}: {bad}"


# --- another article -----------------------------------------------------------------------------


def watch_progress(page: Page) -> None:
    """Record every state of the article's progress box (the page changes it as it streams)."""
    page.evaluate(
        """() => {
          window.__progress = [];
          const box = document.querySelector('#article-progress');
          const note = () => window.__progress.push({
            text: box.innerText, bar: !!box.querySelector('progress.progress-bar')});
          new MutationObserver(note).observe(box, {subtree: true, childList: true,
            characterData: true, attributes: true});
        }"""
    )


def read_article(page: Page, text: str, ready: str = "Article prêt") -> None:
    """Open "Use another article", paste `text`, read it, wait until the panel says it is ready."""
    if page.locator("#article-text textarea").count() == 0:
        page.locator("#other-article").click()
    expect(page.locator("#article-text textarea")).to_be_visible()
    page.fill("#article-text textarea", text)
    page.locator("#read-article").click()
    expect(page.locator("#article-progress .status-info", has_text=ready)).to_be_visible(
        timeout=BUILD_MS)


def test_a_pasted_article_is_read_with_progress_answered_and_left(page: Page, app):
    _, bundled = app
    page.locator("#other-article").click()
    expect(page.locator("#article-text textarea")).to_be_visible()
    # The box is named and says what to paste.
    assert page.get_by_role("textbox", name="Texte de l'article").count() == 1
    assert "titre sur la première ligne" in page.locator("#article-editor").inner_text()
    watch_progress(page)
    read_article(page, FRESH_NEWS)
    seen = page.evaluate("window.__progress")
    assert any(s["bar"] and re.search(r"Phrases encodées\s+\d+/\d+", s["text"]) for s in seen), seen
    assert any("Index écrit" in s["text"] for s in seen), seen
    # The panel shows the new article; the editor is closed and the way back is offered.
    title = NEWS.splitlines()[0]
    expect(page.locator("#article-panel .art-title")).to_have_text(title)
    expect(page.locator("#article-editor")).to_have_count(0)
    expect(page.locator("#bundled-article")).to_be_visible()
    assert page.locator("#chat .ans").count() == 0

    ask(page, "Quelle somme la rénovation a-t-elle coûté au total ?")
    answer = page.locator("#chat .ans").last
    assert "4,2 millions" in answer.locator(".ans-text").inner_text()
    number, start, end = cited(page)[0]
    assert "Le chantier a coûté 4,2 millions" in NEWS[start:end]
    assert highlighted(page, number) == NEWS[start:end]  # offsets index the pasted text
    assert wait_until(lambda: target_in_view(page), timeout=30)

    ask(page, "Who was put in charge of restoring the building?")
    answer = page.locator("#chat .ans").last
    assert answer.get_attribute("lang") == "en" and "Vidalou" in answer.inner_text()
    number, start, end = cited(page)[0]
    assert highlighted(page, number) == NEWS[start:end]
    expect(page.locator("#bundled-article")).to_have_text("Back to the bundled article")
    # An older source, clicked, is highlighted again in this session's article.
    page.locator("#chat .ans").first.locator("button.src-btn").first.click()
    _, first_start, first_end = cited(page, 0)[0]
    page.wait_for_function(
        "text => [...document.querySelectorAll('#article-panel mark.c1')]"
        ".map(m => m.innerText).join('') === text", arg=NEWS[first_start:first_end])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-desktop-pasted.png"))

    page.locator("#bundled-article").click()
    expect(page.locator("#article-panel .art-title")).to_have_text(bundled.title)
    expect(page.locator("#chat .ans")).to_have_count(0)
    expect(page.locator("#bundled-article")).to_be_hidden()
    expect(page.locator("#article-progress")).to_contain_text("Back to the bundled article")


def test_two_readers_with_different_articles_at_once(browser: Browser, app):
    url, _ = app
    pages = {name: open_page(browser, url) for name in ("news", "sport")}
    texts = {"news": NEWS, "sport": SPORT}
    try:
        for name, page in pages.items():  # both pasted before either is ready
            page.locator("#other-article").click()
            page.fill("#article-text textarea", texts[name])
            page.locator("#read-article").click()
        for name, page in pages.items():
            expect(page.locator("#article-progress .status-info", has_text="Article prêt"))\
                .to_be_visible(timeout=BUILD_MS)
            expect(page.locator("#article-panel .art-title")).to_have_text(
                texts[name].splitlines()[0])
        for name, page in pages.items():
            page.fill("#question textarea", "De quoi parle cet article ?")
            page.keyboard.press("Enter")
        for name, page in pages.items():
            page.wait_for_selector(ANSWERED)
            page.wait_for_function("!document.querySelector('#chat .typing, #chat .ans-streaming')")
            other = texts["sport" if name == "news" else "news"]
            answer = page.locator("#chat .ans").last.inner_text()
            assert texts[name].splitlines()[0] in answer
            assert other.splitlines()[0] not in answer
            for number, start, end in cited(page):
                assert highlighted(page, number) == texts[name][start:end]
        # A source clicked in one is highlighted in that reader's own article.
        for name, page in pages.items():
            page.locator("#chat .ans").last.locator("button.src-btn").first.click()
            expect(page.locator("#article-panel mark.hl-active").first).to_be_visible()
            expect(page.locator("#article-panel .art-title")).to_have_text(
                texts[name].splitlines()[0])
    finally:
        for page in pages.values():
            page.context.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_article_panel_at_both_widths_axe_and_errors(browser, app, name, viewport):
    url, _ = app
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, url, viewport=viewport, locale="en-US")
    try:
        if name == "phone":
            page.locator("#tab-article").click()
        expect(page.locator("#other-article")).to_have_text("Use another article")
        page.locator("#other-article").click()
        box = page.locator("#article-text textarea")
        expect(box).to_be_visible()
        editor = page.locator("#article-editor").bounding_box()
        assert editor and editor["x"] >= 0 and editor["x"] + editor["width"] <= viewport["width"]
        for selector in ("#article-text textarea", "#read-article", "#close-editor"):
            rect = page.locator(selector).bounding_box()  # inside the editor's box
            assert rect and rect["x"] >= editor["x"], selector
            assert rect["x"] + rect["width"] <= editor["x"] + editor["width"], selector
        expect(page.locator("#read-article")).to_have_text("Read this article")
        check_axe(page, f"article-{name}-open")
        # An error is shown in the panel, in the page's language; the text stays in the box.
        page.locator("#read-article").click()
        expect(page.locator("#article-progress .status-error")).to_contain_text(
            "Paste an article's text")
        check_axe(page, f"article-{name}-error")
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-article-open.png"))
        read_article(page, NEWS, ready="Article ready")
        expect(page.locator("#article-panel .art-title")).to_have_text(NEWS.splitlines()[0])
        check_axe(page, f"article-{name}-ready")
        if name == "phone":
            page.locator("#tab-chat").click()
        ask(page, "Who was put in charge of restoring the building?")
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-pasted-answer.png"))
        check_axe(page, f"article-{name}-answered")
    finally:
        page.context.close()


def test_on_a_phone_the_send_button_text_keeps_clear_of_its_edges(browser, app):
    url, _ = app
    for locale, label in (("fr-FR", "Envoyer"), ("en-US", "Send")):
        page = open_page(browser, url, viewport=PHONE, locale=locale)
        try:
            expect(page.locator("#send")).to_have_text(label)
            gaps = page.evaluate(
                """() => {
                  const button = document.querySelector('#send');
                  const range = document.createRange();
                  range.selectNodeContents(button);
                  const t = range.getBoundingClientRect(), b = button.getBoundingClientRect();
                  return {left: t.left - b.left, right: b.right - t.right,
                          inside: b.right <= window.innerWidth};
                }"""
            )
            assert gaps["left"] >= 8 and gaps["right"] >= 8 and gaps["inside"], (label, gaps)
        finally:
            page.context.close()
