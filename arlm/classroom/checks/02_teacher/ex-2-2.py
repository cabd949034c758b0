from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-2-2"
expects = ("rows: one dict per paper model with 'model' (the paper's name), 'word table (M)' (V x E in "
           "millions) and 'projection (M)' (3E x H in millions, 0 without the trigram)")


def _row(rows, preset):
    import arlm

    need(rows=rows)
    name_ = arlm.params.PAPER_NAMES[preset]
    found = [r for r in rows if r.get("model") == name_]
    assert found, f"rows has no row for {name_}"
    return found[0], arlm.mobilebert.named_config(preset)


@test_case()
def test_word_tables(rows):
    import arlm

    for preset in arlm.params.PAPER_NAMES:
        row, c = _row(rows, preset)
        e = c.embedding_size or c.hidden_size
        assert close(row.get("word table (M)"), c.vocab_size * e / 1e6, rel=1e-2), f"{row['model']}: V x E"


@test_case()
def test_trigram_projections(rows):
    import arlm

    for preset in arlm.params.PAPER_NAMES:
        row, c = _row(rows, preset)
        e = c.embedding_size or c.hidden_size
        expected = 3 * e * c.hidden_size / 1e6 if c.trigram_input else 0.0
        assert close(row.get("projection (M)"), expected, rel=1e-2, abs_tol=1e-6), f"{row['model']}: 3E x H"
