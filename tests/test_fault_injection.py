"""Real kills: a tiny teacher pretraining and a tiny distillation (stages 2 and 3) run in a subprocess that is
SIGKILLed at several points; the same command run again must end with exactly the weights of an uninterrupted
run, on TensorFlow and on JAX.

One run folder per backend goes through every kill point in turn (each rerun is killed at the next point, as a
run preempted again and again), then finishes; a second folder is killed from outside at arbitrary moments."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("fault_run.py")
# in the order a run reaches them
KILLS = {
    "tensorflow": ["teacher:mid-step:3", "teacher:during-checkpoint:4", "teacher:after-checkpoint:4",
                   "teacher:after-last", "teacher:during-save", "kt:mid-step:5", "pd:during-checkpoint:2",
                   "pd:during-save"],
    "jax": ["teacher:during-checkpoint:2", "kt:after-checkpoint:3", "pd:during-save"],
}

pytestmark = pytest.mark.faults


def run(backend, work, *args, timeout=300):
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, str(SCRIPT), str(work), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module", params=sorted(KILLS))
def reference(request, tmp_path_factory):
    backend = request.param
    pytest.importorskip(backend)
    work = tmp_path_factory.mktemp(f"reference-{backend}")
    done = run(backend, work / "run", "--weights", str(work / "weights.npz"))
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(work / "weights.npz") as weights:
        return backend, dict(weights)


def check_same(expected, path):
    with np.load(path) as got:
        assert sorted(got) == sorted(expected)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_killed_at_every_point_and_rerun_equals_uninterrupted(reference, tmp_path):
    backend, expected = reference
    work = tmp_path / "run"
    for kill in KILLS[backend]:
        killed = run(backend, work, "--kill", kill)
        assert killed.returncode == -signal.SIGKILL, f"{kill}: not killed\n{killed.stderr[-3000:]}"
    rerun = run(backend, work, "--weights", str(tmp_path / "weights.npz"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_same(expected, tmp_path / "weights.npz")


def test_killed_from_outside_at_any_moment(reference, tmp_path):
    # not at a chosen point: kill -9 from another process after a delay, twice in a row, then finish
    backend, expected = reference
    if backend != "tensorflow":
        pytest.skip("one backend is enough for arbitrary moments; the chosen points run on both")
    work = tmp_path / "run"
    for delay in (4.0, 6.0):
        process = subprocess.Popen([sys.executable, str(SCRIPT), str(work)], env={**os.environ,
                                   "KERAS_BACKEND": backend}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    rerun = run(backend, work, "--weights", str(tmp_path / "weights.npz"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_same(expected, tmp_path / "weights.npz")


# -- the commands under a hostile machine: a second writer, kill -9, Ctrl-C, a full disk (issue 25) ----------------
# Each runs `python -m arlm` in its own session (as a terminal's job) and signals it as a terminal or a machine
# would; the inputs are tiny, so the time goes into starting Python and TensorFlow.

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cli_ws(tmp_path_factory):
    """Labelled texts, a vocabulary, a slice of the embedded corpus, and an `arlm finetune`-style model folder (a
    tiny untrained classifier) with an exported ``model.tflite``."""
    from quantization_helpers import labelled, tiny_model

    from arlm import cli
    from arlm.datasets import embedded_corpus_path
    from arlm.saving import save_model
    from arlm.tokenizer import train_vocabulary

    root = tmp_path_factory.mktemp("cli")
    texts, labels = labelled("train", 32)
    for name in ("train", "test"):
        with open(root / f"{name}.csv", "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows([("text", "label"), *((t, "ab"[y % 2]) for t, y in zip(texts, labels,
                                                                                            strict=True))])
    with open(embedded_corpus_path(), encoding="utf-8") as source:  # JSON lines, one hadith each
        lines = [" ".join(json.loads(next(source))["text"].split()) for _ in range(2000)]
    # documents of five hadiths, so that the corpus makes many shards
    (root / "corpus.txt").write_text("".join(f"{line}\n" + "\n" * (i % 5 == 4) for i, line in enumerate(lines)),
                                     encoding="utf-8")
    train_vocabulary(lines[:1000] + texts, 1000, root / "vocab.txt")
    model_dir = root / "model"
    size = len((root / "vocab.txt").read_text(encoding="utf-8").splitlines())
    save_model(tiny_model(size), model_dir / "model.keras")
    (model_dir / "vocab.txt").write_bytes((root / "vocab.txt").read_bytes())
    (model_dir / "index.json").write_text(json.dumps({"model": {
        "file": "model.keras", "task": "classification", "kind": "classification", "labels": ["a", "b"],
        "max_seq_length": 16, "vocab": "vocab.txt"}}))
    assert cli.main(["export", str(model_dir), "--out", str(root / "exports" / "model.tflite")]) == 0
    return root


def arlm(*argv, cwd):
    """`python -m arlm argv` started in its own session; its output is collected as it comes (``.out``, ``.err``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "arlm", *map(str, argv)], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    process.out, process.err = [], []
    process.readers = [threading.Thread(target=lambda s=stream, into=into: into.extend(s), daemon=True)
                       for stream, into in ((process.stdout, process.out), (process.stderr, process.err))]
    for reader in process.readers:
        reader.start()
    return process


