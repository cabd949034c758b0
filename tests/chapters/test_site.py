"""The built book in headless Chromium: every chapter opens with no console errors, every figure loads,
Arabic renders right to left with a direction set on every output that holds it, nothing is wider than the
text column at 1280 px (a full-page screenshot of each chapter goes to the test artifacts), and nothing is
fetched from the internet (no CDN-only scripts). On each chapter's page (loaded once): the solutions, their code
and outputs, stay hidden until opened; the parameters cell shows the values the run used; every run of Arabic
is isolated and drawn in order; no table cell wraps inside a word or number, at 1280 px and in a 720 px column;
no figure carries an overlap warning (`arlm.book.figures`, checked when the chapter drew it)."""

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.build import BOOK
from arlm.book.edition import EDITION

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


# whether an element is inside a container of the article that scrolls sideways (a table wider than the column)
SCROLLED = """function scrolled(el, article) {
  for (let up = el.parentElement; up && up !== article; up = up.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(up).overflowX)) return true;
  }
  return false;
}"""

# every element of the article within the text column, nothing that scrolls sideways but a table's container
# (inline math excluded: MathJax's inline containers report a scroll width of their own)
LAYOUT_CHECK = """() => {
  """ + SCROLLED + """
  const article = document.querySelector('main article') || document.querySelector('main');
  const column = article.getBoundingClientRect();
  const wide = [];
  const selector = 'pre, table, img, mjx-container[display="true"], div.cell_output, div.highlight, p, li, figure';
  for (const el of article.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || (el.closest('table') && scrolled(el, article))) continue;
    if (box.right > column.right + 1 || el.scrollWidth > el.clientWidth + 1) {
      wide.push(`${el.tagName} ${Math.round(Math.max(box.width, el.scrollWidth))}px: ` +
                (el.innerText || el.getAttribute('src') || '').slice(0, 50));
    }
  }
  return {column: Math.round(column.width), wide};
}"""

# Every text of Arabic letters is isolated (inside a <bdi> or an element with dir="rtl"); isolated runs in a
# left-to-right block are drawn left to right in the order written; in each right-to-left block or line the first
# character is drawn right of the last one of its first line.
ARABIC_CHECK = """() => {
  const main = document.querySelector('main article') || document.querySelector('main');
  const letter = /[\\u0621-\\u064A\\u066E-\\u06D3\\u06FA-\\u06FF\\u0750-\\u077F]/;
  const loose = [], disorder = [], reversed = [];
  let isolated = 0, rtl = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!letter.test(node.textContent) || parent.closest('script, style, .math, mjx-container')) continue;
    const context = parent.closest('bdi, [dir]');
    if (!context || (context.tagName !== 'BDI' && context.getAttribute('dir') !== 'rtl')) {
      loose.push(node.textContent.trim().slice(0, 60));
    }
  }
  for (const block of main.querySelectorAll('[dir="ltr"]')) {
    const runs = [...block.querySelectorAll('bdi')].filter(
      run => run.parentElement.closest('[dir]:not(bdi)') === block && run.checkVisibility());
    isolated += runs.length;
    for (let i = 1; i < runs.length; i++) {
      const a = [...runs[i - 1].getClientRects()].pop(), b = runs[i].getClientRects()[0];
      if (a && b && Math.abs(a.top - b.top) < 2 && a.right > b.left + 1) {
        disorder.push(`${runs[i - 1].textContent} | ${runs[i].textContent} in: ${block.textContent.slice(0, 60)}`);
      }
    }
  }
  for (const el of main.querySelectorAll('[dir="rtl"]:not(bdi)')) {
    if (!el.checkVisibility()) continue;
    const chars = [];
    const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node && chars.length < 400; node = texts.nextNode()) {
      for (let i = 0; i < node.textContent.length && chars.length < 400; i++) {
        if (/\\s/.test(node.textContent[i])) continue;
        const range = document.createRange();
        range.setStart(node, i); range.setEnd(node, i + 1);
        const box = range.getBoundingClientRect();
        if (box.width > 0) chars.push(box);
      }
    }
    const line = chars.filter(box => chars.length && box.top < chars[0].bottom - 1 && box.bottom > chars[0].top + 1);
    if (line.length < 2) continue;
    rtl.push(el.textContent.trim().slice(0, 20));
    if (line[0].right < line[line.length - 1].right) reversed.push(el.textContent.trim().slice(0, 60));
  }
  return {loose, disorder, reversed, isolated, rtl};
}"""

# No table cell wraps inside a word or number (a column name may wrap after an underscore); a table wider than
# the column scrolls inside a container that fits it.
TABLE_CHECK = """() => {
  """ + SCROLLED + """
  const article = document.querySelector('main article') || document.querySelector('main');
  const column = article.getBoundingClientRect();
  const broken = [], wide = [];
  for (const cell of article.querySelectorAll('td, th')) {
    if (!cell.checkVisibility()) continue;
    const words = cell.closest('thead') ? /[^\\s_]+_?/g : /\\S+/g;
    const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      for (const word of node.textContent.matchAll(words)) {
        const range = document.createRange();
        range.setStart(node, word.index); range.setEnd(node, word.index + word[0].length);
        const boxes = [...range.getClientRects()].filter(box => box.width > 0);
        if (boxes.some(box => box.top >= boxes[0].bottom - 1)) broken.push(word[0]);
      }
    }
  }
  for (const table of article.querySelectorAll('table')) {
    const box = table.getBoundingClientRect();
    if (table.checkVisibility() && box.right > column.right + 1 && !scrolled(table, article)) {
      wide.push(`${Math.round(box.width)}px: ${table.innerText.slice(0, 40)}`);
    }
  }
  return {column: Math.round(column.width), broken, wide};
}"""

