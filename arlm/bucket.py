"""A run folder on Cloud Storage (``gs://bucket/prefix``): a local working copy, mirrored to the bucket.

Chapters read and write plain local files (fast, and what TensorFlow, Keras and papermill expect); the
bucket holds the run, so that it outlives a Colab session or a preempted TPU VM:

* `Mirror.pull` brings a file or a folder of the run into the working copy (unchanged or newer local files
  stay);
* every file or folder written through `arlm.files.atomic_path` / `write_json` inside a working copy is
  uploaded as soon as it is renamed into place (`arlm.files.after_write`), so a preempted run loses at most
  what was not yet written;
* `Mirror.push` uploads a whole folder and deletes from the bucket what no longer exists locally.

Cloud Storage writes each object atomically, but not a folder of them: a folder is uploaded by writing
``<folder>/.arlm-incomplete``, then its files, then deleting that marker; a folder that still holds the
marker (an interrupted upload) is treated as absent.

The client is ``google-cloud-storage`` (the extra ``arlm[gcs]``). With ``STORAGE_EMULATOR_HOST`` set it
talks to that emulator, without credentials.

>>> mirror = bucket.mirror("gs://my-bucket/arlm/full")
>>> mirror.root                                  # ~/.cache/arlm/gcs/my-bucket/arlm/full
>>> mirror.pull("01_corpus/pretraining")         # the whole folder, into the working copy
"""

import base64
import contextlib
import hashlib
import os
import threading
from pathlib import Path, PurePosixPath

from arlm import files
from arlm.errors import ArtifactError

SCHEME = "gs://"
INCOMPLETE = ".arlm-incomplete"
INSTALL = "pip install 'arlm[gcs]' (the google-cloud-storage client)"
CREDENTIALS = ("on Colab run google.colab.auth.authenticate_user(); on a Cloud TPU VM the VM's service account "
               "needs access to the bucket; elsewhere run gcloud auth application-default login")

_MIRRORS = {}  # (url, working copy) -> Mirror
_pulling = threading.local()  # the files `pull` writes are not uploaded back


def location(value):
    """A run folder as given: a ``gs://`` URL (a str, trailing slash removed) or a local `Path`.

    Args:
        value (str | os.PathLike): ``gs://bucket/prefix`` or a local folder.

    A URL that went through `pathlib.Path` (``gs:/bucket/prefix``, one slash) is an error, not a local folder.
    """
    text = os.fspath(value)
    if text.startswith(SCHEME):
        split(text)
        return text.rstrip("/")
    if text.startswith("gs:/"):
        raise ArtifactError(f"run folder {text!r} is a gs:// URL that lost a slash (pathlib.Path collapses '//'): "
                            "pass the URL as a string, e.g. 'gs://BUCKET/PREFIX'")
    return Path(value)


def is_url(value):
    return isinstance(value, str) and value.startswith(SCHEME)


def split(url):
    """``'gs://bucket/a/b/'`` -> ``('bucket', 'a/b')``."""
    name, _, prefix = url[len(SCHEME):].partition("/")
    prefix = prefix.strip("/")
    if not name or any(part in ("", ".", "..") for part in prefix.split("/") if prefix):
        raise ArtifactError(f"{url!r} is not a Cloud Storage folder: expected gs://BUCKET/PREFIX")
    return name, prefix


def join(url, *parts):
    """``join('gs://b/runs', 'tiny')`` -> ``'gs://b/runs/tiny'``."""
    return "/".join([url.rstrip("/"), *(str(part).strip("/") for part in parts if str(part).strip("/"))])


def parent(url):
    """``'gs://b/runs/tiny'`` -> ``'gs://b/runs'`` (a bucket's root is its own parent)."""
    name, prefix = split(url)
    return join(SCHEME + name, prefix.rpartition("/")[0])


def cache_root():
    """Where working copies live: ``$ARLM_GCS_CACHE``, else ``~/.cache/arlm/gcs``."""
    return Path(os.environ.get("ARLM_GCS_CACHE") or Path.home() / ".cache" / "arlm" / "gcs")


def working_copy(url):
    """The local folder that mirrors `url`: ``<cache_root>/<bucket>/<prefix>``."""
    name, prefix = split(url)
    return cache_root().joinpath(name, *(prefix.split("/") if prefix else ())).resolve()


