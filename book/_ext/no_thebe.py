"""Drop sphinx-thebe's page scripts and page hooks: jupyter-book 1.x always loads it, its config script is added
twice (a "THEBE_JS_URL has already been declared" error in every page), it points at a CDN, and its per-page hook
warns on every page. The book's live-code path is the Colab launch button, not thebe."""


def setup(app):
    for event in ("env-before-read-docs", "doctree-resolved"):
        listeners = app.events.listeners[event]
        listeners[:] = [entry for entry in listeners if getattr(entry.handler, "__module__", "") != "sphinx_thebe"]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
