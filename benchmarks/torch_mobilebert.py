"""PyTorch `transformers` MobileBERT training step, the reference of `train_step.py` (run in its own process).

    python torch_mobilebert.py --config '{"vocab_size": 50000, ...}' --kind pretraining --batch 16

Builds the model once, then serves timing requests from stdin, so that `train_step.py` can interleave its rounds
with arlm's: each line ``MODE STEPS`` (MODE ``float32`` or ``bfloat16``: `torch.autocast("cpu", dtype=torch.bfloat16)`)
runs one untimed step, then STEPS timed ones, and prints one JSON line: the wall and CPU seconds of each step and
tokens/s of the median. The first line printed describes the setup. AdamW, sequence 128 by default, dropout as in
arlm's preset (attention 0.1, hidden 0.0); the pretraining step's loss reads the MLM logits at every position,
as `transformers` computes them.
"""

import argparse
import json
import statistics
import sys
import time

from hf_reference import hf_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="arlm MobileBertConfig as JSON")
    parser.add_argument("--kind", choices=("backbone", "pretraining"), default="pretraining")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
    c = json.loads(args.config)
    hf = hf_config(c, hidden_dropout_prob=c["hidden_dropout"], attention_probs_dropout_prob=c["attention_dropout"])
    torch.manual_seed(0)
    model = transformers.MobileBertModel(hf) if args.kind == "backbone" else transformers.MobileBertForPreTraining(hf)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), 1e-4)
    ids = torch.randint(5, c["vocab_size"], (args.batch, args.length))

    def step(bfloat16):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            out = model(input_ids=ids)
        output = out.last_hidden_state if args.kind == "backbone" else out.prediction_logits
        loss = (output.float() ** 2).mean() if args.kind == "backbone" else output.float().mean()
        loss.backward()
        optimizer.step()

    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        mode, steps = line.split()
        bfloat16 = mode == "bfloat16"
        step(bfloat16)
        wall, cpu = [], []
        for _ in range(int(steps)):
            start, start_cpu = time.perf_counter(), time.process_time()
            step(bfloat16)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(json.dumps({"wall": wall, "cpu": cpu,
                          "tokens_per_s": args.batch * args.length / statistics.median(wall)}), flush=True)


if __name__ == "__main__":
    main()