def wait_for(condition, process, timeout=240):
    """Poll `condition()` while `process` runs; fail with its output if it ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            code, out, err = finished(process)
            pytest.fail(f"never happened (exit {code}):\n{out[-2000:]}\n{err[-3000:]}")
        time.sleep(0.05)


def finished(process, timeout=240):
    """(exit status, stdout, stderr) of `process` once it ends."""
    process.wait(timeout=timeout)
    for reader in process.readers:
        reader.join(timeout=10)
    return process.returncode, "".join(process.out), "".join(process.err)


def one_line(err, *expected):
    """stderr ends with one `arlm ...` line holding `expected`, and holds no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("arlm ")]
    assert len(lines) == 1 and err.rstrip().endswith(lines[0]), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def children(pid):
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def all_ended(pids, seconds=10):
    """Whether every process of `pids` has ended, waiting up to `seconds` for the last ones."""
    deadline = time.monotonic() + seconds
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(map(running, pids))


def tree(folder):
    """The files under `folder`, names and bytes, hidden ones (staging folders, locks) left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def stagings(target):
    return sorted(Path(target).parent.glob(f".{Path(target).name}.staging-*"))


def staged(target, pattern, besides=()):
    """Whether a staging folder of `target` (not one of `besides`) holds a file matching `pattern`."""
    return any(next(s.glob(pattern), None) is not None for s in stagings(target) if s not in besides)


def held_by(target, process):
    """Whether `process` holds `target`'s lock (its record names the process)."""
    lock = Path(target).parent / f".{Path(target).name}.lock"
    try:
        return lock.read_text().startswith(f"{process.pid} ")
    except OSError:
        return False


