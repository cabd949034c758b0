"""The built book in headless Chromium: every chapter opens with no console errors, every figure loads,
Arabic renders right to left, and nothing is fetched from the internet (no CDN-only scripts)."""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from arlm.artifacts import CHAPTERS

pytestmark = [pytest.mark.chapters, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("ARLM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))

# Of the first Arabic text node on the page: is its first letter drawn to the right of its last one?
RTL_CHECK = """() => {
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    const match = text.match(/[\\u0621-\\u064A]{2,}(?:\\s+[\\u0621-\\u064A]{2,})+/);
    if (!match || node.parentElement.offsetParent === null) continue;
    const range = document.createRange();
    range.setStart(node, match.index); range.setEnd(node, match.index + 1);
    const first = range.getBoundingClientRect();
    const end = match.index + match[0].length;
    range.setStart(node, end - 1); range.setEnd(node, end);
    const last = range.getBoundingClientRect();
    if (first.width === 0 || last.width === 0 || Math.abs(first.top - last.top) > 2) continue;
    return {text: match[0], rtl: first.left > last.left};
  }
  return null;
}"""


@pytest.fixture(scope="module")
def site(built_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-quic"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield browser
        browser.close()


def _open(browser, url, site):
    """Load `url` with every request outside the local server blocked; returns (page, problems)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def route(request_route):
        if request_route.request.url.startswith(site) or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            problems.append(f"external request: {request_route.request.url}")
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)  # MathJax and the theme's scripts finish after load
    return page, problems


def test_index_shows_the_table_of_contents(browser, site):
    page, problems = _open(browser, f"{site}/index.html", site)  # redirects to the introduction
    page.wait_for_url("**/intro.html")
    links = page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))")
    for chapter in CHAPTERS:
        assert any(link and f"chapters/{chapter}.html" in link for link in links), chapter
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_offline(browser, site, chapter):
    page, problems = _open(browser, f"{site}/chapters/{chapter}.html", site)
    broken = page.eval_on_selector_all(
        "main img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert not broken, f"figures that did not load: {broken}"
    arabic = page.evaluate(RTL_CHECK)
    if chapter == "01_corpus":
        assert arabic is not None, "the corpus chapter shows no Arabic text"
    if arabic is not None:
        assert arabic["rtl"], f"Arabic text drawn left to right: {arabic['text']}"
    if chapter == "01_corpus":
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{chapter}.png"), full_page=False)
    assert not problems, problems
    page.close()


def test_math_renders_without_a_cdn(browser, site):
    sources = Path(__file__).parents[2] / "chapters"
    pages = [chapter for chapter in CHAPTERS if "$$" in (sources / f"{chapter}.py").read_text(encoding="utf-8")]
    if not pages:
        pytest.skip("no chapter has display math yet")
    page, problems = _open(browser, f"{site}/chapters/{pages[0]}.html", site)
    page.wait_for_function("() => document.querySelector('mjx-container') !== null", timeout=15000)
    assert not problems, problems
    page.close()
