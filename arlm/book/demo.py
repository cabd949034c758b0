"""The book's live box: a reader types Arabic and the int8 student answers in their own browser, offline.

The model side (`write_demo`): a fine-tuned classifier's int8 ONNX file as the files the box reads, in a folder
``demo/``: ``model.onnx`` (dynamic int8, `arlm.quantization.onnx_export`), its sidecar ``model.json`` and
vocabulary ``model.vocab.txt`` (so ``arlm predict demo/model.onnx TEXT`` runs the very same file), and
``tokenizer.json`` (`arlm.hf_tokenizer`: the book's normalization and WordPiece). Chapter 6 writes one into
its run folder, `arlm.book.edition.publish` copies the cpu run's into ``book/edition/cpu/demo/``.

The page side (`find_demo`, `box_html`, `write_site`): `arlm book` (through ``book/_ext/demo.py``) puts the
box where a page says ``{arlm-demo}`` and writes ``_static/arlm-demo/`` into the built site: ONNX Runtime
Web (its WebAssembly build, vendored in ``book/_demo/``), the model and the tokenizer. Every file is a
classic script, the binary ones as base64 (the WebAssembly gzipped, unpacked by the browser's
``DecompressionStream``), because a page opened from disk (``file://``) may not ``fetch`` its neighbours:
the box works from the built folder, with no server and no network. ``book/_demo/arlm-demo.js`` tokenizes
by reading ``tokenizer.json`` (with `arlm`'s 100-byte word limit, which that format cannot say) and runs the
model on one thread.

>>> write_demo("mberta_ajgt.dynamic.onnx", "vocab.txt", ["Negative", "Positive"], 64, "demo/",
...            parameters=1_319_298, dataset="ajgt")                      # doctest: +SKIP
PosixPath('demo')
"""

import base64
import gzip
import html
import json
import shutil
from pathlib import Path

from arlm.book.sources import REPO
from arlm.errors import ArtifactError
from arlm.files import atomic_path, read_json, staged_dir

FOLDER = "demo"  # in chapter 6's run folder and in the edition
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SOURCE = REPO / "book" / "_demo"  # the page's script and the vendored runtime
RUNTIME = SOURCE / "onnxruntime-web"
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm.gz")
SITE_FOLDER = "arlm-demo"  # under the built site's _static/
# what the built site's demo may weigh, runtime and model together (tests/test_demo.py measures it)
MAX_SITE_BYTES = 8 * 2**20
MAX_MODEL_BYTES = 3 * 2**20


def write_demo(onnx_file, vocab, labels, max_seq_length, out_dir, parameters, **info):
    """The demo folder `out_dir` from an exported ``.onnx`` classifier (staged, swapped in when complete).

    Args:
        onnx_file: the ``.onnx`` file (`arlm.quantization.onnx_export.export_onnx`, ``dynamic``).
        vocab: its vocabulary file.
        labels: the label names in logit order.
        max_seq_length: the file's input length.
        out_dir: the folder to write (``model.onnx``, ``model.json``, ``model.vocab.txt``, ``tokenizer.json``).
        parameters: the model's parameter count (the page compares bytes per parameter with Table 4).
        **info: more keys for the sidecar (``dataset``, ``source``).
    """
    from arlm.hf_tokenizer import write_tokenizer_json
    from arlm.quantization.export import write_sidecar

    with staged_dir(Path(out_dir)) as staging:
        model = staging / MODEL_FILE
        shutil.copyfile(onnx_file, model)
        write_sidecar(model, vocab, "classification", labels, max_seq_length, "dynamic", parameters=int(parameters),
                      **info)
        write_tokenizer_json(vocab, staging / TOKENIZER_FILE)
    return Path(out_dir)


def find_demo(runs, edition):
    """``(demo folder, whose)`` for a book built from the run folder `runs`: the edition's, or a run's own
    chapter 6 demo when it wrote one, else the committed edition's (``whose`` says which, for the page).

    Args:
        runs (str | os.PathLike): the run folder the book is built from.
        edition (str | os.PathLike): the committed edition's folder (`arlm.book.edition.EDITION`, which imports
            this module).
    """
    runs, edition = Path(runs).resolve(), Path(edition)
    candidates = [(edition / FOLDER, "edition")] if runs == edition.resolve() else [
        (runs / "06_quantization" / FOLDER, "run"), (edition / FOLDER, "edition-fallback")]
    for folder, whose in candidates:
        if (folder / MODEL_FILE).is_file():
            return folder, whose
    raise ArtifactError(f"no demo model in {candidates[0][0]}: the edition writes one (`arlm edition`), "
                        "chapter 6 a run's (with the onnx extra)")


def read_demo(folder):
    """The demo's sidecar (labels, length, parameters...) with the model's size, checked complete."""
    folder = Path(folder)
    for file in (MODEL_FILE, "model.json", "model.vocab.txt", TOKENIZER_FILE):
        if not (folder / file).is_file():
            raise ArtifactError(f"{folder / file} is missing: write the demo with arlm.book.demo.write_demo")
    return {**read_json(folder / "model.json"), "model_bytes": (folder / MODEL_FILE).stat().st_size}


