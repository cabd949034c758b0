"""The classroom kit without executing a chapter: the exercises read from the chapters, each exercise's checks
on right and wrong answers, the student notebooks and the key as written to disk, the quizzes, the lecturer's
page and the figures, and the grader's answers to bad input. Grading real submissions against a run is in
tests/chapters/test_classroom_grading.py."""

import inspect
import json
import math
import re

import nbformat
import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import checking, exercises, grading, kit, pages, quizzes
from arlm.book.sources import notebook_of
from arlm.cli import main
from arlm.errors import ArlmError

LABELS = [e.label for chapter in CHAPTERS for e in exercises.chapter_exercises(chapter)]


@pytest.fixture(scope="module")
def built_kit(tmp_path_factory):
    return kit.build_kit(tmp_path_factory.mktemp("kit") / "classroom", log=lambda *a: None)


def test_every_exercise_of_the_book_is_found_and_has_checks():
    assert len(LABELS) == len(set(LABELS)) >= 33
    for chapter in CHAPTERS:
        found = exercises.chapter_exercises(chapter)
        assert [e.label for e in found] == [f"ex-{int(chapter[:2])}-{i}" for i in range(1, len(found) + 1)]
        assert all(e.solution_cells and e.directive for e in found)
        assert any(e.level == "Hard" for e in found)
        # at least one exercise a chapter is autograded (the grading test makes one wrong per chapter)
        assert any(not checking.is_discussion(e.label) for e in found), chapter
    for label in LABELS:
        meta = checking.metadata(label)
        assert meta["expects"], f"{label}: say what the answer binds"
        if not meta["discussion"]:
            from otter.test_files import ExceptionTestFile

            assert ExceptionTestFile.from_file(str(checking.check_file(label))).test_cases, label
            assert meta["refuses"], f"{label}: give a typical wrong answer the checks refuse"
            compile(meta["refuses"], label, "exec")


def _bound(sources):
    """The names that code binds (assignments, loops, definitions, imports)."""
    import ast

    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_checks_read_what_the_chapter_and_its_solutions_bind(chapter):
    # every variable a check reads is bound by the chapter before its exercises or by a solution up to this
    # exercise's, and the solution's own names among them are the answer that `expects` tells the student
    from otter.test_files import ExceptionTestFile

    notebook = notebook_of(chapter)
    found = exercises.chapter_exercises(chapter)
    known = _bound(c.source for c in notebook.cells[:found[0].cell] if c.cell_type == "code")
    for exercise in found:
        solution = _bound(notebook.cells[i].source for i in exercise.solution_cells)
        known |= solution
        if checking.is_discussion(exercise.label):
            continue
        tests = ExceptionTestFile.from_file(str(checking.check_file(exercise.label))).test_cases
        read = {name for case in tests for name in inspect.signature(case.body.test_func).parameters} - {"env"}
        assert read <= known, f"{exercise.label} reads {sorted(read - known)}, which nothing binds"
        expects = checking.metadata(exercise.label)["expects"]
        unnamed = {name for name in read & solution if not re.search(rf"\b{name}\b", expects)}
        assert not unnamed, f"{exercise.label}: expects does not name {sorted(unnamed)}"


def _env(**variables):
    return variables


TINY_CFG = type("C", (), {"max_seq_length": 64, "max_predictions_per_seq": 10})
SHARE = 412 * math.exp(-6) / (100 + 412 * math.exp(-6))  # of attention on 412 padded keys (exercise 2.3)
ROW = [1 / (100 + 412 * math.exp(-6))] * 100 + [math.exp(-6) / (100 + 412 * math.exp(-6))] * 412


def _squad(arabic):
    from arlm.tasks import metrics

    return metrics.squad_scores(["رياض،"], [["الرياض"]], arabic=arabic)


def _word_tables(as_list):
    """Exercise 2.2's answer computed otherwise than the chapter: a list of dicts, or a DataFrame by model."""
    import pandas as pd

    import arlm

    rows = []
    for preset, model in arlm.params.PAPER_NAMES.items():
        c = arlm.mobilebert.named_config(preset)
        e = c.embedding_size or c.hidden_size
        rows.append({"model": model, "word table (M)": c.vocab_size * e / 1e6, "table share":
                     c.vocab_size * e / arlm.params.count_parameters(c, "backbone"),
                     "projection (M)": 3 * e * c.hidden_size / 1e6 if c.trigram_input else 0})
    return rows if as_list else pd.DataFrame(rows).set_index("model")


