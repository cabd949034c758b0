"""The note at the top of every executed chapter says which run the page shows; the pass over the built pages
(book/_ext) isolates Arabic and keeps table cells whole."""

import json

import nbformat

from arlm.book.build import BOOK, announcement, banner


def test_the_banner_names_scale_overrides_data_date_machine_and_commit(tmp_path):
    environment = {"arlm": "0.1.0", "commit": "abc123def456", "runtime": "backend jax, 8 x TPU",
                   "machine": {"cores": 2, "cpu": "AMD EPYC"}, "data_mirror": True, "date": "2026-12-01 10:00 UTC"}
    config = {"scale": "cpu", "seed": 12345, "teacher_steps": 3000}
    (tmp_path / "results.json").write_text(json.dumps({"scale": "cpu", "config": config, "environment": environment}))
    notebook = nbformat.v4.new_notebook(metadata={"papermill": {"duration": 1234.5}})
    text = banner(tmp_path, notebook)
    for expected in ("`cpu`", "`teacher_steps=3000`", "the data mirror", "2026-12-01 10:00 UTC, 1234 s",
                     "2 cores (AMD EPYC)", "8 x TPU", "`abc123def456`"):
        assert expected in text, expected
    assert "seed" not in text  # only what differs from the preset


def test_edition_pages_say_they_are_the_edition(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"scale": "cpu", "config": {"scale": "cpu"},
                                                       "environment": {"data_mirror": True}}))
    assert "The cpu edition\n" in banner(tmp_path, nbformat.v4.new_notebook(), edition={"scale": "cpu"})
    machine = {"cores": 2, "cpu": "AMD EPYC"}
    manifest = {"scale": "cpu", "total_seconds": 5400.0,
                "chapters": {"01_corpus": {"date": "2026-12-01 16:33 UTC", "machine": machine},
                             "02_teacher": {"date": "2026-12-01 16:34 UTC", "machine": machine}}}
    line = announcement(manifest)
    for expected in ("<code>cpu</code> edition", "2026-12-01 16:33 UTC", "2 cores (AMD EPYC)", "90 min"):
        assert expected in line, expected


def test_a_chapter_that_did_not_finish_says_so(tmp_path):
    assert "did not finish" in banner(tmp_path, nbformat.v4.new_notebook())


def test_matplotlib_joins_arabic_letters_in_figures():
    # pyproject pins matplotlib>=3.11, the first release that shapes text (libraqm): a letter between two others
    # takes its medial form, a glyph of its own, instead of three isolated copies
    from matplotlib import font_manager
    from matplotlib._text_helpers import layout
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans")))
    glyphs = [item.glyph_index for item in layout("ببب", font)]
    assert len(set(glyphs)) == 3


def _extension(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BOOK / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arabic_in_english_sentences_is_isolated_run_by_run():
    isolate = _extension("arabic").isolate
    html = "<p>on a carrier: أ, إ, آ become ا; unify ٱ→ا and the words سأل، مسؤول keep</p>"
    assert isolate(html) == (
        '<p dir="ltr">on a carrier: <bdi dir="rtl">أ</bdi>, <bdi dir="rtl">إ</bdi>, <bdi dir="rtl">آ</bdi> become '
        '<bdi dir="rtl">ا</bdi>; unify <bdi dir="rtl">ٱ</bdi>→<bdi dir="rtl">ا</bdi> and the words '
        '<bdi dir="rtl">سأل</bdi>، <bdi dir="rtl">مسؤول</bdi> keep</p>')
    # a sentence with Arabic commas stays one run; a list of single words is isolated word by word
    assert isolate("<p>gold: صحابي من صحابة، وعمه وأخوه،</p>") == (
        '<p dir="ltr">gold: <bdi dir="rtl">صحابي من صحابة، وعمه وأخوه،</bdi></p>')
    # a phrase stays one run; a cell of Arabic reads right to left; what a page isolated itself is kept
    assert isolate("<li><p>Q: قال رسول الله?</p></li>") == (
        '<li><p dir="ltr">Q: <bdi dir="rtl">قال رسول الله</bdi>?</p></li>')
    assert isolate("<td>##كتاب</td><td>2</td>") == '<td dir="rtl">##كتاب</td><td>2</td>'
    kept = '<p dir="rtl">قال x</p><p>a <bdi>ب</bdi></p><script>var s = "<p>قال</p>";</script>'
    assert isolate(kept) == kept


def test_arabic_output_lines_read_right_to_left_and_code_left_to_right():
    arabic = _extension("arabic")
    output = ('<div class="cell_output"><pre><span></span>[CLS] قال رسول [MASK] الله [SEP]\n'
              "label: 1 (من الكتاب)\n</pre></div>")
    assert arabic.isolate(output) == (
        '<div class="cell_output"><pre dir="ltr"><span class="arabic-line" dir="rtl"><span></span>[CLS] قال رسول '
        "[MASK] الله [SEP]\n</span>label: 1 (<bdi dir=\"rtl\">من الكتاب</bdi>)\n</pre></div>")
    assert arabic.isolate('<div class="output"><pre>قال رسول\nالله</pre></div>') == (
        '<div class="output"><pre dir="rtl">قال رسول\nالله</pre></div>')
    code = '<div class="cell_input"><pre><span class="s2">"قال رسول الله"</span></pre></div>'
    assert arabic.isolate(code) == code.replace("<pre>", '<pre dir="ltr">').replace(
        '"قال رسول الله"', '"<bdi dir="rtl">قال رسول الله</bdi>"')
    for page in (output, code):  # a second pass (an incremental build) changes nothing
        assert arabic.isolate(arabic.isolate(page)) == arabic.isolate(page)
    assert arabic.rtl("[CLS] قال رسول") and not arabic.rtl("Q: قال رسول") and not arabic.rtl("سمات (small)")


def test_table_cells_keep_numbers_and_names_whole():
    keep_words = _extension("table_cells").keep_words
    html = ("<table><thead><tr><th>paper_size_mb</th></tr></thead>"
            "<tbody><tr><td>TF-IDF</td><td>91959</td><td>-</td></tr></tbody></table>")
    kept = keep_words(html)
    assert kept == html.replace("paper_size_mb", "paper_<wbr>size_<wbr>mb").replace(
        "TF-IDF", '<span class="nowrap">TF-IDF</span>')
    assert keep_words(kept) == kept
