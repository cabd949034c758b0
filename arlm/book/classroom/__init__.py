"""The classroom kit: student notebooks without solutions, per-exercise checks a student runs, an autograder
that grades a folder of submissions into a score table, concept quizzes in the book and a lecturer's page.

Everything is built from the chapters (`arlm.book.classroom.exercises` reads their sphinx-exercise directives and
``solution`` cells), so the kit never drifts from the book. The checks of each exercise are otter-grader test
files in ``arlm/book/build/classroom/checks/<chapter>/<label>.py``; the quizzes are data in
``arlm/book/build/classroom/quizzes.py``. A chapter calls only `check` (the kit's notebooks) and `quiz` (the book).
"""


def check(label):
    """Run exercise `label`'s checks on the calling notebook's variables and print "Exercise 3.2: 2 of 3
    checks pass" with what each failing check expected."""
    from IPython import get_ipython

    from arlm.book.classroom.checking import run_checks

    result = run_checks(label, get_ipython().user_ns)
    print(result.summary())
    return None


def quiz(chapter):
    """Show `chapter`'s concept quiz (jupyterquiz: answered in the page, with feedback, no server)."""
    from arlm.book.classroom.quizzes import display

    display(chapter)
