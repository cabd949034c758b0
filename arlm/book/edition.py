"""The cpu edition: the whole book executed at `cpu` scale on the data mirror, shipped with the repository.

* `publish` copies a finished `cpu` run into ``book/edition/cpu/``: each chapter's executed notebook and its
  ``results.json`` (no checkpoints, no models but the int8 student of the book's live box, chapter 6's
  ``demo/``: `arlm.book.demo`), and ``edition.json``, which records the preset the run used, the precision and CPU
  that trained it (`training_precision`) and, per chapter, its commit, date, wall time, machine, precision and
  data. It also writes the run's trained teacher and
  distilled student as packaged presets (`EDITION_PRESETS`, in ``arlm/presets/``), each with its vocabulary and
  a model card generated from the run. Everything is staged and swapped in only once it is complete.
* `problems` lists what makes the committed edition stale: a chapter missing, a ``cpu`` preset that differs from
  the current one, presets that do not match the edition. `tests/test_edition.py` fails on any.
* ``arlm edition`` runs the book at `cpu` (resumable: a rerun continues) and publishes it.

>>> sorted(EDITION_PRESETS)
['student', 'teacher']
"""

import shutil
import tempfile
import time
from pathlib import Path

from arlm.artifacts import CHAPTERS
from arlm.book import demo
from arlm.book.sources import REPO
from arlm.errors import ArlmError, ArtifactError
from arlm.files import atomic_path, folder_bytes, read_json, staged_dir, write_json
from arlm.preset_format import PRESETS_DIR, verify_preset, write_digests

SCALE = "cpu"
EDITION = REPO / "book" / "edition" / SCALE
MAX_EDITION_BYTES = 15 * 2**20
MAX_PRESET_BYTES = 10 * 2**20  # both presets together
# run model -> (packaged preset name, the file in the run, the paper's name)
EDITION_PRESETS = {
    "teacher": ("iberta-cpu-edition", ("02_teacher", "teacher.keras"), "IBERTA"),
    "student": ("mberta-cpu-edition", ("04_distillation", "student.keras"), "MBERTA"),
}


# the chapters that train models: their dtype policy is the edition's precision
TRAINING_CHAPTERS = ("02_teacher", "03_knowledge_transfer", "04_distillation", "05_finetuning")


def chapter_record(run_dir, chapter):
    """What the edition records of one executed chapter: commit, date, wall time, machine, runtime, precision
    (dtype policy, the scale's ``mixed_precision``, the CPU's bfloat16 flags), data."""
    import nbformat

    results = read_json(Path(run_dir) / chapter / "results.json")
    notebook = nbformat.read(Path(run_dir) / f"{chapter}.ipynb", as_version=4)
    env = results.get("environment", {})
    return {"commit": env.get("commit"), "date": env.get("date"), "machine": env.get("machine"),
            "runtime": env.get("runtime"), "precision": env.get("precision"), "data_mirror": env.get("data_mirror"),
            "seconds": round(float(notebook.metadata.get("papermill", {}).get("duration") or 0), 1)}


def training_precision(chapters):
    """Which precision trained the edition and on which CPU, from the `chapter_record` of each chapter.

    Returns ``{"policy", "cpu", "cpu_bfloat16_flags"}`` over `TRAINING_CHAPTERS` (a run resumed on another
    machine lists both, comma-separated). A record from before precisions were recorded gives the policy its
    runtime line names.

    >>> training_precision({"02_teacher": {"machine": {"cpu": "AMD EPYC"}, "precision": {
    ...     "policy": "mixed_bfloat16", "cpu_bfloat16_flags": ["avx512_bf16"]}}})
    {'policy': 'mixed_bfloat16', 'cpu': 'AMD EPYC', 'cpu_bfloat16_flags': ['avx512_bf16']}
    >>> training_precision({"02_teacher": {"runtime": "backend tensorflow, dtype policy float32"}})["policy"]
    'float32'
    """
    records = [chapters[chapter] for chapter in TRAINING_CHAPTERS if chapter in chapters]
    precisions = [record.get("precision") or {} for record in records]
    policies = {p.get("policy") or (record.get("runtime") or "unknown").rpartition("dtype policy ")[2].split()[0]
                for p, record in zip(precisions, records, strict=True)}
    return {"policy": ", ".join(sorted(policies)),
            "cpu": ", ".join(sorted({(record.get("machine") or {}).get("cpu", "unknown") for record in records})),
            "cpu_bfloat16_flags": sorted({flag for p in precisions for flag in p.get("cpu_bfloat16_flags", [])})}


