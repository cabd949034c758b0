"""The runner's notebooks: badges and the Colab install cell follow the one repository setting."""

from arlm import runner
from arlm.artifacts import CHAPTERS


def test_badges_and_install_cells_follow_the_repository_setting(monkeypatch):
    monkeypatch.setattr(runner, "book_repository", lambda: ("https://github.com/someone/fork", "edition"))
    monkeypatch.setattr("arlm.artifacts.source_commit", lambda: "0123456789ab")
    for chapter in CHAPTERS:
        notebook = runner.notebook_of(chapter)
        badge = f"https://colab.research.google.com/github/someone/fork/blob/edition/book/edition/cpu/{chapter}.ipynb"
        assert badge in notebook.cells[0].source, chapter
        install = next(cell.source for cell in notebook.cells if "google.colab" in cell.source)
        assert 'REPOSITORY = "https://github.com/someone/fork"' in install
        assert 'REVISION = "0123456789ab"' in install  # pinned to the commit the notebook was made from


def test_a_checkout_with_uncommitted_changes_installs_the_branch(monkeypatch):
    monkeypatch.setattr("arlm.artifacts.source_commit", lambda: "0123456789ab+")
    install = next(c.source for c in runner.notebook_of("02_teacher").cells if "google.colab" in c.source)
    assert f'REVISION = "{runner.book_repository()[1]}"' in install


def test_the_readme_names_the_repository_setting():
    readme = (runner.REPO / "README.md").read_text(encoding="utf-8")
    url, _ = runner.book_repository()
    assert url in readme and "book/_config.yml" in readme
