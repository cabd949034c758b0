"""The `arlm` command: one subcommand per job a user has. Each module adds its subcommands."""

import argparse
import importlib
import sys

from arlm.errors import ArlmError

# modules exposing register(subparsers); each subcommand calls the same functions the chapters call
MODULES = (
    "arlm.cli.run",
    "arlm.cli.data",
    "arlm.cli.corpus",
    "arlm.cli.params",
    "arlm.cli.finetune",
    "arlm.cli.export",
    "arlm.cli.convert",
    "arlm.cli.classroom",
)


def build_parser():
    parser = argparse.ArgumentParser(prog="arlm", description="Compact Arabic language models, as a runnable book.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ArlmError as error:  # bad input: one line; anything else is a bug and keeps its traceback
        command = " ".join(filter(None, (args.command, getattr(args, f"{args.command}_command", None))))
        print(f"arlm {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