def _check_run(run_dir):
    """The run's preset, after checking that every chapter finished at `cpu` with the data mirror and one preset,
    and that chapter 6 wrote the live box's model."""
    from arlm.scales import SCALES

    problems, configs = [], {}
    for chapter in CHAPTERS:
        results = run_dir / chapter / "results.json"
        if not (run_dir / f"{chapter}.ipynb").is_file() or not results.is_file():
            problems.append(f"{chapter} has not finished in {run_dir} (no {chapter}.ipynb or results.json)")
            continue
        record = read_json(results)
        config = dict(record.get("config", {}))
        if config.pop("scale", record.get("scale")) != SCALE:
            problems.append(f"{chapter} ran at scale {record.get('scale')!r}, not {SCALE!r}")
        if not record.get("environment", {}).get("data_mirror"):
            problems.append(f"{chapter} ran without the data mirror (set ARLM_DATA_DIR)")
        configs[chapter] = config
    if not (run_dir / "06_quantization" / demo.FOLDER / demo.MODEL_FILE).is_file():
        problems.append(f"06_quantization wrote no {demo.FOLDER}/ for the live box (install the onnx extra: "
                        "pip install 'arlm[onnx]', and run chapter 6 again)")
    current = SCALES[SCALE]
    for chapter, config in configs.items():
        changed = _changed_keys(config, current)
        if changed:
            problems.append(f"{chapter} ran with other values than the current {SCALE!r} preset: {', '.join(changed)}")
    if problems:
        raise ArlmError(f"{run_dir} cannot be published as the {SCALE} edition:\n  " + "\n  ".join(problems))
    return dict(current)


def _changed_keys(recorded, current):
    """The keys of either preset whose values differ between the two."""
    return sorted(key for key in set(recorded) | set(current) if recorded.get(key) != current.get(key))