def test_pretraining_data_has_one_writer_its_workers_end_with_it_and_ctrl_c_changes_nothing(cli_ws, tmp_path):
    out = tmp_path / "pretraining"
    command = ["pretraining-data", "--corpus", cli_ws / "corpus.txt", "--vocab", cli_ws / "vocab.txt", "--out", out,
               "--workers", "2", "--words-per-shard", "2000", "--dupe-factor", "2", "--max-seq-length", "64"]
    first = arlm(*command, cwd=tmp_path)
    wait_for(lambda: staged(out, "shard-*"), first)  # writing its shards
    staging = stagings(out)[0]
    first.send_signal(signal.SIGSTOP)  # held still (its workers run on) while the second one tries
    code, _, err = finished(arlm(*command, cwd=tmp_path))
    assert code == 2
    one_line(err, f"{out} is in use by process {first.pid} since ")
    assert staging.is_dir()  # the second writer did not take the first one's staging folder for a leftover
    workers = [pid for pid in children(first.pid) if running(pid)]
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker, where it runs)
    first.send_signal(signal.SIGKILL)  # the parent only, as a kill -9 or an out-of-memory killer does
    first.wait()
    assert all_ended(workers), "the workers outlived their parent"
    left = tree(staging)
    time.sleep(1)
    assert tree(staging) == left  # nobody writes into the orphaned staging folder

    code, _, err = finished(arlm(*command, cwd=tmp_path))  # the rerun takes the dead writer's lock over
    assert code == 0, err
    assert (out / "meta.json").is_file() and not stagings(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretraining"]
    before = tree(out)
    third = arlm(*command, cwd=tmp_path)
    wait_for(lambda: staged(out, "shard-*"), third)
    workers = children(third.pid)
    os.killpg(third.pid, signal.SIGINT)  # Ctrl-C: the whole foreground job, workers included
    code, _, err = finished(third)
    assert code == 130
    one_line(err, "arlm pretraining-data: interrupted: rerun the same command")
    assert tree(out) == before and not stagings(out)
    assert all_ended(workers)  # they got the Ctrl-C too; on a loaded machine they may end after their parent


def test_a_second_finetune_into_the_same_folder_is_refused_and_ctrl_c_keeps_the_earlier_output(cli_ws, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "metrics.json").write_text('{"accuracy": 0.5}\n')  # an earlier output
    command = ["finetune", "--train", cli_ws / "train.csv", "--test", cli_ws / "test.csv", "--text-column", "text",
               "--label-column", "label", "--model", "mberta", "--vocab", cli_ws / "vocab.txt", "--out", out,
               "--epochs", "50"]
    first = arlm(*command, cwd=tmp_path)
    wait_for(lambda: staged(out, "vocab.txt"), first)
    first.send_signal(signal.SIGSTOP)  # held still while the second one tries
    try:
        code, _, err = finished(arlm(*command, cwd=tmp_path))
    finally:
        first.send_signal(signal.SIGCONT)
    assert code == 2
    one_line(err, f"{out} is in use by process {first.pid} since ")
    assert staged(out, "vocab.txt")  # the first one's work is still there
    wait_for(lambda: any("loss" in line for line in first.out), first)  # training (its first progress line)
    os.killpg(first.pid, signal.SIGINT)
    code, _, err = finished(first)
    assert code == 130
    one_line(err, "arlm finetune: interrupted: rerun the same command")
    assert tree(out) == {"metrics.json": b'{"accuracy": 0.5}\n'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_second_run_into_the_same_run_folder_is_refused_and_ctrl_c_stops_the_run(tmp_path):
    command = ["run", "--scale", "tiny", "--chapters", "1", "--out", tmp_path / "runs"]
    first = arlm(*command, cwd=tmp_path)
    run_dir = tmp_path / "runs" / "tiny"
    wait_for(lambda: held_by(run_dir, first) and (run_dir / "01_corpus.log").exists() and children(first.pid),
             first)  # chapter 1's kernel has started
    code, _, err = finished(arlm(*command, cwd=tmp_path))
    assert code == 2
    one_line(err, f"{run_dir} is in use by process {first.pid} since ")
    kernels = children(first.pid)
    os.killpg(first.pid, signal.SIGINT)
    code, _, err = finished(first)
    assert code == 130
    one_line(err, "arlm run: interrupted: rerun the same command to resume")
    assert all_ended(kernels, seconds=20), "the chapter's kernel outlived the run"
    assert not list(run_dir.glob(".*.ipynb")) and not (tmp_path / "runs" / ".tiny.lock").exists()


def test_a_killed_export_leaves_nothing_a_rerun_keeps_and_ctrl_c_keeps_the_earlier_file(cli_ws, tmp_path):
    shutil.copytree(cli_ws / "exports", tmp_path / "exports")
    out = tmp_path / "exports" / "model.tflite"
    before = tree(out.parent)
    command = ["export", cli_ws / "model", "--quantize", "float16", "--out", out]
    killed = arlm(*command, cwd=tmp_path)
    wait_for(lambda: staged(out, ".arlm-savedmodel.*"), killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = stagings(out)
    assert left and tree(out.parent) == before  # its hidden folder (and lock) stay until the next export of it
    # the rerun removes the killed one's folder, traces the model and runs the converter: where TensorFlow's
    # converter swallowed a Ctrl-C and the export went on to replace the earlier file. Held still there (SIGSTOP)
    # to be interrupted; one that a loaded machine let finish converting first is tried again
    for _ in range(3):
        interrupted = arlm(*command, cwd=tmp_path)
        wait_for(lambda: staged(out, ".arlm-savedmodel.*/saved_model.pb", besides=left), interrupted)
        interrupted.send_signal(signal.SIGSTOP)
        assert not any(map(Path.exists, left))
        if not staged(out, out.name, besides=left):
            break
        interrupted.send_signal(signal.SIGCONT)
        assert finished(interrupted)[0] == 0
        shutil.rmtree(out.parent)
        shutil.copytree(cli_ws / "exports", out.parent)
    os.killpg(interrupted.pid, signal.SIGINT)
    interrupted.send_signal(signal.SIGCONT)
    code, _, err = finished(interrupted)
    assert code == 130, err
    one_line(err, "arlm export: interrupted: rerun the same command to start again (no earlier output was changed)")
    assert tree(out.parent) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.json", "model.tflite", "model.vocab.txt"]


def test_ctrl_c_once_an_export_is_written_ends_without_a_traceback(cli_ws, tmp_path):
    out = tmp_path / "model.tflite"
    done = arlm("export", cli_ws / "model", "--quantize", "float16", "--out", out, cwd=tmp_path)
    wait_for(lambda: done.out, done)  # its one line: the files are in place; TensorFlow's shutdown takes seconds
    os.killpg(done.pid, signal.SIGINT)
    code, _, err = finished(done)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    if code == 130:  # the Ctrl-C came before the command's end (rare): the message says what was written
        one_line(err, f"arlm export: interrupted: rerun the same command to start again ({out} was already "
                      "written, complete)")
    else:
        assert code == 0 and not err.strip(), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.tflite", "model.vocab.txt"]


SMALL_DISK = ('mount -t tmpfs -o size="$1" small "$2" || exit 99; cd "$2"; shift 2; "$@"; code=$?; '
              'echo "left: $(ls -A)"; exit $code')


def on_a_small_disk(size, folder, *argv):
    """`arlm argv` in a private mount namespace in which `folder` is a new tmpfs of `size` bytes (a full disk
    without touching the machine's); returns (exit status, stderr, what is left in `folder`)."""
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", SMALL_DISK, "sh", str(size),
                             str(folder), sys.executable, "-m", "arlm", *map(str, argv)], env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode == 99:
        pytest.skip(f"cannot mount a small tmpfs in a private namespace here: {result.stderr.strip()}")
    return result.returncode, result.stderr, result.stdout.rsplit("left: ", 1)[-1].split()


def test_a_full_disk_is_one_line_naming_the_folder_and_the_bytes(cli_ws, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare: cannot make a small file system")
    code, err, left = on_a_small_disk(16384, tmp_path / "p", "pretraining-data", "--corpus", cli_ws / "corpus.txt",
                                      "--vocab", cli_ws / "vocab.txt", "--out", "data", "--workers", "2",
                                      "--words-per-shard", "2000")
    assert code == 2
    one_line(err, f"{tmp_path / 'p'}: no space left on the device for data: it needs more than the ", " bytes")
    assert left == []  # no half-written shard and no staging folder left on the full disk
    code, err, left = on_a_small_disk(65536, tmp_path / "f", "finetune", "--train", cli_ws / "train.csv", "--test",
                                      cli_ws / "test.csv", "--text-column", "text", "--label-column", "label",
                                      "--model", "mberta", "--vocab", cli_ws / "vocab.txt", "--out", "model",
                                      "--epochs", "1")
    assert code == 2
    one_line(err, f"{tmp_path / 'f'}: no space left on the device for model: about ", " bytes")
    assert left == []
    code, err, left = on_a_small_disk(65536, tmp_path / "e", "export", cli_ws / "model", "--out", "model.tflite")
    assert code == 2
    one_line(err, f"{tmp_path / 'e'}: no space left on the device for model.tflite: about ", " bytes")
    assert left == []


def test_killed_in_bfloat16_and_rerun_equals_uninterrupted(tmp_path):
    """``mixed_bfloat16`` (what a CPU with bfloat16 units trains in), kept cheap: TensorFlow, the teacher alone,
    killed mid-step; the rerun resumes from its checkpoint and ends bit for bit where an uninterrupted bfloat16
    run does (the other stages resume through the same checkpoints, checked above in float32)."""
    pytest.importorskip("tensorflow")
    args = ("--bfloat16", "--teacher-only")
    reference = run("tensorflow", tmp_path / "reference", *args, "--weights", str(tmp_path / "expected.npz"))
    assert reference.returncode == 0, reference.stderr[-3000:]
    with np.load(tmp_path / "expected.npz") as weights:
        expected = dict(weights)
    work = tmp_path / "run"
    killed = run("tensorflow", work, *args, "--kill", "teacher:mid-step:5")
    assert killed.returncode == -signal.SIGKILL, f"not killed\n{killed.stderr[-3000:]}"
    rerun = run("tensorflow", work, *args, "--weights", str(tmp_path / "weights.npz"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_same(expected, tmp_path / "weights.npz")
