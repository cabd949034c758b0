"""The `cpu` teacher against a standard peer given the same machine, data and wall time: tokens and masked-LM
accuracy.

What one CPU hour buys is the question behind the cpu edition: if its models stay below a bag-of-words
baseline, is that arlm's implementation, or the hour? This script answers with a peer trained side by side:

* arlm: the `cpu` scale's IBERTA teacher (`arlm.training.train_teacher`: LAMB, its warmup and decay over
  ``--steps`` updates, the precision `arlm.runtime` picks here, checkpoints as the book writes them) on the
  pretraining data of chapter 1; its wall time T is measured;
* the peer: `transformers` BERT in PyTorch (`peer_bert_torch.py`, BERT-mini by default: 4 layers, width 256;
  AdamW at 1e-3; ``torch.autocast`` bfloat16 on a CPU with bfloat16 units, else float32), trained on the same
  batches in the same order for the same T seconds, in its own process;
* both scored on the same ``--eval-batches`` batches, dropout off: the share of masked pieces predicted right.
  These are batches of the training data in another order (the corpus has no held-out split), so both models
  may have seen them, about as often as their tokens say.

The data: ``--data`` and ``--vocab`` (a TFRecord folder and its vocabulary), else chapter 1 of the run folder
``--run-dir`` at ``--scale``, which it runs first (`arlm run --chapters 1`) when it is missing.

    python benchmarks/peer_pretraining.py [--steps 1000] [--run-dir /tmp/arlm-bench/runs]

DEVELOPERS.md ("Precision") has a run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import arlm  # noqa: F401  (before TensorFlow: it turns on TF's oneDNN CPU kernels, as for every user)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from reference_env import torch_python  # noqa: E402

HERE = Path(__file__).resolve().parent


def chapter1(run_dir, scale):
    """Chapter 1's pretraining folder and vocabulary in `run_dir` at `scale`, made by `arlm run` if missing."""
    corpus = Path(run_dir) / scale / "01_corpus"
    if not (corpus / "pretraining" / "meta.json").exists():
        subprocess.run([sys.executable, "-m", "arlm", "run", "--scale", scale, "--chapters", "1", "--out",
                        str(run_dir)], check=True)
    return corpus / "pretraining", corpus / "vocab.txt"


def batches(dataset, count):
    """The first `count` ``(x, y)`` batches of `dataset` as one dict of stacked numpy arrays [count, B, ...]."""
    rows = [{**x, **y} for x, y in dataset.take(count).as_numpy_iterator()]
    return {key: np.stack([row[key] for row in rows]) for key in rows[0]}


