"""Put the announcement `arlm book` passes in ``ARLM_BOOK_ANNOUNCEMENT`` at the top of every page (the theme's
``announcement`` option): when the book is built from the committed cpu edition, every page says so."""

import os


def _announce(app, config):
    text = os.environ.get("ARLM_BOOK_ANNOUNCEMENT")
    if text:
        config.html_theme_options = {**config.html_theme_options, "announcement": text}


def setup(app):
    app.connect("config-inited", _announce)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