# (label, variables of a right answer, variables of a wrong one): answers that need no run
RIGHT_AND_WRONG = [
    ("ex-1-1", lambda: _env(answer=[]), lambda: _env(answer=["سأل"])),
    ("ex-1-2", lambda: _env(answer={128: 19, 512: 20, 64: 10}, cfg=TINY_CFG),
     lambda: _env(answer={128: 19, 512: 77, 64: 10}, cfg=TINY_CFG)),
    ("ex-2-2", lambda: _env(answer=_word_tables(as_list=True)),
     lambda: _env(answer=[{**row, "projection (M)": 0} for row in _word_tables(as_list=True)])),
    ("ex-2-3", lambda: _env(formula=SHARE, p=ROW, answer=SHARE),
     lambda: _env(formula=0.0, p=[1 / 100] * 100 + [0.0] * 412, answer=0.0)),
    ("ex-5-1", lambda: _env(by_hand={"precision": 2.5 / 18, "recall": 2.5 / 18, "f1": (1 + 4 / 3) / 18},
                            answer={"f1": (1 + 4 / 3) / 18, "token_accuracy": 2 / 3}),
     lambda: _env(by_hand={"precision": 2.5 / 3, "recall": 2.5 / 3, "f1": (1 + 4 / 3) / 3},
                  answer={"f1": (1 + 4 / 3) / 3, "token_accuracy": 2 / 3})),
    ("ex-5-2", lambda: _env(answer={"official": _squad(False), "arabic": _squad(True)}),
     lambda: _env(answer={"official": _squad(True), "arabic": _squad(True)})),
    ("ex-7-1", lambda: _env(count=_mberta_ii(), answer={"int8": _mberta_ii() / 2**20, "float16": _mberta_ii() / 2**19}),
     lambda: _env(count=_mberta_ii(), answer={"int8": _mberta_ii() / 2**18, "float16": _mberta_ii() / 2**19})),
]


def _mberta_ii():
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    return count_parameters(named_config("mberta_ii"), "classifier")


def _close_to_paper(rows, tolerance=5.0):
    import arlm

    return [(r["dataset"], r["metric"], m) for r in rows for m in arlm.params.PAPER_NAMES.values()
            if r[f"ours {m}"] is not None and abs(r[f"ours {m}"] - r[f"paper {m}"]) <= tolerance]


@pytest.mark.parametrize(("label", "right", "wrong"), RIGHT_AND_WRONG, ids=[r[0] for r in RIGHT_AND_WRONG])
def test_checks_accept_a_right_answer_and_reject_a_wrong_one(label, right, wrong):
    assert checking.run_checks(label, right()).score == 1.0
    result = checking.run_checks(label, wrong())
    assert result.score < 1.0 and result.failures
    assert f"Exercise {label[3:].replace('-', '.')}: {result.passed} of {result.total} checks pass" in result.summary()


def test_a_function_answer_is_checked_on_its_properties():
    import arlm

    # any correct function passes (this one is written differently from the chapter's); one that forgets the
    # absolute value (a run far below the paper counts as close) fails, and so does its list of a run's cells
    models = list(arlm.params.PAPER_NAMES.values())
    table3 = [{"dataset": "D", "metric": "accuracy", **{f"ours {m}": 50.0 + i for i, m in enumerate(models)},
               **{f"paper {m}": 80.0 for m in models}}]

    def env(function):
        return {"close_to_paper": function, "answer": function(table3), "table3": table3}

    assert checking.run_checks("ex-7-3", env(_close_to_paper)).score == 1.0

    def signed(rows, tolerance=5.0):
        return [(r["dataset"], r["metric"], m) for r in rows for m in arlm.params.PAPER_NAMES.values()
                if r[f"ours {m}"] is not None and r[f"ours {m}"] - r[f"paper {m}"] <= tolerance]

    result = checking.run_checks("ex-7-3", env(signed))
    assert result.passed == 0 and result.total == 3


