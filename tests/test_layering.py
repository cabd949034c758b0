"""The library's layers, read from the source: every ``import x``, ``from x import y`` (at module level or inside a
function) and module name written as a string (``importlib.import_module("arlm....")``, lists of modules) is an
edge. No import circles; nothing in the library imports the book (`arlm.book`), which only the command line
reaches, inside its commands; the bottom layer imports nothing above it; the on-device path needs no TensorFlow."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "arlm"
BOTTOM = {"arlm.errors", "arlm.files", "arlm.scratch"}  # files, atomic writes, temporaries, locks, JSON, digests
LATER_STAGES = r"arlm\.(tasks|quantization|distillation|training|fitting|book|cli|predict|pretraining_data)\b"
MODULE_NAME = re.compile(r"arlm(\.[\w-]+)+")


def _modules():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name):
    """The module of `name` (``arlm.x.y`` or ``arlm.x`` + attribute ``y``), or None outside arlm."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


class _Imports(ast.NodeVisitor):
    """``(imported module, at module level)`` of one file."""

    def __init__(self, module, is_package):
        self.module, self.is_package, self.depth, self.found = module, is_package, 0, set()

    def _add(self, name):
        if name.startswith("arlm"):
            target = _resolve(name)
            if target and target not in (self.module, "arlm"):
                self.found.add((target, self.depth == 0))

    def _nested(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node):
        base = node.module or ""
        if node.level:
            parts = self.module.split(".")[: len(self.module.split(".")) - node.level + self.is_package]
            base = ".".join(parts + ([base] if base else []))
        self._add(base)
        for alias in node.names:
            self._add(f"{base}.{alias.name}")

    def visit_Constant(self, node):  # "arlm.x.y" in a list of modules or an importlib.import_module call
        if isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value):
            self._add(node.value)


def import_graph():
    """{module: {(imported module, at module level), ...}} over every module of the package."""
    graph = {}
    for module, path in MODULES.items():
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph[module] = visitor.found
    return graph


GRAPH = import_graph()


def _targets(module):
    return {target for target, _ in GRAPH[module]}


def _circle():
    """One import circle as a list of modules, or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(_targets(module)):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)):
            return found
    return None


def _library(module):
    return not module.startswith(("arlm.book", "arlm.cli")) and module != "arlm.__main__"


def test_the_follower_sees_lazy_string_and_relative_imports():
    assert ("arlm.preset_format", False) in GRAPH["arlm.mobilebert.preset_methods"]  # inside a method
    assert "arlm.mobilebert" in _targets("arlm.saving")  # MODEL_MODULES, imported with importlib
    assert "arlm.cli.run" in _targets("arlm.cli")  # the subcommands' modules, a tuple of names
    assert ("arlm.book.runner", False) in GRAPH["arlm.cli.run"]


def test_no_import_circles():
    circle = _circle()
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_the_library_never_imports_the_book():
    wrong = sorted((module, target) for module in GRAPH if _library(module) for target in _targets(module)
                   if target.startswith("arlm.book"))
    assert not wrong, wrong
    # the command line reaches the book inside the commands that need it: `arlm --help` and the library's
    # commands work without the book extra
    eager = sorted((module, target) for module in GRAPH if module.startswith("arlm.cli")
                   for target, top in GRAPH[module] if top and target.startswith("arlm.book"))
    assert not eager, eager


def test_the_bottom_layer_imports_nothing_above_it():
    for module in BOTTOM:
        assert _targets(module) <= BOTTOM, (module, _targets(module) - BOTTOM)


@pytest.mark.parametrize("folder", ["layers", "mobilebert"])
def test_the_model_family_imports_no_later_stage(folder):
    forbidden = re.compile(LATER_STAGES + (r"|arlm\.mobilebert\b" if folder == "layers" else ""))
    for module in GRAPH:
        if module.startswith(f"arlm.{folder}"):
            assert not [target for target in _targets(module) if forbidden.match(target)], module


def test_a_configuration_is_plain_data():
    # the closed-form counts of `arlm.params` read it without Keras
    assert _targets("arlm.mobilebert.config") == {"arlm.errors", "arlm.names"}
    source = (PACKAGE / "mobilebert" / "config.py").read_text(encoding="utf-8")
    assert set(re.findall(r"^\s*(?:from|import) ([\w.]+)", source, re.M)) == {"dataclasses", "arlm.errors",
                                                                               "arlm.names"}


def test_the_on_device_path_and_the_save_load_layer_import_no_tensorflow():
    code = ("import sys\nfor name in ('tensorflow', 'keras', 'keras_hub', 'jax'):\n    sys.modules[name] = None\n"
            "import arlm.names, arlm.files, arlm.preset_format, arlm.saving, arlm.predict, arlm.preprocessing\n"
            "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.stdout == "ok\n", result.stderr[-2000:]
