"""Drop sphinx-thebe's page scripts: jupyter-book 1.x always loads it, its config script is added twice
(a "THEBE_JS_URL has already been declared" error in every page), and it points at a CDN. The book's
live-code path is the Colab launch button, not thebe."""


def setup(app):
    listeners = app.events.listeners["env-before-read-docs"]
    listeners[:] = [entry for entry in listeners if getattr(entry.handler, "__module__", "") != "sphinx_thebe"]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