def test_a_table_answer_may_take_another_shape():
    # exercise 2.2's key is a DataFrame indexed by model; a list of dicts with a 'model' key passes too
    assert checking.run_checks("ex-2-2", {"answer": _word_tables(as_list=False)}).score == 1.0


def test_a_missing_answer_names_the_variable():
    result = checking.run_checks("ex-1-1", {})
    assert result.score == 0 and "no `answer`" in result.failures[0]


def test_student_notebooks_hold_no_solution_code_or_output(built_kit):
    for chapter in CHAPTERS:
        source = notebook_of(chapter)
        found = exercises.find(source, chapter)
        solutions = [source.cells[i].source for e in found for i in e.solution_cells]
        student = nbformat.read(built_kit / "students" / f"{chapter}.ipynb", as_version=4)
        text = "\n".join(cell.source for cell in student.cells)
        assert student.metadata["arlm"] == {"chapter": chapter, "kit": "student"}
        assert "```{solution}" not in text
        assert not any("solution" in cell.metadata.get("tags", []) for cell in student.cells)
        assert not any(cell.get("outputs") for cell in student.cells if cell.cell_type == "code")
        for solution in solutions:  # no line of a solution's code that is not also elsewhere in the chapter
            own = {line.strip() for line in solution.split("\n") if len(line.strip()) > 25}
            lines = {line.strip() for line in text.split("\n")}
            assert not (own & lines) - _elsewhere(source, solutions), chapter
        checks = [c.source for c in student.cells if kit.CHECK_CELL.match(c.source)]
        assert checks == [f'arlm.book.classroom.check("{e.label}")' for e in found]
        submission = grading.read_submission(built_kit / "students" / f"{chapter}.ipynb", "s", [])
        assert submission.is_empty() and set(submission.answers) == {e.label for e in found}


def _elsewhere(source, solutions):
    rest = "\n".join(c.source for c in source.cells if c.source not in solutions)
    return {line.strip() for line in rest.split("\n")}


def test_the_key_holds_every_solution_and_the_checks(built_kit):
    for chapter in CHAPTERS:
        key = nbformat.read(built_kit / "instructor" / f"{chapter}.ipynb", as_version=4)
        found = exercises.find(key, chapter)
        assert key.metadata["arlm"]["kit"] == "key" and len(found) == len(exercises.chapter_exercises(chapter))
        submission = grading.read_submission(built_kit / "instructor" / f"{chapter}.ipynb", "key", [])
        assert all(grading.answered(submission.answers[e.label]) for e in found)
    assert sorted(p.stem for p in (built_kit / "autograder" / "tests").glob("*.py")) == sorted(LABELS)
    assert "arlm classroom grade" in (built_kit / "README.md").read_text(encoding="utf-8")


def test_the_key_is_checked_as_a_kernel_runs_it(tmp_path, monkeypatch):
    # arlm run --check-exercises: after an exercise's solution, its checks pass on the kernel's variables and
    # fail on its refuses answer; the notebook's cells and outputs are left alone
    from IPython.core.interactiveshell import InteractiveShell

    from arlm.book.classroom import keycheck

    monkeypatch.chdir(tmp_path)  # the kernel runs in the run folder
    shell = InteractiveShell.instance()
    try:
        keycheck.watch("01_corpus")
        shell.run_cell("import pandas as pd\nfrom IPython.display import display\nfrom arlm import text\n"
                       "from arlm.book.prose import say")
        solution = exercises.chapter_exercises("01_corpus")[0].solution_cells[-1]
        shown = shell.run_cell(notebook_of("01_corpus").cells[solution].source)
    finally:
        InteractiveShell.clear_instance()
    assert shown.success
    record = keycheck.read(tmp_path, "01_corpus")["ex-1-1"]
    assert record["key"]["score"] == 1 and record["refused"]["score"] < 1
    assert keycheck.faults(tmp_path, "01_corpus") == [
        f"ex-1-{i}: not checked (its solution did not run, or the run had no --check-exercises)" for i in (2, 3, 4, 5)]


