"""Every task loader on the data mirror: counts and label sets as the mirror READMEs document them."""

from collections import Counter

import pytest

from arlm.errors import DatasetError, ParameterError
from arlm.tasks import loaders

# task -> (train, dev, test, dev_is_test, train label counts, test label counts), from the READMEs
EXPECTED = {
    "ajgt": (1440, 360, 360, True, {1: 715, 0: 725}, {1: 185, 0: 175}),
    "astd_b": (962, 318, 318, False, {0: 481, 1: 481}, {0: 159, 1: 159}),
    "astd": (1924, 636, 636, False, {0: 481, 1: 481, 2: 481, 3: 481}, {0: 159, 1: 159, 2: 159, 3: 159}),
    "arsentd_lev": (3200, 800, 800, True, {0: 1013, 1: 660, 2: 707, 3: 501, 4: 319},
                    {0: 240, 1: 175, 2: 178, 3: 129, 4: 78}),
    "tead": (3200, 800, 800, True, {0: 1592, 1: 1608}, {0: 408, 1: 392}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_classification_tasks_match_the_mirror_readmes(mirror, name):
    train, dev, test, dev_is_test, train_counts, test_counts = EXPECTED[name]
    task = loaders.load_task(name)
    assert (len(task.train), len(task.dev), len(task.test), task.dev_is_test) == (train, dev, test, dev_is_test)
    assert Counter(task.train.labels) == train_counts
    assert Counter(task.test.labels) == test_counts
    assert len(task.labels) == len(train_counts)
    assert all(isinstance(t, str) and t.strip() for t in task.train.texts)
    if dev_is_test:
        assert task.dev.texts == task.test.texts


def test_label_names_follow_the_readmes(mirror):
    assert loaders.load_task("ajgt").labels == ["Negative", "Positive"]
    assert loaders.load_task("astd_b").labels == ["NEG", "POS"]
    assert loaders.load_task("astd").labels == ["POS", "NEG", "NEUTRAL", "OBJ"]
    assert loaders.load_task("arsentd_lev").labels == ["negative", "positive", "neutral", "very_negative",
                                                       "very_positive"]


def test_padt_standard_split_of_syntactic_words(mirror):
    task = loaders.load_task("padt")
    assert (len(task.train), len(task.dev), len(task.test)) == (6075, 909, 680)
    # syntactic words = rows minus multi-word range rows (README table)
    assert sum(map(len, task.train.sentences)) == 223_899
    assert sum(map(len, task.dev.sentences)) == 30_240
    assert sum(map(len, task.test.sentences)) == 28_266
    tags = Counter(t for sentence in task.train.tags for t in sentence)
    assert "CCONJ" not in tags and "SCONJ" not in tags and tags["CONJ"] > 0
    assert set(tags) <= set(loaders.POS_LABELS) and len(loaders.POS_LABELS) == 19
    assert all(len(w) == len(t) for w, t in zip(task.test.sentences, task.test.tags, strict=True))


def test_arcd_soqal_split(mirror):
    task = loaders.load_task("arcd")
    assert (len(task.train), len(task.test), task.dev_is_test) == (693, 702, True)
    example = task.train.examples[0]
    assert example.context[example.answer_start:].startswith(example.answers[0])


def test_embedded_hadith_task_is_the_held_out_records():
    from arlm.corpus import hadith_records, is_task_record

    task = loaders.load_task("hadith")
    held_out = {r["text"] for r in hadith_records() if is_task_record(r)}
    texts = task.train.texts + task.dev.texts + task.test.texts
    assert len(texts) == len(held_out) == 1497 and set(texts) == held_out
    assert task.labels == ["bukhari", "muslim"] and not task.dev_is_test


def test_held_out_dev_is_stratified_and_disjoint(mirror):
    task = loaders.load_task("ajgt", dev="held_out", held_out_fraction=0.1)
    assert not task.dev_is_test and len(task.dev) == 144 and len(task.train) == 1296
    assert len(task.train) + len(task.dev) == 1440  # carved out of the paper's train split, test untouched
    assert Counter(task.dev.labels) == {0: 72, 1: 72}


def test_offline_tasks_without_text_are_reported(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    assert not loaders.available("hard") and not loaders.available("labr")
    assert loaders.available("ajgt")


def test_unknown_task_and_bad_rows(tmp_path):
    with pytest.raises(ParameterError, match="ajgt"):
        loaders.load_task("sst2")
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t0\t\tok\n2\t7\t\ttoo big\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.tsv:2: label '7'"):
        loaders.read_paper_tsv(bad, 2)


def test_labr_from_a_downloaded_reviews_file(mirror, tmp_path, monkeypatch):
    # reviews.tsv is not in the mirror: a file in the download cache stands in for the verified download
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    target = tmp_path / "labr" / "reviews--reviews.tsv"
    target.parent.mkdir(parents=True)
    lines = [f"{5 if i % 2 else 1}\t{i}\tuser\tbook\tمراجعة رقم {i}" for i in range(63_257)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert loaders.available("labr")
    task = loaders.load_task("labr")
    # the README's 40,844 / 10,210 are `wc -l` counts: the index files lack a final newline, one index more each
    assert (len(task.train), len(task.test), task.dev_is_test) == (40_845, 10_211, True)
    assert set(task.train.labels) == {0, 1} and task.train.texts[0].startswith("مراجعة")


def test_hard_reader_handles_the_utf16_release(tmp_path):
    path = tmp_path / "balanced-reviews.txt"
    rows = ["no\tHotel name\trating\tuser type\troom type\tnights\treview", "1\tفندق\t5\tزوج\tغرفة\t2\tممتاز جدا",
            "2\tفندق\t2\tفرد\tغرفة\t1\tسيء", "3\tفندق\t3\tفرد\tغرفة\t1\tعادي"]
    path.write_bytes("\n".join(rows).encode("utf-16"))
    assert loaders.read_hard(path) == (["ممتاز جدا", "سيء"], [1, 0])
    path.write_text("id\ttext\n1\tx\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="rating"):
        loaders.read_hard(path)
