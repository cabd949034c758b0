"""`arlm run` (execute the chapters), `arlm book` (build the HTML book from executed notebooks: the committed cpu
edition unless ``--runs`` names a run) and `arlm edition` (run the book at `cpu` and publish it as the edition)."""

from arlm.scales import SCALE_NAMES


def register(subparsers):
    run = subparsers.add_parser("run", help="execute the chapters with papermill at a scale")
    run.add_argument("--scale", default="tiny", help=f"one of {', '.join(SCALE_NAMES)} (default tiny)")
    run.add_argument("--chapters", default="all", help="e.g. 1-3,5 (default: all)")
    run.add_argument("--out", default="runs",
                     help="run folder, local or gs://BUCKET/PREFIX; outputs go to OUT/<scale>/ (default runs)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                     help="override a scale parameter, e.g. -p teacher_steps=100 (repeatable)")
    run.add_argument("--check-exercises", action="store_true",
                     help="check the classroom kit as the chapters run: the answer key passes each exercise's "
                          "checks, which refuse a wrong answer (in OUT/<scale>/<chapter>/exercise_checks.json)")
    run.set_defaults(func=_run)

    book = subparsers.add_parser("book", help="build the HTML book from executed notebooks (no re-execution)")
    book.add_argument("--runs", default=None,
                      help="folder of executed notebooks, local or gs://BUCKET/PREFIX/SCALE (default: the cpu "
                           "edition committed in book/edition/cpu/)")
    book.set_defaults(func=_book)

    edition = subparsers.add_parser(
        "edition", help="run the whole book at cpu scale on the data mirror and publish it as the cpu edition")
    edition.add_argument("--out", default="runs", help="run folder; the run goes to OUT/cpu/ (default runs)")
    edition.add_argument("--publish-only", action="store_true",
                         help="publish OUT/cpu/ as it is, without running (it must be complete)")
    edition.set_defaults(func=_edition)


def _run(args):
    from arlm.book.runner import parse_chapters, parse_overrides, run_book, run_folder
    from arlm.datasets import mirror_dir
    from arlm.scales import check_scale

    check_scale(args.scale)
    mirror_dir()  # a set ARLM_DATA_DIR that is not a folder stops the run here, not inside chapter 1
    out = run_folder(args.out, args.scale)  # a gs:// URL stays a string: pathlib would collapse its '//'
    timings = run_book(args.scale, parse_chapters(args.chapters), args.out, parse_overrides(args.param),
                       check_exercises=args.check_exercises)
    total = sum(timings.values())
    print(f"arlm run: {len(timings)} chapter(s) in {total:.0f} s; outputs in {out}/")
    return 0


def _book(args):
    from arlm import bucket
    from arlm.artifacts import CHAPTERS
    from arlm.book.build import BOOK, build_book
    from arlm.files import locked

    with locked(BOOK):  # the notebooks are staged into the book's sources and built there: one build at a time
        if args.runs is None:
            build_book()
            return 0
        runs = bucket.location(args.runs)
        if bucket.is_url(runs):  # the executed notebooks, into the run's working copy
            mirror = bucket.mirror(runs)
            for chapter in CHAPTERS:
                mirror.pull(f"{chapter}.ipynb")
            runs = mirror.root
        build_book(runs)
    return 0


def _edition(args):
    from arlm.book.edition import SCALE, publish
    from arlm.book.runner import run_book, run_folder, run_lock_path
    from arlm.datasets import mirror_dir
    from arlm.errors import ParameterError
    from arlm.files import locked

    if mirror_dir() is None:
        raise ParameterError("the edition is run on the data mirror: set ARLM_DATA_DIR to it")
    run_dir = run_folder(args.out, SCALE)
    with locked(run_lock_path(run_dir)):  # from the run to the publication: no other run writes into it
        if not args.publish_only:
            timings = run_book(SCALE, out=args.out)
            print(f"arlm edition: {len(timings)} chapters in {sum(timings.values()) / 60:.0f} min")
        publish(run_dir)
    return 0
