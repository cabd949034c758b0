"""The executed notebooks as `arlm book` stages them: solutions in closed dropdowns, the run's parameters shown."""

import nbformat

from arlm.book.staging import hide_solutions, show_run_parameters


def _notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": tags}) if kind == "code" else
                      nbformat.v4.new_markdown_cell(source) for kind, source, tags in cells]
    return notebook


def test_each_solution_with_its_code_and_outputs_is_one_closed_dropdown():
    exercise = "```{exercise} Easy: a question\n:label: ex-1-1\nAsk.\n```"
    notebook = _notebook(("markdown", "## Exercises\n\n" + exercise, []),
                         ("code", "print(1)", ["solution", "hide-input"]),
                         ("markdown", "```{solution} ex-1-1\n:class: dropdown\nThe answer.\n```", []),
                         ("markdown", exercise.replace("1-1", "1-2"), []),
                         ("code", "print(2)", ["solution"]),
                         ("markdown", "## Summary", []))
    hide_solutions(notebook)
    assert [cell.source for cell in notebook.cells] == [
        "## Exercises\n\n" + exercise, "```{solution-start} ex-1-1\n:class: dropdown\n```", "print(1)",
        "The answer.", "```{solution-end}\n```", exercise.replace("1-1", "1-2"),
        "```{solution-start} ex-1-2\n:class: dropdown\n```", "print(2)", "```{solution-end}\n```", "## Summary"]
    assert notebook.cells[2].metadata.tags == ["solution", "hide-input"]


def test_the_parameters_cell_shows_the_values_the_run_used():
    notebook = _notebook(("code", 'scale = "tiny"  # tiny | cpu\nrun_dir = None\noverrides = {\n    "a": 1,\n}\nx = 3',
                          ["parameters"]),
                         ("code", '# Parameters\nscale = "cpu"\nrun_dir = "."\noverrides = {"b": 2}\nx = 3\n'
                                  "jit_compile = True\n", ["injected-parameters"]))
    show_run_parameters(notebook)
    assert notebook.cells[0].source == (
        "# The values this run used, set by papermill; the chapter's defaults:\n"
        '#   scale = "tiny", run_dir = None, overrides = { "a": 1, }\n'
        'scale = "cpu"  # tiny | cpu\nrun_dir = "."\noverrides = {"b": 2}\nx = 3\njit_compile = True  # set by the run')
    assert "remove-cell" in notebook.cells[1].metadata.tags
