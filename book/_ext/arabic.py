"""Arabic in the built pages reads in order, in English sentences, tables and outputs alike.

The browser orders mixed text by the Unicode bidirectional algorithm, which lets neutral characters between
Arabic letters join them: in "أ, إ, آ become ا" the letters and commas form one right-to-left run (read from the
left, the list comes out backwards), and a line of Arabic that starts with "[CLS]" is laid out left to right, in
pieces. After the build, every block of text (paragraph, list item, table cell, heading, line of an output) that
holds Arabic gets a direction from its words:

* more Arabic words than Latin ones, and an Arabic word first (tokenizer markers such as ``[CLS]`` are not words):
  ``dir="rtl"``, the block right to left; in a notebook's output such a line becomes a right-to-left line of
  its own;
* otherwise ``dir="ltr"``, and each run of Arabic (Arabic characters joined by spaces and Arabic punctuation)
  is isolated in ``<bdi dir="rtl">``: it reads right to left where it stands and never swaps places with its
  neighbours. A list of single Arabic words ("the words سأل، مسؤول، قرآن") is isolated word by word, so that it
  keeps its written order in an English sentence, as a list with Latin commas does.

Code reads left to right. Text a page already isolates (``<bdi>``, an element with ``dir``) is left as it is, so
the pass can run again over a page it has seen.
"""

import html
import html.parser
import re

from arlm.book.bidi import CHARS, LATIN_WORD, PRE_RUN, RUN, items, rtl

BLOCKS = {"p", "li", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "figcaption", "summary",
          "pre", "blockquote"}
_SKIP = {"script", "style", "svg", "math", "textarea", "head", "template"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_OUTPUT = re.compile(r"\bcell_output\b|\boutput\b")  # a notebook output's containers
LINE_CLASS = "arabic-line"  # a right-to-left line of an output; book/_static/arabic.css shows it as a block


class _Element:
    def __init__(self, tag, attrs, parent, end):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.end = end  # where its start tag ends in the page
        self.close = None  # where its end tag starts
        self.texts = []  # (offset, text, isolated) of the text in this block: isolated inside it already

    def output(self):
        element = self
        while element is not None:
            if _OUTPUT.search(element.attrs.get("class") or ""):
                return True
            element = element.parent
        return False


class _Page(html.parser.HTMLParser):
    """A page's elements and text, with offsets in the source: the pass inserts text at these offsets, so
    whatever it does not touch stays byte for byte."""

    def __init__(self, source):
        super().__init__(convert_charrefs=False)
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self.stack = [_Element("#root", {}, None, 0)]
        self.blocks = []
        self.tags = []  # (offset, +1 opens / -1 closes / 0 neither): where a span around a line would nest
        self.feed(source)
        self.close()

    def _offset(self):
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        element = _Element(tag, dict(attrs), self.stack[-1], start + len(self.get_starttag_text()))
        self.tags.append((start, 0 if tag in _VOID else 1))
        if tag in BLOCKS:
            self.blocks.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((self._offset(), 0))

    def handle_endtag(self, tag):
        self.tags.append((self._offset(), -1))
        if any(e.tag == tag for e in self.stack[1:]):
            while (element := self.stack.pop()).tag != tag:
                pass
            element.close = self._offset()

    def handle_data(self, data):
        if any(e.tag in _SKIP or "math" in (e.attrs.get("class") or "").split() for e in self.stack):
            return
        block = next((e for e in reversed(self.stack) if e.tag in BLOCKS), None)
        if block is not None:
            # the nearest element at or inside the block that sets a direction
            inner = next(e for e in reversed(self.stack) if e is block or e.tag == "bdi" or "dir" in e.attrs)
            block.texts.append((self._offset(), data, inner is not block))


def isolate(source):
    """`source` (a built page) with a direction on every block that holds Arabic and each Arabic run in
    left-to-right text isolated (see the module's docstring)."""
    page = _Page(source)
    edits = []  # (offset, order, text): at one offset a closing tag (order 0) goes before an opening one
    for block in page.blocks:
        texts = [(offset, text) for offset, text, isolated in block.texts if not isolated]
        if not any(CHARS.search(text) for _, text in texts):
            continue
        if block.tag == "pre":
            edits += _pre(page, block, source, texts)
            continue
        direction = block.attrs.get("dir")
        if direction is None:
            direction = "rtl" if rtl(html.unescape("".join(text for _, text, _ in block.texts))) else "ltr"
            edits.append(_set_dir(source, block, direction))
        if direction != "rtl":
            edits += _runs(texts, RUN)
    for offset, _, text in sorted(edits, key=lambda edit: edit[:2], reverse=True):
        source = source[:offset] + text + source[offset:]
    return source


def _set_dir(source, element, direction):
    at = element.end - (2 if source[element.end - 2 : element.end] == "/>" else 1)
    return at, 1, f' dir="{direction}"'


def _runs(texts, pattern, skip=()):
    """The tags that isolate each Arabic run of `texts`, except runs that start inside a `skip` span."""
    edits = []
    for offset, text in texts:
        for m in pattern.finditer(text):
            for start, end in items(m):
                if not any(low <= offset + start < high for low, high in skip):
                    edits += [(offset + start, 1, '<bdi dir="rtl">'), (offset + end, 0, "</bdi>")]
    return edits


def _pre(page, pre, source, texts):
    """Code reads left to right with its Arabic runs isolated. In a notebook's output each line that reads right
    to left becomes a right-to-left line of its own (the whole block, when every line does)."""
    if "dir" in pre.attrs:
        return [] if pre.attrs["dir"] == "rtl" else _runs(texts, PRE_RUN)
    lines, start = [], pre.end  # (start, end, plain text) of each line
    for line in source[pre.end : pre.close].split("\n"):
        lines.append((start, start + len(line), html.unescape(re.sub(r"<[^>]*>", "", line))))
        start += len(line) + 1
    right = [pre.output() and bool(CHARS.search(text)) and rtl(text) for _, _, text in lines]
    if all(r for r, (_, _, text) in zip(right, lines, strict=True) if LATIN_WORD.search(text) or CHARS.search(text)):
        return [_set_dir(source, pre, "rtl")]
    edits, wrapped = [_set_dir(source, pre, "ltr")], []
    for (low, high, _), line_rtl in zip(lines, right, strict=True):
        if line_rtl and _nests(page, low, high):
            # the line break goes inside the line's span: it ends the line, and the block adds no empty line
            edits += [(low, 1, f'<span class="{LINE_CLASS}" dir="rtl">'), (min(high + 1, pre.close), 0, "</span>")]
            wrapped.append((low, high))
    return edits + _runs(texts, PRE_RUN, skip=wrapped)


def _nests(page, low, high):
    """Whether the tags between `low` and `high` close what they open, so that a span around them nests."""
    depth = 0
    for offset, step in page.tags:
        if low <= offset < high:
            depth += step
            if depth < 0:
                return False
    return depth == 0