# Every solution's content (its code, outputs and text) is hidden, and no solution cell stands outside one.
SOLUTION_CHECK = """() => {
  const solutions = [...document.querySelectorAll('main div.solution')];
  const shown = [];
  for (const solution of solutions) {
    for (const el of solution.querySelectorAll('div.cell_output, div.cell_input, section > p, pre, table, img')) {
      if (el.checkVisibility({visibilityProperty: true, opacityProperty: true}) &&
          el.getBoundingClientRect().height > 0) shown.push(el.textContent.trim().slice(0, 40));
    }
  }
  return {
    solutions: solutions.length,
    exercises: document.querySelectorAll('main div.exercise').length,
    outputs: solutions.filter(s => s.querySelector('div.cell_output')).length,
    loose: [...document.querySelectorAll('main div.tag_solution')].filter(c => !c.closest('div.solution')).length,
    shown,
  };
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


@pytest.fixture(scope="module", params=CHAPTERS)
def chapter(request, browser, site, any_book):
    """Each chapter's page, loaded once for the tests below: (chapter, page, problems, run folder)."""
    page, problems = _open(browser, f"{site}/chapters/{request.param}.html", site)
    yield request.param, page, problems, any_book[0]
    page.close()


def test_chapter_renders_offline_and_fits_the_column_at_1280_px(chapter):
    name, page, problems, run = chapter
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    book = "edition" if run == EDITION else "tiny"
    page.screenshot(path=str(ARTIFACTS / f"{book}-{name}-1280.png"), full_page=True)
    broken = page.eval_on_selector_all(
        "main img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert not broken, f"figures that did not load: {broken}"
    arabic = page.evaluate(RTL_CHECK)
    if name == "01_corpus":
        assert arabic is not None, "the corpus chapter shows no Arabic text"
    if arabic is not None:
        assert arabic["rtl"], f"Arabic text drawn left to right: {arabic['text']}"
    layout = page.evaluate(LAYOUT_CHECK)
    assert not layout["wide"], f"wider than the {layout['column']} px text column: {layout['wide'][:10]}"
    assert not problems, problems


def test_the_parameters_cell_shows_the_values_the_run_used(chapter):
    name, page, _, run = chapter
    executed = run / f"{name}.ipynb"
    if not executed.is_file():
        pytest.skip(f"{name} was not executed in this run")
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    injected = next(c for c in cells if "injected-parameters" in c["metadata"].get("tags", []))
    assignments = [line for line in "".join(injected["source"]).splitlines() if " = " in line]
    shown = page.locator("div.tag_parameters div.cell_input").inner_text()
    assert all(line in shown for line in assignments), (assignments, shown)
    assert page.locator("div.tag_injected-parameters").count() == 0


def test_arabic_runs_are_isolated_and_drawn_in_order(chapter):
    name, page, _, _ = chapter
    found = page.evaluate(ARABIC_CHECK)
    assert not found["loose"], f"Arabic outside any <bdi> or right-to-left element: {found['loose'][:5]}"
    assert not found["disorder"], f"Arabic runs drawn out of order: {found['disorder'][:5]}"
    assert not found["reversed"], f"right-to-left text drawn left to right: {found['reversed'][:5]}"
    if name == "01_corpus":  # the decoded example reads right to left from its [CLS]
        assert found["isolated"] > 0 and any(text.startswith("[CLS]") for text in found["rtl"]), found["rtl"][:5]


def test_tables_never_break_a_word_or_a_number(chapter):
    _, page, _, _ = chapter
    for width in (1280, 960):  # at 960 px the text column is 720 px wide
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        found = page.evaluate(TABLE_CHECK)
        assert not found["broken"], f"words cut in table cells, {found['column']} px column: {found['broken'][:10]}"
        assert not found["wide"], f"tables wider than the {found['column']} px column: {found['wide'][:5]}"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_no_figure_carries_an_overlap_warning(chapter):
    # the figures are images: arlm.book.figures checked their text when the chapter drew them, and warned on the page
    _, page, _, _ = chapter
    assert "FigureOverlapWarning" not in page.inner_text("main")


def test_solutions_stay_hidden_with_their_outputs_until_opened(chapter):
    name, page, _, run = chapter
    if not (run / f"{name}.ipynb").is_file():
        pytest.skip(f"{name} was not executed in this run")
    found = page.evaluate(SOLUTION_CHECK)
    assert found["solutions"] == found["exercises"] > 0 and found["outputs"] > 0, found
    assert not found["loose"], f"{found['loose']} solution cells outside their solution"
    assert not found["shown"], f"solution content shown before it is opened: {found['shown'][:5]}"
    solution = page.locator("main div.solution").filter(has=page.locator("div.cell_output")).first
    solution.locator("button.toggle-button").click()
    page.wait_for_timeout(400)  # the dropdown's transition
    assert solution.locator("div.cell_output").first.is_visible()


@pytest.mark.parametrize("page_name", sorted(p.stem for p in BOOK.glob("*.md") if p.stem != "intro"))
def test_book_page_fits_the_column_at_1280_px(browser, site, page_name):
    page, problems = _open(browser, f"{site}/{page_name}.html", site)
    layout = page.evaluate(LAYOUT_CHECK)
    assert not layout["wide"], f"wider than the {layout['column']} px text column: {layout['wide'][:10]}"
    assert not page.evaluate(TABLE_CHECK)["broken"], "words cut in table cells"
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
