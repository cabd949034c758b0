from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-2-2"
expects = ("answer: a table with one row per paper model (index: the paper's name, or a 'model' column) and the "
           "columns 'word table (M)' (V x E in millions), 'projection (M)' (3E x H in millions, 0 without the "
           "trigram) and 'table share' (V x E over the backbone's parameters)")
refuses = 'answer = answer.assign(**{"table share": answer["word table (M)"] / 100})'  # over a made-up total


def _rows(answer):
    """{model: row} of a DataFrame indexed by model, one with a 'model' column, or a list of dicts."""
    need(answer=answer)
    if hasattr(answer, "to_dict"):
        answer = answer.reset_index().to_dict("records") if "model" not in answer else answer.to_dict("records")
    return {str(r.get("model", r.get("index"))): r for r in answer}


def _presets(answer):
    import arlm

    rows = _rows(answer)
    for preset, model in arlm.params.PAPER_NAMES.items():
        assert model in rows, f"answer has no row for {model}"
        c = arlm.mobilebert.named_config(preset)
        yield model, rows[model], c, c.embedding_size or c.hidden_size


@test_case()
def test_word_tables(answer):
    for model, row, c, e in _presets(answer):
        assert close(row.get("word table (M)"), c.vocab_size * e / 1e6, rel=1e-2), f"{model}: V x E"


@test_case()
def test_trigram_projections(answer):
    for model, row, c, e in _presets(answer):
        expected = 3 * e * c.hidden_size / 1e6 if c.trigram_input else 0.0
        assert close(row.get("projection (M)"), expected, rel=1e-2, abs_tol=1e-6), f"{model}: 3E x H"


@test_case()
def test_table_shares(answer):
    import arlm

    for model, row, c, e in _presets(answer):
        expected = c.vocab_size * e / arlm.params.count_parameters(c, "backbone")
        assert close(row.get("table share"), expected, rel=1e-2), f"{model}: V x E over the backbone's parameters"
