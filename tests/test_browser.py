"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

The app runs in-process with the real engine. Chromium comes from `make browser` (apt); when it
is missing these tests fail, they never skip. Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from ui_support import wait_until

CHROMIUM = Path("/usr/bin/chromium")
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


@pytest.fixture
def page(browser: Browser, app):
    url, _ = app
    context = browser.new_context(viewport={"width": 1400, "height": 950}, locale="fr-FR")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#article-panel .article-body")
    yield page
    context.close()


def ask(page: Page, question: str) -> None:
    """Type a question, press Enter, wait for its answer to be on the page."""
    count = page.locator("#chat .ans").count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .ans').length > {count}")
    page.wait_for_function("document.querySelector('#question textarea').value === ''")


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
    assert page.locator("#send").inner_text() == "Envoyer"
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
    assert page.locator("#chat .ans").last.locator(".ans-query").count() == 1
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
    page.wait_for_function("document.querySelector('#send').innerText.trim() === 'Send'")
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

    # Gradio's own thumbs-up, labelled in the browser's language.
    page.locator("#chat button[aria-label='Like'], #chat button[aria-label=\"J'aime\"]").last.click()
    path = Path(settings.feedback_path)
    assert wait_until(lambda: path.exists() and path.read_text(encoding="utf-8").strip() != "")
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert record["rating"] == "up"
    assert record["question"] == "Où M Bakanov a-t-il rencontré l'administrateur de la NASA ?"
    assert record["citations"][0]["start"] == start
    page.wait_for_function("document.querySelector('#status').innerText.includes('Merci')")

    page.fill("#question textarea", "   ")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Écrivez une question')"
    )
    assert page.locator("#chat .ans").count() == 1

    page.locator("#new-conversation").click()
    page.wait_for_function("document.querySelectorAll('#chat .ans').length === 0")
    page.wait_for_function("document.querySelectorAll('#article-panel mark').length === 0")

    # An example question is asked with one click.
    example = page.locator("#examples button").first
    text = example.inner_text().strip()
    example.click()
    page.wait_for_function("document.querySelectorAll('#chat .ans').length === 1")
    assert page.locator("#chat .q").last.inner_text().strip() == text
    assert page.locator("#article-panel mark").count() >= 1