def mirror(url):
    """The `Mirror` of `url` in this process (one per URL and working copy); writes under it are uploaded."""
    url = location(url)
    if not is_url(url):
        raise ArtifactError(f"{url} is not a gs:// URL")
    key = (url, working_copy(url))
    if key not in _MIRRORS:
        _MIRRORS[key] = Mirror(url, key[1])
        files.after_write(_upload_written)
    return _MIRRORS[key]


def _upload_written(path):
    if getattr(_pulling, "active", False):
        return
    path = Path(path).resolve()
    owners = [m for m in _MIRRORS.values() if path.is_relative_to(m.root) and path != m.root]
    if owners:
        max(owners, key=lambda m: len(m.root.parts)).upload(path)


def _storage():
    try:
        from google.cloud import storage
    except ImportError:
        raise ArtifactError(f"a gs:// run folder needs the Cloud Storage client: {INSTALL}, "
                            "or give a local run_dir") from None
    return storage


def _client():
    # project None: reading and writing objects needs no project (and none is guessed from the environment)
    return _storage().Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT"))


def _is_temporary(name):
    # `atomic_path`'s (.NAME.XXXX.tmp), arlm.training's (.tmp-PID-NAME) and `locked`'s (.NAME.lock), left behind by
    # a killed process
    return name.startswith(".") and (name.endswith((".tmp", ".lock")) or name.startswith(".tmp-"))


def _md5(path):
    with open(path, "rb") as handle:
        return base64.b64encode(hashlib.file_digest(handle, "md5").digest()).decode()


def _same(path, blob):
    return (path.is_file() and path.stat().st_size == blob.size
            and (blob.md5_hash is None or _md5(path) == blob.md5_hash))