def test_a_check_file_that_fails_the_key_or_accepts_its_wrong_answer_is_named(tmp_path):
    from arlm.book.classroom import keycheck

    def result(label, passed, total=2):
        return checking.Result(label, passed, total, [] if passed == total else ["a failure"]).as_dict()

    labels = [e.label for e in exercises.chapter_exercises("07_results")]
    records = {label: {"key": result(label, 2), "refused": result(label, 1)} for label in labels}
    (tmp_path / "07_results").mkdir()
    (tmp_path / "07_results" / keycheck.RECORD).write_text(json.dumps(records))
    assert keycheck.faults(tmp_path, "07_results") == []
    assert "passes the checks of its 4 autograded exercise(s)" in keycheck.summary(tmp_path, "07_results")
    records["ex-7-1"]["key"] = result("ex-7-1", 1)
    records["ex-7-2"]["refused"] = result("ex-7-2", 2)
    records["ex-7-3"]["refused"] = {"raised": "NameError: name 'table' is not defined"}
    (tmp_path / "07_results" / keycheck.RECORD).write_text(json.dumps(records))
    assert keycheck.faults(tmp_path, "07_results") == [
        "ex-7-1: the answer key fails: Exercise 7.1: 1 of 2 checks pass\n  - a failure",
        "ex-7-2: the checks accept its refuses answer",
        "ex-7-3: its refuses answer raised NameError: name 'table' is not defined"]
    assert keycheck.read(tmp_path, "06_quantization") is None


def _objectives(chapter):
    source = (notebook_of(chapter).cells[0].source)
    block = source.split("**Learning objectives**", 1)[1]
    return len(re.findall(r"^- ", block, re.M))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_quizzes_have_five_questions_each_on_an_objective(chapter):
    questions = quizzes.questions(chapter)
    assert len(questions) >= 5
    for q in questions:
        assert 1 <= q["objective"] <= _objectives(chapter), q["question"]
        if q["type"] == "multiple_choice":
            assert sum(a["correct"] for a in q["answers"]) == 1 and len(q["answers"]) >= 3
            assert all(a["feedback"] for a in q["answers"])
        else:
            right = [a for a in q["answers"] if a.get("correct")]
            value = q["answer_value"]
            assert len(right) == 1 and (right[0].get("value") == value or
                                        right[0]["range"][0] <= value < right[0]["range"][1])
    assert f'arlm.book.classroom.quiz("{chapter}")' in (notebook_of(chapter).cells[-1].source + "".join(
        c.source for c in notebook_of(chapter).cells))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_quiz_text_states_no_result_of_a_run(chapter):
    # a quiz is fixed prose of the chapter's page: every question, answer and feedback passes the book's prose
    # check (arlm.book.prose), so none states a run's number or direction; its numbers are computed (see below)
    from arlm.book import prose
    from arlm.book.sources import chapters_dir

    sections = prose.book_sections(chapters_dir())
    texts = [text for q in quizzes.questions(chapter)
             for text in (q["question"], *(a.get(k, "") for a in q["answers"] for k in ("answer", "feedback")))]
    found = {sentence: reasons for text in texts for sentence in prose._sentences(text)
             if (reasons := prose.problems(sentence, "body", sections))}
    assert not found, found


def test_quiz_arabic_is_isolated_in_what_jupyterquiz_writes_into_the_page():
    # jupyterquiz writes the texts into the page after the book's pass over the built pages (book/_ext/arabic.py)
    shown = quizzes._as_html(quizzes.choice(1, "Is «الرياض» a city & a word?", ("Yes, «رياض، مدينة»", "x < y"),
                                            ("No", "no")))
    assert shown["question"] == 'Is «<bdi dir="rtl">الرياض</bdi>» a city &amp; a word?'
    # a list of single words keeps its written order word by word (arlm.book.bidi.items)
    assert shown["answers"][0]["answer"] == 'Yes, «<bdi dir="rtl">رياض</bdi>، <bdi dir="rtl">مدينة</bdi>»'
    assert shown["answers"][0]["feedback"] == "x &lt; y" and shown["answers"][0]["correct"] is True
    assert "objective" not in shown


