"""Benchmark: `arlm.pretraining_data` against TF Model Garden's `create_pretraining_data.py`, side by side.

Same text (the first 5 MB of the SaudiNewsNet mirror, and a corpus 4x larger), same vocabulary (8000 WordPiece
tokens trained here), same flags (seq 128, 20 predictions, dupe factor 5, masked_lm_prob 0.15, short_seq_prob
0.1, seed 12345, one line = one sentence: ``split_sentences`` off so both see identical segments). Prints
examples/s and peak memory (resident set of the whole process tree, sampled every 0.05 s) and the ratios.

The reference runs from a separate virtual environment that this script creates with PyPI
(`tf-models-official` pins its own TensorFlow): ``tensorflow~=2.20.0``, ``tf-keras``, ``sentencepiece``,
``absl-py``, ``six`` and the `tf-models-official` wheel without its other (unused, heavy) dependencies. If it
cannot be built (no network), the script says so and still measures arlm.

    python benchmarks/pretraining_data.py [--mb 5] [--workdir /tmp/arlm-bench] [--skip-reference]

Needs ARLM_DATA_DIR pointing at the data mirror.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from reference_env import build_venv

REFERENCE_PACKAGES = ["tensorflow~=2.20.0", "tf-keras~=2.20.0", "sentencepiece", "absl-py", "six"]
FLAGS = {"max_seq_length": 128, "max_predictions_per_seq": 20, "masked_lm_prob": 0.15, "dupe_factor": 5,
         "short_seq_prob": 0.1, "random_seed": 12345}


def write_corpus(path, megabytes):
    """The first `megabytes` MB of SaudiNewsNet text, whole documents, as a plain text file."""
    from arlm import datasets

    if path.exists():
        return path
    limit = megabytes * 1_000_000
    written = 0
    with gzip.open(datasets.path("saudinewsnet", "text"), "rt", encoding="utf-8") as source, \
            open(path, "w", encoding="utf-8") as out:
        for line in source:
            out.write(line)
            written += len(line.encode("utf-8"))
            if written >= limit and not line.strip():
                break
    return path


def measure(command, env=None):
    """Run `command`; returns (seconds, peak RSS of the process tree in MB, stdout+stderr)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0
    output = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    reader.join()
    seconds = time.perf_counter() - start
    if process.returncode:
        raise RuntimeError(f"{command[:3]} failed ({process.returncode}):\n{''.join(output)[-3000:]}")
    return seconds, peak / 2**20, "".join(output)


def run_arlm(corpus_file, vocab, out_dir):
    code = (
        "import json, sys\n"
        "from arlm.corpus import Source, iter_corpus\n"
        "from arlm.pretraining_data import PretrainingConfig, create_pretraining_data\n"
        "if __name__ == '__main__':\n"
        f"    config = PretrainingConfig(**{FLAGS!r}, split_sentences=False)\n"
        f"    docs = iter_corpus([Source('c', {str(corpus_file)!r})], dedup=False)\n"
        f"    meta = create_pretraining_data(docs, {str(vocab)!r}, {str(out_dir)!r}, config, progress=False)\n"
        "    print('INSTANCES', meta['instances'])\n"
    )
    seconds, peak, output = measure([sys.executable, "-c", code])
    return int(re.search(r"INSTANCES (\d+)", output).group(1)), seconds, peak


def build_reference(workdir):
    """A virtual environment with the reference script; returns (python, script) or raises with the reason."""
    print("(TensorFlow 2.20 from PyPI for the reference: a few minutes the first time)")
    python = build_venv(workdir / "tf-models-venv", REFERENCE_PACKAGES, no_deps=["tf-models-official~=2.20.0"])
    found = subprocess.run([str(python), "-c", "import official, os; print(os.path.dirname(official.__file__))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    return python, Path(found) / "nlp" / "data" / "create_pretraining_data.py"


def run_reference(python, script, corpus_file, vocab, out_file):
    flags = [f"--{name}={value}" for name, value in FLAGS.items()]
    command = [str(python), str(script), f"--input_file={corpus_file}", f"--output_file={out_file}",
               f"--vocab_file={vocab}", "--do_lower_case=true", *flags]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    seconds, peak, output = measure(command, env)
    match = re.search(r"Wrote (\d+) total instances", output)
    return (int(match.group(1)) if match else -1), seconds, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=5, help="size of the 1x corpus in MB (the 4x corpus is 4 times)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arlm-bench"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)

    from arlm.tokenizer import train_vocabulary

    corpora = {"1x": write_corpus(args.workdir / f"news_{args.mb}mb.txt", args.mb),
               "4x": write_corpus(args.workdir / f"news_{4 * args.mb}mb.txt", 4 * args.mb)}
    vocab = args.workdir / "vocab_8000.txt"
    if not vocab.exists():
        train_vocabulary([corpora["1x"]], 8000, vocab)

    reference, reason = None, ""
    if not args.skip_reference:
        try:
            reference = build_reference(args.workdir)
        except (subprocess.SubprocessError, OSError) as error:
            reason = f"the reference environment could not be built ({type(error).__name__}: {error})"
    else:
        reason = "skipped (--skip-reference)"

    rows = []
    for name, corpus_file in corpora.items():
        n, seconds, peak = run_arlm(corpus_file, vocab, args.workdir / f"arlm_{name}")
        rows.append({"corpus": name, "tool": "arlm", "instances": n, "seconds": seconds, "peak_mb": peak})
        if reference:
            out_file = args.workdir / f"reference_{name}.tfrecord"
            n, seconds, peak = run_reference(*reference, corpus_file, vocab, out_file)
            rows.append({"corpus": name, "tool": "reference", "instances": n, "seconds": seconds, "peak_mb": peak})

    print(f"\n{os.cpu_count()} cores; flags {FLAGS}; vocabulary 8000")
    print(f"{'corpus':8s} {'tool':10s} {'instances':>10s} {'seconds':>8s} {'examples/s':>11s} {'peak MB':>8s}")
    for row in rows:
        row["per_second"] = row["instances"] / row["seconds"]
        print(f"{row['corpus']:8s} {row['tool']:10s} {row['instances']:10,d} {row['seconds']:8.1f} "
              f"{row['per_second']:11,.0f} {row['peak_mb']:8.0f}")
    ours = {r["corpus"]: r for r in rows if r["tool"] == "arlm"}
    print(f"arlm memory 4x / 1x: {ours['4x']['peak_mb'] / ours['1x']['peak_mb']:.2f} (flat is 1.0)")
    if reference:
        for name in corpora:
            ref = next(r for r in rows if r["tool"] == "reference" and r["corpus"] == name)
            print(f"{name}: arlm / reference throughput {ours[name]['per_second'] / ref['per_second']:.1f}x, "
                  f"peak memory {ours[name]['peak_mb'] / ref['peak_mb']:.2f}x")
    else:
        print(f"reference NOT measured: {reason}")
    (args.workdir / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