class Mirror:
    """The run folder `url` on Cloud Storage and its local working copy `root`.

    Args:
        url (str): ``gs://bucket/prefix``.
        root (Path): the working copy (default: `working_copy(url)`).
        client: a ``google.cloud.storage.Client`` (default: one with the environment's credentials).

    Paths called `rel` are relative to both, with ``/`` separators (``"02_teacher/teacher.keras"``).
    """

    def __init__(self, url, root=None, client=None):
        self.url = location(url)
        self.bucket_name, self.prefix = split(self.url)
        self.root = Path(root or working_copy(self.url)).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.owned = set()  # top-level folders this process writes: remote entries deleted locally are pruned
        self._client, self._bucket = client, None

    # names
    def url_of(self, rel):
        return join(self.url, rel)

    def _key(self, rel):
        return join(self.prefix, rel) if self.prefix else rel.strip("/")

    def _rel(self, key):
        return key[len(self.prefix) + 1:] if self.prefix else key

    @property
    def bucket(self):
        """The ``google.cloud.storage.Bucket``, connected on first use."""
        if self._bucket is None:
            self.check()
        return self._bucket

    def check(self):
        """Connect now: a missing client, credentials or bucket is an `ArtifactError` here; returns self."""
        if self._bucket is None:
            with self._errors(f"opening gs://{self.bucket_name}"):
                client = self._client or _client()
                bucket = client.bucket(self.bucket_name)
                next(iter(client.list_blobs(bucket, max_results=1)), None)  # a missing bucket fails here
            self._client, self._bucket = client, bucket
        return self

    @contextlib.contextmanager
    def _errors(self, action):
        """Cloud Storage and network errors as an `ArtifactError` naming the action and what to do."""
        _storage()
        from google.api_core import exceptions
        from google.auth.exceptions import GoogleAuthError
        from requests import RequestException

        try:
            yield
        except exceptions.NotFound as error:
            raise ArtifactError(f"{action} failed: {error.message}; does the bucket exist? create it with "
                                f"gcloud storage buckets create gs://{self.bucket_name} --location=REGION") from None
        except (exceptions.Forbidden, exceptions.Unauthorized, GoogleAuthError) as error:
            raise ArtifactError(f"{action} failed: no access ({error}); {CREDENTIALS}") from None
        except (exceptions.GoogleAPIError, RequestException) as error:
            raise ArtifactError(f"{action} failed: {error}") from None

    def _list(self, rel, recursive=True):
        """{rel: blob} of the objects under folder `rel` ("" for the run folder); direct children only unless
        `recursive`."""
        prefix = self._key(rel) + "/" if self._key(rel) else ""
        blobs = self.bucket.client.list_blobs(self.bucket, prefix=prefix, delimiter=None if recursive else "/")
        return {self._rel(blob.name): blob for blob in blobs}

    # bucket -> working copy
    def pull(self, rel, files_only=False):
        """Bring `rel` from the bucket into the working copy. A local file that is identical, or newer than the
        bucket's (written in this session and not uploaded yet), stays; nothing local is deleted.

        Args:
            rel (str): a file or a folder of the run, e.g. ``"01_corpus/pretraining"``.
            files_only (bool): of a folder, only the files directly inside it, not its subfolders.

        Returns:
            bool: whether the bucket has `rel`. A folder whose upload was interrupted is an error, and is
            skipped inside a folder being pulled.
        """
        rel = rel.strip("/")
        with self._errors(f"reading {self.url_of(rel)}"):
            blob = self.bucket.get_blob(self._key(rel))
            if blob is not None:
                self._fetch(blob, self.root / rel)
                return True
            blobs = self._list(rel, recursive=not files_only)
            if f"{rel}/{INCOMPLETE}" in blobs:
                raise ArtifactError(f"{self.url_of(rel)} is incomplete in the bucket (its upload was interrupted): "
                                    "re-run the chapter that writes it")
            broken = {PurePosixPath(name).parent for name in blobs if PurePosixPath(name).name == INCOMPLETE}
            kept = [(name, blob) for name, blob in blobs.items()
                    if not broken.intersection(PurePosixPath(name).parents)]
            for name, blob in kept:
                self._fetch(blob, self.root / name)
        return bool(kept)

    def _fetch(self, blob, path):
        if path.is_file() and (path.stat().st_mtime > blob.updated.timestamp() or _same(path, blob)):
            return
        _pulling.active = True
        try:
            with files.atomic_path(path) as tmp:
                blob.download_to_filename(str(tmp))  # the client verifies the object's checksum
        finally:
            _pulling.active = False

    # working copy -> bucket
    def upload(self, path):
        """Upload `path`, a file or a folder of the working copy (a folder with the incomplete-marker order),
        then delete the remote entries beside it that were deleted locally, inside the folders in `owned`.

        Args:
            path (Path): a path under `root`.
        """
        path = Path(path).resolve()
        rel = path.relative_to(self.root).as_posix()
        with self._errors(f"uploading {path} to {self.url_of(rel)}"):
            if path.is_dir():
                marker = self.bucket.blob(self._key(f"{rel}/{INCOMPLETE}"))
                marker.upload_from_string(b"")
                self._sync_up(rel, keep={f"{rel}/{INCOMPLETE}"})
                marker.delete()
            elif path.is_file():
                self._put(path, rel)
            if rel.split("/")[0] in self.owned and "/" in rel:
                self._prune(rel.rpartition("/")[0])

    def push(self, rel):
        """Make the bucket's `rel` (a folder) equal to the working copy's: upload what changed, delete what is
        gone (no marker: files are written one by one, each atomically).

        Args:
            rel (str): a folder of the run, e.g. ``"02_teacher"``.
        """
        with self._errors(f"uploading {self.root / rel} to {self.url_of(rel)}"):
            self._sync_up(rel.strip("/"))

    def delete(self, rel):
        """Delete the object `rel` from the bucket, if there."""
        from google.api_core.exceptions import NotFound

        with self._errors(f"deleting {self.url_of(rel)}"), contextlib.suppress(NotFound):
            self.bucket.blob(self._key(rel)).delete()

    def _sync_up(self, rel, keep=()):
        remote = self._list(rel)
        local = {path.relative_to(self.root).as_posix(): path for path in (self.root / rel).rglob("*")
                 if path.is_file() and not _is_temporary(path.name)}
        for name, path in sorted(local.items()):
            if name not in remote or not _same(path, remote[name]):
                self._put(path, name)
        for name in sorted(set(remote) - set(local) - set(keep)):
            remote[name].delete()

    def _prune(self, folder):
        """Delete the direct children of `folder` in the bucket (files and whole subfolders) that are not in
        the working copy: e.g. the checkpoints a training loop removed after writing a newer one."""
        prefix = self._key(folder) + "/"
        listing = self.bucket.client.list_blobs(self.bucket, prefix=prefix, delimiter="/")
        stale = [blob for blob in listing if not (self.root / self._rel(blob.name)).exists()]
        for sub in listing.prefixes:
            if not (self.root / self._rel(sub.rstrip("/"))).exists():
                stale += list(self.bucket.client.list_blobs(self.bucket, prefix=sub))
        for blob in stale:
            blob.delete()

    def _put(self, path, rel):
        from google.cloud.storage.retry import DEFAULT_RETRY

        # an overwrite of the same bytes is safe to retry
        self.bucket.blob(self._key(rel)).upload_from_filename(str(path), retry=DEFAULT_RETRY)
