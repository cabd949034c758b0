"""The live box of `arlm.book.demo`: the ``{arlm-demo}`` directive puts it on a page, and the build writes its files
(runtime, model, tokenizer) into ``_static/arlm-demo/``, from the run `arlm book` builds (``ARLM_BOOK_RUNS``;
the committed edition without it)."""

import os
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from arlm.book import demo
from arlm.book.edition import EDITION


def _demo():
    return demo.find_demo(os.environ.get("ARLM_BOOK_RUNS") or EDITION, EDITION)


class DemoBox(SphinxDirective):
    def run(self):
        pages = self.env.__dict__.setdefault("arlm_demo_pages", set())
        pages.add(self.env.docname)
        folder, whose = _demo()
        static = "../" * self.env.docname.count("/") + "_static/"
        return [nodes.raw("", demo.box_html(folder, whose, static), format="html")]


def _outdated(app, env, added, changed, removed):
    # the box depends on which run is built, which Sphinx cannot see: read its pages again every time
    return sorted(getattr(env, "arlm_demo_pages", set()) - set(removed))


def _purge(app, env, docname):
    getattr(env, "arlm_demo_pages", set()).discard(docname)


def _write(app, exception):
    if exception is None and app.builder.format == "html":
        demo.write_site(_demo()[0], Path(app.outdir) / "_static")


def setup(app):
    app.add_directive("arlm-demo", DemoBox)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
