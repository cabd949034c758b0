"""Table cells wrap between words only. A number or a name has no break opportunity of its own, except at a
hyphen ("TF-IDF", "2-class"), where the browser would cut it: after the build, each word of a table cell that
holds a hyphen is kept on one line (``<span class="nowrap">``, book/_static/layout.css). A column name
(``paper_parameters_millions``) may wrap after each underscore (``<wbr>``), between its words. A table still
wider than the column scrolls inside its output (layout.css)."""

import re

_CELL = re.compile(r"(<(td|th)\b[^>]*>)(.*?)(</\2>)", re.S)
_HEAD = re.compile(r"<thead\b.*?</thead>", re.S)
_UNDERSCORE = re.compile(r"_(?=[^\s<>_])")  # not at the end of a text: there a <wbr> follows already
_TAG = re.compile(r"(<[^>]*>)")
_HYPHENATED = re.compile(r"[^\s<>]*[-\u2010\u2013][^\s<>]*")
OPEN = '<span class="nowrap">'


def keep_words(html):
    """`html` with every hyphenated word of a table cell in a span that does not wrap, and a break opportunity
    after each underscore of a column name."""
    html = _HEAD.sub(lambda head: _CELL.sub(lambda m: m.group(1) + _texts(m.group(3), _names) + m.group(4),
                                            head.group()), html)
    return _CELL.sub(lambda m: m.group(1) + _texts(m.group(3), _cell) + m.group(4), html)


def _names(text):
    return _UNDERSCORE.sub("_<wbr>", text)


def _texts(content, change):
    parts = _TAG.split(content)
    for i in range(0, len(parts), 2):  # the text between tags; a word already kept follows its span
        if not (i and parts[i - 1] == OPEN):
            parts[i] = change(parts[i])
    return "".join(parts)


def _cell(text):
    return _HYPHENATED.sub(lambda m: f"{OPEN}{m.group()}</span>" if m.group().strip("-") else m.group(), text)

