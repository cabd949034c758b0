"""The chapters' notebooks: badges and the Colab install cell (written once, in arlm.book.sources) follow the one
repository setting."""

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book import runner, sources


def test_badges_and_install_cells_follow_the_repository_setting(monkeypatch):
    monkeypatch.setattr(sources, "book_repository", lambda: ("https://github.com/someone/fork", "edition"))
    monkeypatch.setattr("arlm.artifacts.source_commit", lambda: "0123456789ab")
    for chapter in CHAPTERS:
        notebook = sources.notebook_of(chapter)
        badge = f"https://colab.research.google.com/github/someone/fork/blob/edition/book/edition/cpu/{chapter}.ipynb"
        assert badge in notebook.cells[0].source, chapter
        # the install cell is written once (`sources.INSTALL_CELL`), not in the chapters: one in each notebook,
        # the first code cell, just before the parameters papermill injects after
        assert "google.colab" not in (sources.chapters_dir() / f"{chapter}.py").read_text(encoding="utf-8")
        installs = [i for i, cell in enumerate(notebook.cells) if "google.colab" in cell.source]
        code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
        assert len(installs) == 1 and installs[0] == code[0], chapter
        assert "parameters" in notebook.cells[installs[0] + 1].metadata["tags"]
        install = notebook.cells[installs[0]].source
        assert 'REPOSITORY = "https://github.com/someone/fork"' in install
        assert 'REVISION = "0123456789ab"' in install  # pinned to the commit the notebook was made from


def test_a_checkout_with_uncommitted_changes_installs_the_branch(monkeypatch):
    monkeypatch.setattr("arlm.artifacts.source_commit", lambda: "0123456789ab+")
    install = next(c.source for c in sources.notebook_of("02_teacher").cells if "google.colab" in c.source)
    assert f'REVISION = "{sources.book_repository()[1]}"' in install


def test_the_readme_names_the_repository_setting():
    readme = (sources.REPO / "README.md").read_text(encoding="utf-8")
    url, _ = sources.book_repository()
    assert url in readme and "book/_config.yml" in readme


def test_every_chapter_kernel_checks_its_figures(monkeypatch, tmp_path):
    """The kernel papermill starts runs `runner.WATCH` first: every figure a chapter draws is checked
    (tests/test_figures.py checks what the watch does)."""
    import papermill

    class Started(Exception):
        pass

    def execute(*args, **kwargs):
        raise Started(kwargs["extra_arguments"])

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    with pytest.raises(Started) as started:
        runner.run_chapter("01_corpus", "tiny", tmp_path, {})
    assert f"--IPKernelApp.exec_lines={runner.WATCH}" in started.value.args[0]
