"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

The app runs in-process with the real engine (a slow scripted one where timing is the point).
Chromium comes from `make browser` (apt), and so does axe-core (npm, into .venv/axe); when either
is missing these tests fail, they never skip. Screenshots go to artifacts/ (git-ignored): the
page at 1400x900 and 390x844, in French and in English.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
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
TIMEOUT_MS = 60_000


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
    return page


@pytest.fixture
def page(browser: Browser, app):
    url, _ = app
    page = open_page(browser, url)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def slow_app(settings):
    """The page over a scripted engine that takes 3 s to answer, then streams word by word."""
    engine = StreamingFakeEngine(assistant.get_engine(settings).article, settings, delay=3.0,
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
    assert wait_until(lambda: target_in_view(page), timeout=5)
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
    assert wait_until(lambda: target_in_view(page), timeout=5)

    # An English question switches the page's own text to English.
    ask(page, "How much does the station cost to run each year?")
    last = page.locator("#chat .ans").last
    assert "ans-notfound" in (last.get_attribute("class") or "")
    assert "The article does not say" in last.locator(".ans-badge").inner_text()
    page.wait_for_function("document.querySelector('#send')?.innerText.trim() === 'Send'")
    placeholder = page.locator("#question textarea").get_attribute("placeholder") or ""
    assert placeholder.startswith("Your question")
    assert wait_until(lambda: target_in_view(page), timeout=5)
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
    page.wait_for_timeout(1500)  # time for anything that would load or run
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
    url, _ = slow_app
    page = open_page(browser, url)
    try:
        page.fill("#question textarea", "Qui signe l'accord ?")
        page.keyboard.press("Enter")
        # Well before the engine's 3 s: the user's bubble, the indicator, Stop instead of Send.
        page.wait_for_selector("#chat .q >> text=Qui signe l'accord ?", timeout=2500)
        page.wait_for_selector("#chat .typing", timeout=2500)
        assert page.locator(ANSWERED).count() == 0
        assert page.locator("#question textarea").input_value() == ""
        assert page.locator("#stop").is_visible() and not page.locator("#send").is_visible()
        assert page.locator("#chat .typing").inner_text().startswith("L'assistant rédige")
        # Gradio's own overlays stay off the input.
        assert page.locator("#question .wrap.translucent, #question .eta-bar").count() == 0
        page.wait_for_selector("#chat .ans-streaming")  # the answer grows in place
        page.wait_for_selector(ANSWERED)
        page.wait_for_function("document.querySelector('#send')?.offsetParent != null")
    finally:
        page.context.close()


def test_two_quick_questions_are_both_answered_in_order(browser, slow_app):
    url, engine = slow_app
    page = open_page(browser, url)
    try:
        for question in ("Première question ?", "Deuxième question ?"):
            page.fill("#question textarea", question)
            page.keyboard.press("Enter")
        page.wait_for_selector("#chat .q-wait", timeout=2500)  # the second one waits, visibly
        page.wait_for_function(f"document.querySelectorAll('{ANSWERED}').length === 2",
                               timeout=TIMEOUT_MS)
        questions = page.locator("#chat .q").all_inner_texts()
        assert questions == ["Première question ?", "Deuxième question ?"]
        # The second was asked with the first in its history.
        asked = [(q, [h for h, _ in history]) for q, history in engine.calls[-2:]]
        assert asked == [("Première question ?", []),
                         ("Deuxième question ?", ["Première question ?"])]
        assert page.locator("#chat .q-wait").count() == 0
    finally:
        page.context.close()


def test_stop_ends_the_answer_and_the_conversation_goes_on(browser, slow_app):
    url, _ = slow_app
    page = open_page(browser, url, locale="en-US")
    try:
        page.fill("#question textarea", "A slow question?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat .typing", timeout=2500)
        page.locator("#stop").click()
        page.wait_for_selector("#chat .ans-stopped")
        assert "Answer stopped" in page.locator("#chat .ans-stopped").inner_text()
        page.wait_for_function("document.querySelector('#send')?.offsetParent != null")
        page.wait_for_timeout(2500)  # the engine's late answer is dropped
        assert page.locator(ANSWERED).count() == 0
        page.fill("#question textarea", "Another one?")
        page.keyboard.press("Enter")
        page.wait_for_selector(ANSWERED, timeout=TIMEOUT_MS)
    finally:
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
        assert wait_until(lambda: target_in_view(page), timeout=5)
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
                assert wait_until(lambda p=page: target_in_view(p), timeout=5)
                page.wait_for_timeout(500)  # the smooth scroll ends
                page.screenshot(path=str(ARTIFACTS / f"page-{name}-{lang}-article.png"))
                check_axe(page, f"{name}-{lang}-article")
        finally:
            page.context.close()


def test_reduced_motion_stops_the_typing_animation(browser, slow_app):
    url, _ = slow_app
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
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
        page.wait_for_selector(ANSWERED, timeout=TIMEOUT_MS)
    finally:
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