def _clean_notebook(source, target):
    """Copy an executed notebook without papermill's record of this machine's paths."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    record = notebook.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        record.pop(key, None)
    nbformat.write(notebook, target)


def publish(run_dir, edition=EDITION, presets_dir=PRESETS_DIR, log=print):
    """Publish the `cpu` run in `run_dir` (``runs/cpu``) as the edition and its presets; returns `edition`."""
    run_dir, edition, presets_dir = Path(run_dir), Path(edition), Path(presets_dir)
    preset = _check_run(run_dir)
    chapters = {chapter: chapter_record(run_dir, chapter) for chapter in CHAPTERS}
    manifest = {"scale": SCALE, "preset": preset, "precision": training_precision(chapters), "chapters": chapters,
                "total_seconds": round(sum(c["seconds"] for c in chapters.values()), 1),
                "published": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "presets": {model: name for model, (name, _, _) in EDITION_PRESETS.items()}}
    with staged_dir(edition) as staging:  # the old edition stays until the new one is complete
        for chapter in CHAPTERS:
            _clean_notebook(run_dir / f"{chapter}.ipynb", staging / f"{chapter}.ipynb")
            (staging / chapter).mkdir()
            shutil.copy2(run_dir / chapter / "results.json", staging / chapter / "results.json")
        shutil.copytree(run_dir / "06_quantization" / demo.FOLDER, staging / demo.FOLDER)
        demo.read_demo(staging / demo.FOLDER)  # complete
        write_json(staging / "edition.json", manifest)
        size = folder_bytes(staging)
        if size > MAX_EDITION_BYTES:
            raise ArlmError(f"the edition would take {size / 2**20:.1f} MB, more than "
                            f"{MAX_EDITION_BYTES / 2**20:.0f} MB")
        write_presets(run_dir, manifest, presets_dir, log)
    log(f"arlm edition: {edition} ({size / 2**20:.1f} MB)")
    return edition


def write_presets(run_dir, manifest, presets_dir=PRESETS_DIR, log=print):
    """The edition's teacher and student backbones as packaged presets, weights stored in float16 (half the
    bytes; loaded back into float32 variables), each with its vocabulary and a ``README.md`` model card."""
    from arlm.saving import load_model, save_model

    vocab = run_dir / "01_corpus" / "vocab.txt"
    with tempfile.TemporaryDirectory() as scratch:
        built = {}
        for model_name, (name, (chapter, file), paper_name) in EDITION_PRESETS.items():
            folder = Path(scratch) / name
            backbone = load_model(run_dir / chapter / file, compile=False).backbone
            save_model(backbone, folder, tokenizer=vocab,
                       metadata={"description": f"the {paper_name} {model_name} of the {SCALE} edition, trained "
                                                f"at {SCALE} scale on the data mirror (its README.md)",
                                 "edition": SCALE, "model": model_name, "paper_name": paper_name,
                                 "commit": manifest["chapters"][chapter]["commit"], "preset": manifest["preset"],
                                 "weights": "float16"})
            store_float16(folder / "model.weights.h5")
            (folder / "README.md").write_text(model_card(run_dir, manifest, model_name), encoding="utf-8")
            built[name] = folder
        size = sum(folder_bytes(folder) for folder in built.values())
        if size > MAX_PRESET_BYTES:
            raise ArlmError(f"the edition presets take {size / 2**20:.1f} MB, more than "
                            f"{MAX_PRESET_BYTES / 2**20:.0f} MB")
        for name, folder in built.items():
            with staged_dir(Path(presets_dir) / name) as staging:
                shutil.copytree(folder, staging, dirs_exist_ok=True)
    log(f"arlm edition: presets {', '.join(built)} ({size / 2**20:.1f} MB) in {presets_dir}")
    return list(built)


def store_float16(path):
    """Rewrite a Keras weights file with its float32 arrays as float16 (through a temporary file and a rename); in a
    preset folder that records its files' digests (`arlm.preset_format.write_digests`), the file's digest is updated."""
    import h5py
    import numpy as np

    def copy(source, target):
        target.attrs.update(dict(source.attrs))
        for key, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(key))
            else:
                data = item[()]
                if getattr(data, "dtype", None) == np.float32:
                    data = data.astype(np.float16)
                target.create_dataset(key, data=data)
                target[key].attrs.update(dict(item.attrs))

    with atomic_path(path) as tmp, h5py.File(path, "r") as source, h5py.File(tmp, "w") as target:
        copy(source, target)
    meta = Path(path).parent / "metadata.json"
    if meta.is_file() and "sha256" in read_json(meta):
        write_digests(meta.parent, [Path(path).name])


def model_card(run_dir, manifest, model_name):
    """The Markdown model card of an edition preset, from the run's ``results.json`` files."""
    from arlm.book.reporting import collect

    run = collect(run_dir)
    name, (chapter, _), paper_name = EDITION_PRESETS[model_name]
    preset, record = manifest["preset"], manifest["chapters"][chapter]
    corpus = run.get("01_corpus", "corpus", default={})
    masked = run.get("04_distillation", "masked_lm", "distilled" if model_name == "student" else "teacher",
                     default={})
    params = run.get("03_knowledge_transfer", f"{model_name}_parameters")
    if model_name == "teacher":
        training = (f"{preset['teacher_steps']:,} LAMB updates of {preset['batch_size']} sequences of "
                    f"{preset['max_seq_length']} pieces (masked LM and next sentence), peak rate "
                    f"{preset['teacher_learning_rate']}")
    else:
        training = (f"progressive knowledge transfer from {EDITION_PRESETS['teacher'][0]} "
                    f"({preset['kt_steps_per_layer']:,} updates per layer over {preset['num_layers']} layers), then "
                    f"{preset['distill_steps']:,} updates of pretraining distillation")
    lines = [f"# {name}", "",
             f"The {paper_name} {'teacher' if model_name == 'teacher' else 'student'} of this book's `{SCALE}` "
             f"edition (`book/edition/{SCALE}/`), at the `{SCALE}` scale's sizes: a backbone "
             f"(`MobileBertBackbone`) without a task head, with its {preset['vocab_size']:,}-piece vocabulary.", "",
             "```bash", f"arlm finetune --model {name} --train train.csv --test test.csv \\",
             "              --text-column text --label-column label --scale cpu --out my_model/", "```", "",
             "| | |", "|---|---|",
             f"| parameters | {params:,} |" if params else "| parameters | see chapter 3 |",
             f"| pretraining data | {corpus.get('words', 0):,} words of the data mirror "
             f"({', '.join(corpus.get('by_source', {}))}) |",
             f"| training | {training} |",
             f"| held-out masked-LM accuracy | {masked.get('mlm_accuracy', float('nan')):.1%} (chapter 4) |",
             f"| made by | commit `{record['commit']}`, {record['date']}, {record['machine']['cores']} cores "
             f"({record['machine']['cpu']}) |",
             f"| trained in | {training_precision({'02_teacher': record})['policy']} |",
             "| weights | stored in float16 (half the bytes), loaded into float32 variables |", ""]
    scores = run.get("05_finetuning", "table3", default=[])
    rows = [row for row in scores if row["model"] == paper_name]
    if rows:
        seeds = preset["finetune_seeds"]
        lines += [f"Fine-tuned in chapter 5 ({preset['finetune_max_train_examples']:,} training examples per task, "
                  f"{preset['finetune_epochs']} epoch(s), {seeds} seed(s); percent, mean ± sd, the paper's "
                  f"{paper_name} beside it):", "", "| dataset | metric | this edition | paper |", "|---|---|---|---|"]
        for row in rows:
            sd = f" ± {row['sd']:.1f}" if row.get("sd") is not None else ""
            paper = "–" if row.get("paper") is None else f"{row['paper']:.1f}"
            lines.append(f"| {row['dataset']} | {row['metric']} | {row['ours']:.1f}{sd} | {paper} |")
        lines.append("")
    lines += ["Regenerate the edition and these presets with `arlm edition` (README).", ""]
    return "\n".join(lines)


