"""Text files read with a declared encoding: the encodings a user's Arabic text comes in, and the files that are
not text, each read right or named with what to do."""

import gzip
import io
import zipfile

import pytest

from arlm.errors import DatasetError, ParameterError
from arlm.textfiles import check_encoding, decode_lines, numbered_lines, read_text

TEXT = "السلام عليكم\nمرحبا بكم في الكتاب\r\nسطر ثالث\n"


def _file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("encoding, data", [
    ("utf-8", TEXT.encode()),
    ("utf-8", b"\xef\xbb\xbf" + TEXT.encode()),  # a BOM, as Windows Notepad writes
    ("UTF8", TEXT.encode()),
    ("cp1256", TEXT.encode("cp1256")),
    ("utf-16", TEXT.encode("utf-16")),
    ("utf-16-le", TEXT.encode("utf-16-le")),
])
def test_a_declared_encoding_reads_the_text(tmp_path, encoding, data):
    path = _file(tmp_path, "t.txt", data)
    assert read_text(path, encoding) == TEXT
    assert [number for number, _ in numbered_lines(path, encoding)] == [1, 2, 3]


def test_gzip_files_are_decompressed(tmp_path):
    path = _file(tmp_path, "t.txt.gz", gzip.compress(TEXT.encode("cp1256")))
    assert read_text(path, "cp1256") == TEXT


@pytest.mark.parametrize("name, data, encoding, message", [
    # cp1256 read as UTF-8: the line is named, never skipped (a vocabulary of punctuation would follow)
    ("cp.txt", "سطر جيد\n".encode() + "نص عربي\n".encode("cp1256"), "utf-8",
     r"cp.txt:2: not UTF-8 text \(byte 0xe4 .*--encoding .*cp1256"),
    ("bom16.txt", TEXT.encode("utf-16"), "utf-8", r"bom16.txt: UTF-16 text .*--encoding utf-16"),
    # no BOM: not "columns are: t e x t", but the encoding that reads it
    ("le.csv", "text,label\nجميل,pos\n".encode("utf-16-le"), "utf-8",
     r"le.csv: looks like UTF-16 without a byte-order mark .*--encoding utf-16-le"),
    ("be.txt", TEXT.encode("utf-16-be"), "cp1256", r"be.txt: looks like UTF-16 .*--encoding utf-16-be"),
    ("nobom.txt", TEXT.encode("utf-16-le"), "utf-16", r"nobom.txt: UTF-16 stream does not start with BOM.*utf-16-le"),
    ("odd.txt", TEXT.encode("utf-16") + b"A", "utf-16", r"odd.txt:4: not UTF-16 text \(truncated data\)"),
    ("corpus.zip", None, "utf-8", r"corpus.zip: a zip archive, not a text file: unzip it"),
    ("binary.txt", bytes(range(256)) * 8, "utf-8", r"binary.txt: holds NUL bytes: a binary file"),
    ("plain.txt.gz", TEXT.encode(), "utf-8", r"plain.txt.gz: not gzip data .*rename it without .gz"),
    ("cut.txt.gz", gzip.compress(TEXT.encode() * 200)[:-40], "utf-8", r"cut.txt.gz: damaged gzip data .*truncated"),
    ("missing.txt", False, "utf-8", r"missing.txt: no such file"),
])
def test_what_is_not_text_in_the_declared_encoding_is_named(tmp_path, name, data, encoding, message):
    if data is None:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("corpus.txt", TEXT)
    elif data is not False:
        _file(tmp_path, name, data)
    with pytest.raises(DatasetError, match=message):
        read_text(tmp_path / name, encoding)


def test_an_unknown_encoding_names_the_flag():
    assert check_encoding("UTF8") == "utf-8" and check_encoding("windows-1256") == "cp1256"
    with pytest.raises(ParameterError, match=r"--encoding 'klingon': unknown encoding; e.g. utf-8"):
        check_encoding("klingon")


def test_a_stream_is_read_as_a_file_is():
    stream = io.BufferedReader(io.BytesIO(b"\xef\xbb\xbf" + TEXT.encode()))
    assert "".join(line for _, line in decode_lines(stream, "standard input")) == TEXT
    with pytest.raises(DatasetError, match=r"standard input:1: not UTF-8 text"):
        list(decode_lines(io.BufferedReader(io.BytesIO("نص".encode("cp1256"))), "standard input"))
