"""Arabic shown right to left: every output block, table cell and list item of the built pages gets
``dir="auto"``, so the browser picks each one's direction from its first strong character (an Arabic token
list reads right to left, a Latin one left to right), and a mixed line keeps its parts in order."""

import re
from pathlib import Path

# opening tags that hold text a chapter computes or quotes: table cells, output and code blocks, list items,
# paragraphs
_TAGS = re.compile(r"<(td|th|pre|li|p)(?![^>]*\bdir=)(\s[^>]*)?>")


def add_dir(html):
    return _TAGS.sub(lambda m: f"<{m.group(1)}{m.group(2) or ''} dir=\"auto\">", html)


def _finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = add_dir(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
