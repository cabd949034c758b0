"""The `arlm` command: one subcommand per job a user has. Each module adds its subcommands.

Whatever ends a command ends it with one line on stderr: a bad input or a state it cannot work in (an
`arlm.errors.ArlmError`: exit status 2), Ctrl-C (``interrupted: ...``, exit status 130, no output replaced after it) or
a full disk. TensorFlow's start-up notices are kept off the terminal (`_QuietTensorFlow`).
"""

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile

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
# commands whose rerun continues from the checkpoints and finished stages of the interrupted one; the others
# start again, their earlier output untouched
RESUMING = ("run", "edition")


def build_parser():
    parser = argparse.ArgumentParser(prog="arlm", description="Compact Arabic language models, as a runnable book.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit code.

    Args:
        argv (list[str] | None): the arguments; None: this process's command line. The process then only exits
            after the command, and ignores a Ctrl-C from the end of the command on (the output is in place).
    """
    from arlm import files

    _QuietTensorFlow.install()
    args = argparse.Namespace(command=None)
    try:
        with files.interruptible(then_ignore=argv is None):
            args = build_parser().parse_args(argv)
            return args.func(args) or 0
    except ArlmError as error:  # bad input: one line; anything else is a bug and keeps its traceback
        print(f"{_name(args)}: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        from arlm.book import MODULES

        if (error.name or "").partition(".")[0] not in MODULES:
            raise
        print(f"{_name(args)}: error: {error.name} is not installed: this command needs the book's packages "
              "(pip install 'arlm[book]')", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        done = [path for path in files.placed() if path.exists()]  # a staged file is gone with its staging
        if args.command in RESUMING:
            then = "resume"
        elif done:
            then = f"start again ({done[-1]} was already written, complete)"
        else:
            then = "start again (no earlier output was changed)"
        print(f"{_name(args)}: interrupted: rerun the same command to {then}", file=sys.stderr)
        return 130
    except OSError as error:
        if not files.no_space(error):
            raise
        print(f"{_name(args)}: error: {error.filename or 'the disk'}: no space left on the device; free some "
              "space or write elsewhere", file=sys.stderr)
        return 2


def _name(args):
    """``arlm COMMAND [SUBCOMMAND]``, as the user typed it."""
    return " ".join(filter(None, ("arlm", args.command, getattr(args, f"{args.command}_command", None))))


class _QuietTensorFlow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports TensorFlow, and lists its devices, with file descriptor 2 (stderr) in a temporary file: its C++
    libraries print start-up notices (oneDNN, CUDA drivers, CPU features, "failed call to cuInit" on a machine
    without a GPU) that no log level silences, and a command's one-line error would come after them. They are
    shown if the import fails. Only the `arlm` command does this; the library imports TensorFlow plainly."""

    def __init__(self, loader=None):
        self.loader = loader

    @classmethod
    def install(cls):
        if "tensorflow" not in sys.modules and not any(isinstance(f, cls) for f in sys.meta_path):
            sys.meta_path.insert(0, cls())

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and the real finders locate it
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = type(self)(spec.loader)
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # as if imported plainly
        with _stderr_aside():
            self.loader.exec_module(module)
            module.config.list_physical_devices()  # where CUDA is probed; devices can still be configured after


@contextlib.contextmanager
def _stderr_aside():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as aside:
        os.dup2(aside.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            aside.seek(0)
            os.write(2, aside.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
