"""The classroom's parts of the site built from this session's tiny run, in headless Chromium: a chapter's quiz
answers a right and a wrong choice (and a number) with the right feedback, in the page and offline; the
lecturer's page and the SVG figures' folder are in the site."""

import functools
import http.server
import re
import threading

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import quizzes
from tests.chapters.test_site import _open, browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = [pytest.mark.chapters, pytest.mark.browser]


@pytest.fixture(scope="module")
def tiny_site(built_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_book)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_page_has_its_quiz(built_book, chapter):
    page = (built_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    assert "Check your understanding" in page and "show_questions(questions" in page


def test_a_quiz_gives_the_right_feedback_for_a_right_and_a_wrong_answer(browser, tiny_site):  # noqa: F811
    chapter = "07_results"
    page, problems = _open(browser, f"{tiny_site}/chapters/{chapter}.html", tiny_site)
    question = next(q for q in quizzes.questions(chapter) if q["type"] == "multiple_choice")
    right = next(a for a in question["answers"] if a["correct"])
    wrong = next(a for a in question["answers"] if not a["correct"])
    # jupyterquiz: a question's wrapper holds its text (.MultipleChoiceQn), its answers and its .Feedback
    block = page.locator(".MultipleChoiceQn", has_text=question["question"][:30]).locator("xpath=..")
    feedback = block.locator(".Feedback")
    block.locator("label.MCButton", has_text=wrong["answer"]).click()
    assert "incorrect" in feedback.get_attribute("class") and feedback.inner_text() == wrong["feedback"]
    block.locator("label.MCButton", has_text=right["answer"]).click()
    assert re.search(r"\bcorrect\b", feedback.get_attribute("class")) and "incorrect" not in (
        feedback.get_attribute("class"))
    assert feedback.inner_text() == right["feedback"]
    number = next(q for q in quizzes.questions(chapter) if q["type"] == "numeric")
    box = page.locator(".NumericQn", has_text=number["question"][:30]).locator("xpath=..")
    for typed, verdict in ((number["answer_value"] * 3, "incorrect"), (number["answer_value"], "correct")):
        box.locator("input").fill(str(typed))
        box.locator("input").press("Enter")
        assert verdict in box.locator(".Feedback").get_attribute("class").split()
    assert not problems, problems
    page.close()


def test_lecturer_page_and_figures_are_in_the_site(browser, tiny_site, built_book):  # noqa: F811
    page, problems = _open(browser, f"{tiny_site}/classroom/lecturer.html", tiny_site)
    text = page.inner_text("main")
    assert "Week 7" in text and "arlm classroom grade" in text and "Hard exercise" in text
    page.click("text=the figures")
    page.wait_for_url("**/figures/index.html")
    images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete && i.naturalWidth > 0, i.src])")
    svgs = sorted(p.name for p in (built_book / "figures").glob("*.svg"))
    assert svgs and len(images) == len(svgs) and all(ok for ok, _ in images), images
    assert not problems, problems
    page.close()
