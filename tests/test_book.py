"""The note at the top of every executed chapter says which run the page shows."""

import json

import nbformat

from arlm.book import announcement, banner


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


def test_arabic_outputs_and_cells_get_dir_auto():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("arabic", Path(__file__).parents[1] / "book" / "_ext" / "arabic.py")
    arabic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(arabic)
    html = '<table><tr><td>كتاب</td><th class="x">y</th></tr></table><pre>قال</pre><p dir="rtl">z</p><path d="M0"/>'
    assert arabic.add_dir(html) == ('<table><tr><td dir="auto">كتاب</td><th class="x" dir="auto">y</th></tr></table>'
                                    '<pre dir="auto">قال</pre><p dir="rtl">z</p><path d="M0"/>')
