"""Checks of command-line values that every command shares, made before anything is read or written.

Flag types (`positive_int`, ...) make argparse refuse a bad number with the flag's name and exit status 2;
the path checks raise `arlm.errors.ParameterError` naming the flag, which `arlm.cli.main` prints.
"""

import argparse
import math
from pathlib import Path

from arlm.errors import ParameterError
from arlm.files import check_writable, resolve_link


def int_at_least(low):
    """An argparse type: an integer >= `low` (``int_at_least(1)`` is `positive_int`)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text):
    """An argparse type: a finite number > 0 (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {text}")
    return value


def encoding_flag(parser, what):
    """Add ``--encoding`` (of `what`, e.g. "the corpus files") to `parser`; `arlm.textfiles.check_encoding` checks
    the value when the command runs."""
    from arlm.textfiles import DEFAULT_ENCODING

    parser.add_argument("--encoding", default=DEFAULT_ENCODING, metavar="ENC",
                        help=f"encoding of {what} (default utf-8, with or without a BOM; e.g. cp1256, utf-16)")


def input_file(path, parameter):
    """`path` as a `Path` if it is an existing file, else a `ParameterError` naming `parameter`."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{parameter} {path}: {'is not a file' if path.exists() else 'no such file'}")
    return path


def output_file(path, parameter, suffix=None):
    """`path` as a `Path` if a file can be written there: not a folder, the right `suffix`, a writable place; a
    symbolic link is resolved (the file it points to is written)."""
    path = Path(path)
    if suffix and path.suffix != suffix:
        raise ParameterError(f"{parameter} {path}: the file name must end with {suffix}")
    path = resolve_link(path)
    if path.is_dir():
        raise ParameterError(f"{parameter} {path}: is a folder; expected a file name")
    check_writable(path.parent, parameter, path)
    return path
