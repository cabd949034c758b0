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

ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u089f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_CHARS = re.compile(f"[{ARABIC}]+")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_MARKER = re.compile(r"\[[A-Z]{2,5}\]")  # [CLS], [SEP], [MASK], [UNK], [PAD]: tokenizer markup
# a run of Arabic to isolate: Arabic characters joined by spaces and by the Arabic comma and semicolon, with a
# closing comma (in a <pre>, not across a line break); a list of single words is split at its commas
_LIST = "\u060c\u061b"  # ، ؛
_IN_RUN = ARABIC.replace("\u0600-\u06ff", "\u0600-\u060b\u060d-\u061a\u061c-\u06ff")
_RUN = re.compile(f"[{_IN_RUN}]+(?:[\\s{_LIST}]+[{_IN_RUN}]+)*[{_LIST}]?")
_PRE_RUN = re.compile(f"[{_IN_RUN}]+(?:(?:[^\\S\\n]|[{_LIST}])+[{_IN_RUN}]+)*[{_LIST}]?")
_ITEM = re.compile(f"[^{_LIST}\\s]+")

BLOCKS = {"p", "li", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "figcaption", "summary",
          "pre", "blockquote"}
_SKIP = {"script", "style", "svg", "math", "textarea", "head", "template"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_OUTPUT = re.compile(r"\bcell_output\b|\boutput\b")  # a notebook output's containers
LINE_CLASS = "arabic-line"  # a right-to-left line of an output; book/_static/arabic.css shows it as a block


def rtl(text):
    """Whether `text` reads right to left: more Arabic words than Latin ones, and an Arabic word first."""
    text = _MARKER.sub(" ", text)
    arabic = [m for m in _CHARS.finditer(text) if any(c.isalpha() for c in m.group())]
    latin = _LATIN_WORD.search(text)
    if not arabic or (latin is not None and latin.start() < arabic[0].start()):
        return False
    return len(arabic) > len(_LATIN_WORD.findall(text))


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
        if not any(_CHARS.search(text) for _, text in texts):
            continue
        if block.tag == "pre":
            edits += _pre(page, block, source, texts)
            continue
        direction = block.attrs.get("dir")
        if direction is None:
            direction = "rtl" if rtl(html.unescape("".join(text for _, text, _ in block.texts))) else "ltr"
            edits.append(_set_dir(source, block, direction))
        if direction != "rtl":
            edits += _runs(texts, _RUN)
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
            for start, end in _items(m):
                if not any(low <= offset + start < high for low, high in skip):
                    edits += [(offset + start, 1, '<bdi dir="rtl">'), (offset + end, 0, "</bdi>")]
    return edits


def _items(run):
    """A run's spans to isolate: the whole run, or each word of a list of single words ("سأل، مسؤول، قرآن"),
    which keeps its written order in left-to-right text as a list with Latin commas does."""
    parts = re.split(f"[{_LIST}]", run.group().rstrip(_LIST))
    if len(parts) > 1 and all(len(part.split()) == 1 for part in parts):
        return [(run.start() + m.start(), run.start() + m.end()) for m in _ITEM.finditer(run.group())]
    return [run.span()]


def _pre(page, pre, source, texts):
    """Code reads left to right with its Arabic runs isolated. In a notebook's output each line that reads right
    to left becomes a right-to-left line of its own (the whole block, when every line does)."""
    if "dir" in pre.attrs:
        return [] if pre.attrs["dir"] == "rtl" else _runs(texts, _PRE_RUN)
    lines, start = [], pre.end  # (start, end, plain text) of each line
    for line in source[pre.end : pre.close].split("\n"):
        lines.append((start, start + len(line), html.unescape(re.sub(r"<[^>]*>", "", line))))
        start += len(line) + 1
    right = [pre.output() and bool(_CHARS.search(text)) and rtl(text) for _, _, text in lines]
    if all(r for r, (_, _, text) in zip(right, lines, strict=True) if _LATIN_WORD.search(text) or _CHARS.search(text)):
        return [_set_dir(source, pre, "rtl")]
    edits, wrapped = [_set_dir(source, pre, "ltr")], []
    for (low, high, _), line_rtl in zip(lines, right, strict=True):
        if line_rtl and _nests(page, low, high):
            # the line break goes inside the line's span: it ends the line, and the block adds no empty line
            edits += [(low, 1, f'<span class="{LINE_CLASS}" dir="rtl">'), (min(high + 1, pre.close), 0, "</span>")]
            wrapped.append((low, high))
    return edits + _runs(texts, _PRE_RUN, skip=wrapped)


def _nests(page, low, high):
    """Whether the tags between `low` and `high` close what they open, so that a span around them nests."""
    depth = 0
    for offset, step in page.tags:
        if low <= offset < high:
            depth += step
            if depth < 0:
                return False
    return depth == 0

