"""The built book in headless Chromium: every chapter opens with no console errors, every figure loads,
Arabic renders right to left with a direction set on every output that holds it, nothing is wider than the
text column at 1280 px (a full-page screenshot of each chapter goes to the test artifacts), and nothing is
fetched from the internet (no CDN-only scripts)."""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book import BOOK

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


# every element of the article within the text column, nothing that scrolls sideways (inline math excluded:
# MathJax's inline containers report a scroll width of their own)
LAYOUT_CHECK = """() => {
  const article = document.querySelector('main article') || document.querySelector('main');
  const column = article.getBoundingClientRect();
  const wide = [];
  const selector = 'pre, table, img, mjx-container[display="true"], div.cell_output, div.highlight, p, li, figure';
  for (const el of article.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    if (box.right > column.right + 1 || el.scrollWidth > el.clientWidth + 1) {
      wide.push(`${el.tagName} ${Math.round(Math.max(box.width, el.scrollWidth))}px: ` +
                (el.innerText || el.getAttribute('src') || '').slice(0, 50));
    }
  }
  return {column: Math.round(column.width), wide};
}"""

# every output block and table cell holding Arabic has a direction
DIR_CHECK = """() => {
  const arabic = /[\\u0600-\\u06FF]/;
  const missing = [];
  for (const el of document.querySelectorAll('div.cell_output pre, div.cell_output td, div.cell_output th')) {
    if (arabic.test(el.textContent) && !el.closest('[dir]')) missing.push(el.textContent.slice(0, 40));
  }
  return missing;
}"""



@pytest.fixture(scope="module")
def site(any_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(any_book[1]))
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
def test_chapter_renders_offline_and_fits_the_column_at_1280_px(browser, site, chapter, request):
    page, problems = _open(browser, f"{site}/chapters/{chapter}.html", site)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    book = request.node.callspec.params["any_book"]  # tiny or edition
    page.screenshot(path=str(ARTIFACTS / f"{book}-{chapter}-1280.png"), full_page=True)
    broken = page.eval_on_selector_all(
        "main img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert not broken, f"figures that did not load: {broken}"
    arabic = page.evaluate(RTL_CHECK)
    if chapter == "01_corpus":
        assert arabic is not None, "the corpus chapter shows no Arabic text"
    if arabic is not None:
        assert arabic["rtl"], f"Arabic text drawn left to right: {arabic['text']}"
    assert not page.evaluate(DIR_CHECK), "Arabic outputs without a dir attribute"
    layout = page.evaluate(LAYOUT_CHECK)
    assert not layout["wide"], f"wider than the {layout['column']} px text column: {layout['wide'][:10]}"
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("page_name", sorted(p.stem for p in BOOK.glob("*.md") if p.stem != "intro"))
def test_book_page_fits_the_column_at_1280_px(browser, site, page_name):
    page, problems = _open(browser, f"{site}/{page_name}.html", site)
    layout = page.evaluate(LAYOUT_CHECK)
    assert not layout["wide"], f"wider than the {layout['column']} px text column: {layout['wide'][:10]}"
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
