"""What `arlm book` changes in an executed notebook before it becomes a page: the `parameters` cell shows the
values the run used (`show_run_parameters`), and each exercise's solution, code and outputs included, goes into
one dropdown that stays closed until the reader opens it (`hide_solutions`)."""

import ast
import re

# a solution's directive (``{solution} ex-1-1``, its options, its text): fences of three or more backticks
_SOLUTION = re.compile(r"\A(`{3,})\{solution\}[ \t]*(\S*)[ \t]*\n((?:[ \t]*:[\w-]+:[^\n]*\n)*)(.*?)\n?\1[ \t]*\Z", re.S)
_EXERCISE_LABEL = re.compile(r"`{3,}\{exercise\}.*?\n[ \t]*:label:[ \t]*(\S+)", re.S)


def _tags(cell):
    return cell.metadata.get("tags", [])


def show_run_parameters(notebook):
    """Show the values the run used in the chapter's `parameters` cell: papermill put them in a cell of its own
    after it (`injected-parameters`), which the page drops; each value the run set replaces the default, and a
    comment above says which defaults it replaced."""
    cells = notebook.cells
    defaults = next((c for c in cells if c.cell_type == "code" and "parameters" in _tags(c)), None)
    injected = next((c for c in cells if "injected-parameters" in _tags(c)), None)
    if defaults is None or injected is None:
        return
    injected.metadata.tags.append("remove-cell")
    values = {node.targets[0].id: ast.get_source_segment(injected.source, node.value)
              for node in ast.parse(injected.source).body if _assigns_a_name(node)}
    lines, replaced = defaults.source.split("\n"), []
    for node in reversed(ast.parse(defaults.source).body):  # bottom up: earlier line numbers stay valid
        if not _assigns_a_name(node) or node.targets[0].id not in values:
            continue
        name, default = node.targets[0].id, ast.get_source_segment(defaults.source, node.value)
        value = values.pop(name)
        if value != default:
            replaced.insert(0, f"{name} = {' '.join(default.split())}")  # one line in the comment
            # ast's columns count UTF-8 bytes
            head = lines[node.lineno - 1].encode()[: node.value.col_offset].decode()
            tail = lines[node.end_lineno - 1].encode()[node.value.end_col_offset :].decode()
            lines[node.lineno - 1 : node.end_lineno] = [head + value + tail]
    lines += [f"{name} = {value}  # set by the run" for name, value in values.items()]
    if replaced:
        note = ["# The values this run used, set by papermill; the chapter's defaults:"]
        for item in replaced:  # one line per few defaults, 88 columns as the chapters' code
            if len(note) == 1 or len(note[-1]) + len(item) > 86:
                note.append("#   " + item)
            else:
                note[-1] += ", " + item
        lines = [*note, *lines]
    defaults.source = "\n".join(lines)


def _assigns_a_name(node):
    return isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)


def hide_solutions(notebook):
    """Put each exercise's solution, its code cells (tagged ``solution``) with their outputs and its
    ``{solution}`` text, into one dropdown that stays closed until the reader opens it (sphinx-exercise's
    gated ``solution-start`` / ``solution-end``). A solution's cells follow their exercise; code cells with no
    ``{solution}`` text belong to the exercise above them."""
    out, label, group = [], None, []
    for cell in [*notebook.cells, None]:
        if cell is not None and _solution_text(cell) is not False:
            group.append(cell)
            continue
        if group:
            out += _gated(group, label)
            group = []
        if cell is not None:
            if cell.cell_type == "markdown":
                label = (_EXERCISE_LABEL.findall(cell.source) or [label])[-1]
            out.append(cell)
    notebook.cells = out


def _solution_text(cell):
    """A solution's directive matched in a markdown cell, None for a solution's code cell, False otherwise."""
    if cell.cell_type == "code":
        return None if "solution" in _tags(cell) else False
    return cell.cell_type == "markdown" and _SOLUTION.match(cell.source.strip()) or False


def _gated(group, label):
    import nbformat

    texts = [_solution_text(cell) for cell in group]
    label = next((m.group(2) for m in texts if m and m.group(2)), label)
    if label is None:  # a solution with no exercise to belong to: left as the chapter wrote it
        return group
    options = next((m.group(3) for m in texts if m and m.group(3)), ":class: dropdown\n")
    cells = [nbformat.v4.new_markdown_cell(f"```{{solution-start}} {label}\n{options}```")]
    for cell, text in zip(group, texts, strict=True):
        if text:
            cell.source = text.group(4)
        if cell.source.strip():
            cells.append(cell)
    return [*cells, nbformat.v4.new_markdown_cell("```{solution-end}\n```")]