def test_numeric_quiz_answers_are_the_books_numbers():
    import arlm
    from arlm.distillation import losses

    answers = {q["question"][:40]: q["answer_value"] for c in CHAPTERS for q in quizzes.questions(c)
               if q["type"] == "numeric"}
    full = arlm.scales.resolve("full")
    table4 = {r["model"]: r["parameters_millions"] for r in arlm.paper.table("table4_sizes")}
    values = set(answers.values())
    assert {19, 20, 12, 4, table4["IBERTA"], losses.DistillationFactors().beta, 24 * full.kt_steps_per_layer,
            24 * full.kt_steps_per_layer + full.distill_steps, 0.5} <= values
    assert math.exp(-6) in values and math.ceil(1e7 / 2**20) in values


def _fake_run(folder, chapters=CHAPTERS, svg=True):
    """A run folder with executed notebooks (one SVG figure each) and chapter 1's results.json."""
    for chapter in chapters:
        (folder / chapter).mkdir(parents=True)
        (folder / chapter / "results.json").write_text(json.dumps({
            "scale": "tiny", "config": {"scale": "tiny"},
            "environment": {"date": "2026-12-06 17:06 UTC", "machine": {"cores": 2, "cpu": "AMD EPYC"}}}))
        notebook = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("plot()")
        data = {"image/png": "iVBOR", "text/plain": "<Figure>"}
        if svg:
            data["image/svg+xml"] = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        notebook.cells = [nbformat.v4.new_markdown_cell("## 1.2 A section"), cell]
        notebook.metadata["papermill"] = {"duration": 95.0}
        nbformat.write(notebook, folder / f"{chapter}.ipynb")
    return folder


def test_lecturer_page_and_figures(tmp_path):
    from arlm.book.edition import read_manifest

    run = _fake_run(tmp_path / "tiny")
    staged = pages.stage(tmp_path / "book", run, None)
    page = (staged / "lecturer.md").read_text(encoding="utf-8")
    for week, chapter in enumerate(CHAPTERS, 1):
        assert f"### Week {week}: " in page and f"../chapters/{chapter}>" in page
        for e in exercises.chapter_exercises(chapter):
            if e.level == "Hard":
                assert e.statement.split("\n")[0] in page
    # the tiny times of the run's notebooks (95 s each), where and when they were measured
    assert "| 2 min |" in page and "this book's run, 2026-12-06, 2 cores (AMD EPYC)" in page
    assert "**Autograded** (the computed answer; the question it raises is for class): 5.1" in page
    assert "Not autograded" not in page  # every exercise has checks
    figures = sorted(p.name for p in (staged / "site" / "figures").iterdir())
    assert figures == sorted([f"{c}-1.svg" for c in CHAPTERS] + ["index.html"])
    assert "1.2 A section" in (staged / "site" / "figures" / "index.html").read_text(encoding="utf-8")
    # whatever run the book is built from, the plan has the committed edition's cpu wall times
    edition = read_manifest()
    assert f"{edition['chapters']['05_finetuning']['seconds'] / 60:.0f} min |" in page


def test_the_tiny_record_gives_the_plan_its_times_with_their_conditions(tmp_path):
    # a book built from a run that is not a complete tiny run plans with the recorded tiny times
    record = pages.record_tiny(_fake_run(tmp_path / "tiny"), tmp_path / "tiny.json", conditions="under load")
    partial = _fake_run(tmp_path / "partial" / "tiny", chapters=CHAPTERS[:2])
    page = (pages.stage(tmp_path / "book", partial, None, tiny_record=record) / "lecturer.md").read_text("utf-8")
    assert "at `tiny` (a tiny run, 2026-12-06, 2 cores (AMD EPYC), under load)" in page and "| 2 min |" in page
    with pytest.raises(ArlmError, match="not a complete run"):
        pages.record_tiny(partial, tmp_path / "other.json")


