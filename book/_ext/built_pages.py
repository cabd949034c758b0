"""Rewrite the built HTML pages once the build is done: Arabic isolated by direction (`arabic.isolate`), table
cells that never cut a word (`table_cells.keep_words`). Both passes leave a page they have seen unchanged, so an
incremental build can run them over every page again."""

from pathlib import Path

from arabic import isolate  # book/_ext is on the path of the book's local extensions
from table_cells import keep_words


def _finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = keep_words(isolate(text))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