def read_manifest(edition=EDITION):
    """The committed edition's ``edition.json``; None when there is no edition."""
    path = Path(edition) / "edition.json"
    return read_json(path) if path.is_file() else None


def problems(edition=EDITION, presets_dir=PRESETS_DIR, scale_preset=None):
    """What makes the committed edition stale (empty when it is current): a missing chapter or file, a preset
    other than the current `cpu` one (or `scale_preset`), the edition or its presets too large, presets missing,
    without a model card or made from another preset."""
    from arlm.scales import SCALES

    manifest = read_manifest(edition)
    if manifest is None:
        return [f"no edition in {edition} (run `arlm edition`)"]
    found = []
    current = scale_preset or SCALES[SCALE]
    changed = _changed_keys(manifest["preset"], current)
    if changed:
        found.append(f"the edition was made with a {SCALE!r} preset that differs from the current one in "
                     + ", ".join(f"{key} ({manifest['preset'].get(key)!r} -> {current.get(key)!r})" for key in changed))
    for chapter in CHAPTERS:
        for path in (Path(edition) / f"{chapter}.ipynb", Path(edition) / chapter / "results.json"):
            if not path.is_file():
                found.append(f"{path} is missing")
    try:
        demo.read_demo(Path(edition) / demo.FOLDER)
    except ArlmError as error:
        found.append(str(error))
    size = folder_bytes(edition)
    if size > MAX_EDITION_BYTES:
        found.append(f"the edition takes {size / 2**20:.1f} MB, more than "
                     f"{MAX_EDITION_BYTES / 2**20:.0f} MB")
    size = 0
    for name, _, _ in EDITION_PRESETS.values():
        folder = Path(presets_dir) / name
        if not (folder / "config.json").is_file():
            found.append(f"the edition preset {name} is missing from {presets_dir}")
            continue
        size += folder_bytes(folder)
        if read_json(folder / "metadata.json").get("arlm", {}).get("preset") != manifest["preset"]:
            found.append(f"the preset {name} was not made by this edition's run")
        if not (folder / "README.md").is_file():
            found.append(f"the preset {name} has no model card (README.md)")
        try:
            verify_preset(folder)
        except ArtifactError as error:
            found.append(str(error))
    if size > MAX_PRESET_BYTES:
        found.append(f"the edition presets take {size / 2**20:.1f} MB, more than {MAX_PRESET_BYTES / 2**20:.0f} MB")
    return found
