"""`arlm classroom --out DIR` (the student notebooks, the instructor key and the autograder's checks) and
`arlm classroom grade SUBMISSIONS/` (the score table)."""


def register(subparsers):
    classroom = subparsers.add_parser(
        "classroom", help="write the classroom kit (student notebooks, answer key, checks), or grade submissions")
    classroom.add_argument("--out", default="classroom",
                           help="folder of the kit, replaced as a whole (default classroom)")
    classroom.set_defaults(func=_kit)
    commands = classroom.add_subparsers(dest="classroom_command", metavar="COMMAND")
    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks into a score table")
    grade.add_argument("submissions", metavar="SUBMISSIONS",
                       help="folder with one folder per student holding their notebooks")
    grade.add_argument("--runs", default="runs/tiny",
                       help="a finished run of the book the answers run against (default runs/tiny)")
    grade.add_argument("--out", default="scores.csv",
                       help="the score table (CSV; its details go beside it as .json, the kernels' log as .log; "
                            "default scores.csv)")
    grade.add_argument("--timeout", type=int, default=600, help="seconds one answer may run (default 600)")
    grade.set_defaults(func=_grade)


def _kit(args):
    from arlm.book.classroom.kit import build_kit

    build_kit(args.out)
    return 0


def _grade(args):
    from pathlib import Path

    from arlm.book.classroom.grading import grade, write_table
    from arlm.files import check_writable

    check_writable(Path(args.out).parent, "--out", args.out)
    table, details, problems = grade(args.submissions, args.runs, timeout=args.timeout,
                                     kernel_log=Path(args.out).with_suffix(".log"))
    write_table(table, details, problems, args.out)
    print(table[["total", "percent"]].to_string())
    print(f"arlm classroom grade: {len(table)} student(s), {len(problems)} problem(s); table in {args.out}")
    return 0