def size_sentence(info):
    """What the model file weighs against the paper's Table 4 (numbers from `arlm.paper`), as HTML."""
    from arlm.quantization.sizes import paper_rows

    paper = next(row for row in paper_rows() if row["model"] == "MBERTA")
    mib = info["model_bytes"] / 2**20
    per_param = info["model_bytes"] / info["parameters"]
    return (f"The model file is {mib:.1f} MiB: {info['parameters'] / 1e6:.1f} million parameters at "
            f"{per_param:.2f} bytes each (int8 weights, ONNX Runtime's dynamic quantization). The paper's "
            f"MBERTA has {paper['parameters_millions']} million parameters and its \"quantized\" file in Table 4 "
            f"weighs {paper['finetuned_quantized_size_mb']} MB, {paper['quantized_bytes_per_param']:.1f} bytes "
            f"per parameter (float32: chapter 6); at this file's {per_param:.2f} bytes per parameter it would "
            f"weigh about {paper['parameters_millions'] * 1e6 * per_param / 2**20:.0f} MiB.")


WHOSE = {
    "edition": "the cpu edition's distilled student (MBERTA at the <code>cpu</code> scale's sizes)",
    "run": "the model chapter 6 exported in the run this book was built from",
    "edition-fallback": "the cpu edition's distilled student (<code>book/edition/cpu/demo/</code>): the run "
                        "this book was built from wrote no demo (chapter 6 writes one when ONNX is installed)",
}


def box_html(folder, whose, static_prefix):
    """The box (text area, result, size sentence) for a page whose ``_static/`` is at `static_prefix`."""
    info = read_demo(folder)
    base = f"{static_prefix}{SITE_FOLDER}/"
    task = str(info.get("dataset") or "a sentiment task").upper()
    labels = ", ".join(html.escape(str(label)) for label in info["labels"])
    source = f" (<code>{html.escape(str(info['source']))}</code>)" if whose == "run" and info.get("source") else ""
    return f"""<div class="arlm-demo" data-base="{base}">
<p class="arlm-demo-what">Type or paste Arabic text: {WHOSE[whose]}{source}, fine-tuned on {html.escape(task)}
(labels {labels}), answers in your browser. It runs here, offline, with ONNX Runtime Web (WebAssembly, one
thread): nothing you type leaves this page.</p>
<textarea class="arlm-demo-text" dir="auto" rows="3" lang="ar" aria-label="Arabic text to classify"
placeholder="الخدمة ممتازة والموظفين محترمين"></textarea>
<div class="arlm-demo-result" dir="auto" aria-live="polite">The model loads when you start typing.</div>
<p class="arlm-demo-size">{size_sentence(info)}</p>
</div>
<link rel="stylesheet" href="{base}arlm-demo.css">
<script src="{base}arlm-demo.js"></script>
"""


def _script(path, name, value):
    """A classic script that sets ``window.ARLM_DEMO[name]`` (a page opened from disk can load scripts, not
    fetch files)."""
    with atomic_path(path) as tmp:
        tmp.write_text(f"(window.ARLM_DEMO = window.ARLM_DEMO || {{}})[{json.dumps(name)}] = "
                       f"{json.dumps(value, ensure_ascii=False)};\n", encoding="utf-8")


def write_site(folder, static_dir, runtime=RUNTIME, source=SOURCE):
    """Write the demo's files into a built site's ``_static/`` (`static_dir`); returns ``{file: bytes}``."""
    from arlm.tokenizer import MAX_BYTES_PER_WORD

    info = read_demo(folder)
    missing = [name for name in RUNTIME_FILES if not (Path(runtime) / name).is_file()]
    if missing:
        raise ArtifactError(f"{runtime} lacks {', '.join(missing)}: the vendored ONNX Runtime Web (README.md there)")
    target = Path(static_dir) / SITE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(runtime) / "ort.wasm.min.js", target / "ort.wasm.min.js")
    for name in ("arlm-demo.js", "arlm-demo.css"):
        shutil.copyfile(Path(source) / name, target / name)
    _script(target / "runtime.js", "runtime", {
        "glue": (Path(runtime) / "ort-wasm-simd-threaded.mjs").read_text(encoding="utf-8"),
        "wasm_gzip": base64.b64encode((Path(runtime) / "ort-wasm-simd-threaded.wasm.gz").read_bytes()).decode()})
    _script(target / "model.js", "model", {
        "onnx_gzip": base64.b64encode(gzip.compress((Path(folder) / MODEL_FILE).read_bytes(), 9, mtime=0)).decode(),
        "tokenizer": read_json(Path(folder) / TOKENIZER_FILE), "labels": info["labels"],
        "max_seq_length": info["max_seq_length"], "max_bytes_per_word": MAX_BYTES_PER_WORD,
        "model_bytes": info["model_bytes"]})
    return {path.name: path.stat().st_size for path in sorted(target.iterdir())}