def arlm_accuracy(pretrainer, scoring):
    """Masked-LM accuracy of `pretrainer` (dropout off) over the stacked batches `scoring`: its own metric."""
    flat = {key: value.reshape(-1, *value.shape[2:]) for key, value in scoring.items()}
    x = {key: flat[key] for key in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
    y = {key: flat[key] for key in ("masked_lm_ids", "masked_lm_weights", "next_sentence_labels")}
    metrics = pretrainer.evaluate(x, y, batch_size=scoring["token_ids"].shape[1], verbose=0, return_dict=True)
    return metrics["mlm_accuracy"]


def run_peer(python, train_file, eval_file, seconds, vocab_size, args, bfloat16):
    command = [str(python), str(HERE / "peer_bert_torch.py"), "--batches", str(train_file), "--eval",
               str(eval_file), "--seconds", str(seconds), "--vocab-size", str(vocab_size),
               "--layers", str(args.peer_layers), "--hidden", str(args.peer_hidden),
               "--learning-rate", str(args.peer_learning_rate), "--probe", str(args.probe)]
    done = subprocess.run([*command, *(["--bfloat16"] if bfloat16 else [])], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the peer ({HERE / 'peer_bert_torch.py'}) failed with exit code {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="arlm's updates (its schedule ends there)")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change the scale")
    parser.add_argument("--run-dir", type=Path, help="a run folder with (or for) chapter 1 at --scale")
    parser.add_argument("--data", type=Path, help="pretraining TFRecords (instead of chapter 1's)")
    parser.add_argument("--vocab", type=Path, help="the vocabulary of --data")
    parser.add_argument("--eval-batches", type=int, default=20)
    parser.add_argument("--peer-layers", type=int, default=4)
    parser.add_argument("--peer-hidden", type=int, default=256)
    parser.add_argument("--peer-learning-rate", type=float, default=1e-3)
    parser.add_argument("--probe", type=int, default=10, help="peer updates timed to size its schedule")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arlm-bench"))
    args = parser.parse_args(argv)
    from arlm import runtime
    from arlm.artifacts import cpu_model
    from arlm.book.runner import parse_overrides
    from arlm.pretraining_data import load_dataset, read_meta
    from arlm.scales import micro_batch_size, resolve
    from arlm.training import count_lines, train_teacher

    cfg = resolve(args.scale, **{**parse_overrides(args.set), "teacher_steps": args.steps,
                                 "checkpoint_every": args.steps})
    if bool(args.data) != bool(args.vocab):
        parser.error("--data and --vocab go together")
    if cfg.gradient_accumulation_steps != 1:
        parser.error("gradient_accumulation_steps must be 1: the peer takes one batch per update")
    data, vocab = (args.data, args.vocab) if args.data else \
        chapter1(args.run_dir or args.workdir / "runs", args.scale)
    meta, vocab_size = read_meta(data), count_lines(vocab)
    rt = runtime.setup(cfg, verbose=False)
    bfloat16 = rt.precision["policy"] == "mixed_bfloat16"
    args.workdir.mkdir(parents=True, exist_ok=True)
    python = torch_python(args.workdir)
    print(f"{cpu_model()}, {os.cpu_count()} cores; {args.scale} scale, {args.steps} arlm updates of "
          f"{cfg.batch_size} x {meta['max_seq_length']}; arlm in {rt.precision['policy']}, the peer in "
          f"{'bfloat16 autocast' if bfloat16 else 'float32'}", flush=True)

    def dataset(seed):
        return load_dataset(data, micro_batch_size(cfg), meta["max_seq_length"], meta["max_predictions_per_seq"],
                            seed=seed)

    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        work = Path(work)
        # the peer's batches: the stream train_teacher reads (same loader, same seed), and the scoring batches
        np.savez(work / "train.npz", **batches(dataset(cfg.seed), args.steps))
        scoring = batches(dataset(cfg.seed + 1), args.eval_batches)
        np.savez(work / "eval.npz", **scoring)
        start = time.perf_counter()
        pretrainer, _ = train_teacher("iberta", cfg, data, vocab, work / "arlm", verbose="auto")
        seconds = time.perf_counter() - start
        arlm_result = {"updates": args.steps, "seconds": seconds, "parameters": pretrainer.count_params(),
                       "mlm_accuracy": arlm_accuracy(pretrainer, scoring)}
        print(f"arlm: {args.steps} updates in {seconds:.0f} s; the peer trains as long", flush=True)
        peer = run_peer(python, work / "train.npz", work / "eval.npz", seconds, vocab_size, args, bfloat16)
    tokens = {name: r["updates"] * cfg.batch_size * meta["max_seq_length"]
              for name, r in (("arlm", arlm_result), ("peer", peer))}
    rows = (("arlm", f"arlm IBERTA, {args.scale} scale", arlm_result),
            ("peer", f"peer BERT {args.peer_layers}L/{args.peer_hidden}H (torch {peer['torch']})", peer))
    width = max(len(label) for _, label, _ in rows) + 1
    print(f"\n{'model':<{width}}{'params':>10}{'updates':>9}{'tokens':>12}{'s':>7}{'tok/s':>8}{'MLM acc':>9}")
    for name, label, r in rows:
        print(f"{label:<{width}}{r['parameters']:>10,}{r['updates']:>9,}{tokens[name]:>12,}{r['seconds']:>7.0f}"
              f"{tokens[name] / r['seconds']:>8,.0f}{r['mlm_accuracy']:>9.1%}")
    print(f"\narlm / peer: {tokens['arlm'] / tokens['peer']:.2f}x the tokens in the same time, masked-LM accuracy "
          f"{arlm_result['mlm_accuracy'] - peer['mlm_accuracy']:+.1%} points "
          f"(on {args.eval_batches} batches of {cfg.batch_size}, dropout off)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