def test_an_exercise_marked_discussion_is_listed_and_not_graded(monkeypatch, built_kit):
    metadata = checking.metadata

    def marked(label):  # exercise 5.2 as a check file with `discussion` and no checks would say
        return {**metadata(label), "discussion": "which score to report"} if label == "ex-5-2" else metadata(label)

    monkeypatch.setattr(checking, "metadata", marked)
    exercise = next(e for e in exercises.chapter_exercises("05_finetuning") if e.label == "ex-5-2")
    assert "ex-5-2" not in grading.autograded() and "ex-5-1" in grading.autograded()
    assert "# Discussed in class, not checked automatically: which score to report." in kit.answer_stub(exercise)
    assert checking.run_checks("ex-5-2", {}).summary() == (
        "Exercise 5.2: a discussion exercise, not checked automatically")
    week = "\n".join(pages._week(5, "05_finetuning", exercises.chapter_exercises("05_finetuning")))
    assert "- **Not autograded** (discussed in class): 5.2 (which score to report)." in week
    assert "Not graded automatically (discussed in class): ex-5-2." in kit.readme(LABELS)


def test_figures_index_says_when_the_notebooks_hold_no_svg(tmp_path):
    staged = pages.stage(tmp_path / "book", _fake_run(tmp_path / "tiny", svg=False), None)
    assert "hold no SVG figures" in (staged / "site" / "figures" / "index.html").read_text(encoding="utf-8")


def test_grading_bad_input_gives_one_line_per_file_and_zeros(tmp_path, built_kit):
    run = _fake_run(tmp_path / "tiny")
    subs = tmp_path / "subs"
    (subs / "amina").mkdir(parents=True)
    (subs / "amina" / "01_corpus.ipynb").write_text("{not json")
    (subs / "amina" / "notes.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    (subs / "badr").mkdir()
    for chapter in CHAPTERS:  # the student notebooks as handed out: nothing answered, nothing executed
        (subs / "badr" / f"{chapter}.ipynb").write_bytes((built_kit / "students" / f"{chapter}.ipynb").read_bytes())
    (subs / "loose.ipynb").write_text("{}")
    (subs / "carla").mkdir()  # an answered chapter 2 against a run without chapter 1's vocabulary
    (subs / "carla" / "02_teacher.ipynb").write_bytes((built_kit / "instructor" / "02_teacher.ipynb").read_bytes())
    lines = []
    table, details, problems = grading.grade(subs, run, log=lines.append)
    assert list(table.index) == ["amina", "badr", "carla"]
    assert (table[grading.autograded()] == 0).all().all() and (table["total"] == 0).all()
    assert any(p.startswith("02_teacher: chapter 02_teacher does not run in") and "its exercises score 0" in p
               for p in problems), problems
    assert any("amina/01_corpus.ipynb: not a readable notebook" in p for p in problems)
    assert any("amina/notes.ipynb: not a chapter of the book" in p for p in problems)
    assert any("loose.ipynb: not in a student's folder" in p for p in problems)
    assert len(problems) == 4 and len([line for line in lines if "running the chapter" not in line]) == 4
    assert details["badr/ex-1-1"]["error"] == "not answered"


def test_cli_writes_the_kit_grades_and_refuses_what_is_not_a_run(tmp_path, capsys):
    import pandas as pd

    assert main(["classroom", "--out", str(tmp_path / "kit")]) == 0
    assert (tmp_path / "kit" / "students" / "01_corpus.ipynb").is_file()
    (tmp_path / "subs" / "dina").mkdir(parents=True)
    handed_out = (tmp_path / "kit" / "students" / "04_distillation.ipynb").read_bytes()
    (tmp_path / "subs" / "dina" / "04_distillation.ipynb").write_bytes(handed_out)
    run = _fake_run(tmp_path / "run")
    assert main(["classroom", "grade", str(tmp_path / "subs"), "--runs", str(run),
                 "--out", str(tmp_path / "scores.csv")]) == 0
    table = pd.read_csv(tmp_path / "scores.csv", index_col="student")
    assert list(table.index) == ["dina"] and table.loc["dina", "total"] == 0
    assert list(table.columns) == [*grading.autograded(), "total", "percent"]
    details = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    assert details["scores"]["dina/ex-4-1"]["error"] == "not answered" and details["problems"] == []
    assert "1 student(s), 0 problem(s)" in capsys.readouterr().out
    assert main(["classroom", "grade", str(tmp_path / "subs"), "--runs", str(tmp_path)]) == 2
    assert "error: --runs" in capsys.readouterr().err
    assert main(["classroom", "grade", str(tmp_path / "missing")]) == 2
    assert "SUBMISSIONS" in capsys.readouterr().err
