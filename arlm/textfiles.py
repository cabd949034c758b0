"""Text files read with a declared encoding: every reader of a user's text (corpus files, CSV/TSV/JSONL files,
texts on standard input) goes through `numbered_lines`, so each gets the same checks and the same errors.

* The encoding is declared, UTF-8 by default, read with or without a byte-order mark (BOM).
* A byte that does not decode is an error naming the file and line (`DatasetError`), never a skipped or
  replaced line: a cp1256 corpus read as UTF-8 would otherwise train a vocabulary of punctuation.
* A UTF-16 file is named as such, with the encoding that reads it: by its BOM, or without one by its NUL bytes
  (every other byte of Arabic or Latin UTF-16 text is 0, and NUL never occurs in a text file). A zip archive or
  another binary file is named as such too.
* ``.gz`` files are decompressed; a truncated one, or a plain file named ``.gz``, is an error naming it.

>>> for number, line in numbered_lines("corpus.txt.gz", "cp1256"):     # doctest: +SKIP
...     print(number, line.rstrip("\\n"))
"""

import codecs
import gzip
import io
import re
import zlib
from pathlib import Path

from arlm.errors import DatasetError, ParameterError

DEFAULT_ENCODING = "utf-8"
_SNIFF_BYTES = 4096  # enough to see a BOM, the NUL bytes of UTF-16 and a zip's signature
_ESCAPED = re.compile("[\udc80-\udcff]")  # what errors="surrogateescape" makes of an undecodable byte
_UTF16_OR_32 = ("utf-16", "utf-32")


def check_encoding(encoding, parameter="--encoding"):
    """The codec's canonical name (``"UTF8"`` gives ``"utf-8"``), or a `ParameterError` naming `parameter`."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ParameterError(f"{parameter} {encoding!r}: unknown encoding; e.g. utf-8 (the default), cp1256 "
                             "(Windows Arabic), iso-8859-6, utf-16") from None


def numbered_lines(path, encoding=DEFAULT_ENCODING):
    """``(line number, line)`` of a text file (plain or ``.gz``), lines with their line ending, decoded strictly.

    Args:
        path (str | os.PathLike): the file.
        encoding (str): its encoding (`check_encoding`); UTF-8 is read with or without a BOM.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {'is not a file' if path.exists() else 'no such file'}")
    with open(path, "rb") as raw:
        if path.suffix == ".gz":
            head = raw.peek(2)[:2]
            if head != b"\x1f\x8b":
                raise DatasetError(f"{path}: not gzip data (it starts with {head!r}, not the gzip signature), though "
                                   "the name ends in .gz: rename it without .gz if it is plain text")
            with gzip.GzipFile(fileobj=raw) as unzipped:
                try:
                    yield from decode_lines(io.BufferedReader(unzipped), path, encoding)
                except (EOFError, gzip.BadGzipFile, zlib.error) as error:
                    raise DatasetError(f"{path}: damaged gzip data ({error}): the file is truncated or corrupt; "
                                       "copy or download it again") from None
        else:
            yield from decode_lines(raw, path, encoding)


def read_text(path, encoding=DEFAULT_ENCODING):
    """The whole text of a file, checked as `numbered_lines` checks it."""
    return "".join(line for _, line in numbered_lines(path, encoding))


def decode_lines(raw, name, encoding=DEFAULT_ENCODING):
    """``(line number, line)`` of a binary stream with ``peek`` (an open file, ``sys.stdin.buffer``); `name` is
    what errors call it."""
    codec = check_encoding(encoding)
    head = raw.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    if not codec.startswith(_UTF16_OR_32):
        _check_head(head, name, _spelled(codec))
    text = io.TextIOWrapper(raw, encoding="utf-8-sig" if codec == "utf-8" else codec, errors="surrogateescape",
                            newline="")
    number, spelled = 0, _spelled(codec)
    try:
        for number, line in enumerate(text, 1):
            bad = _ESCAPED.search(line)
            if bad:
                byte = ord(bad.group()) - 0xDC00
                raise DatasetError(f"{name}:{number}: not {spelled} text (byte 0x{byte:02x} at character "
                                   f"{bad.start() + 1} does not decode){_hint(codec)}")
            yield number, line
    except UnicodeError as error:  # what surrogateescape cannot carry: UTF-16's odd last byte, a missing BOM
        if not isinstance(error, UnicodeDecodeError):
            raise DatasetError(f"{name}: {error}: pass --encoding utf-16-le or utf-16-be") from None
        raise DatasetError(f"{name}:{number + 1}: not {spelled} text ({error.reason}){_hint(codec)}") from None
    finally:
        text.detach()  # the caller closes the stream it opened


def _spelled(codec):
    return codec.upper() if codec.startswith("utf") else codec  # UTF-8, UTF-16; cp1256, iso8859-6


def _hint(codec):
    if codec == "utf-8":
        return ": pass --encoding with the file's encoding (e.g. cp1256 for Windows Arabic), or save it as UTF-8"
    return ": is --encoding the file's encoding?"


def _check_head(head, name, codec):
    """Errors for what an 8-bit or UTF-8 reading of `head` would silently get wrong."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DatasetError(f"{name}: UTF-16 text (it starts with a UTF-16 byte-order mark), not {codec}: pass "
                           "--encoding utf-16, or save it as UTF-8")
    if head.startswith(b"PK\x03\x04"):
        raise DatasetError(f"{name}: a zip archive, not a text file: unzip it and pass the text files inside "
                           "(plain or .gz)")
    if b"\x00" in head:
        odd = sum(head[i] == 0 for i in range(1, len(head), 2))
        even = head[::2].count(0)
        # many, on one side only: the high bytes of UTF-16's ASCII characters (spaces, line breaks)
        if max(odd, even) >= len(head) // 64 and min(odd, even) * 20 <= max(odd, even):
            order = "le" if odd else "be"
            raise DatasetError(f"{name}: looks like UTF-16 without a byte-order mark (a NUL byte in every other "
                               f"place), not {codec}: pass --encoding utf-16-{order}, or save it as UTF-8")
        raise DatasetError(f"{name}: holds NUL bytes: a binary file, not {codec} text")
