"""PyTorch `transformers` MobileBERT training step, the reference of `train_step.py` (run in its own environment).

    python torch_mobilebert.py --config '{"vocab_size": 50000, ...}' --kind backbone --steps 10

Prints one JSON line: the median seconds per step and tokens/s. AdamW, batch 8, sequence 128 by default, dropout
as in arlm's preset (attention 0.1, hidden 0.0).
"""

import argparse
import json
import statistics
import time

from hf_reference import hf_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="arlm MobileBertConfig as JSON")
    parser.add_argument("--kind", choices=("backbone", "pretraining"), required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=128)
    args = parser.parse_args()
    import torch
    import transformers

    c = json.loads(args.config)
    hf = hf_config(c, hidden_dropout_prob=c["hidden_dropout"], attention_probs_dropout_prob=c["attention_dropout"])
    torch.manual_seed(0)
    model = transformers.MobileBertModel(hf) if args.kind == "backbone" else transformers.MobileBertForPreTraining(hf)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), 1e-4)
    ids = torch.randint(5, c["vocab_size"], (args.batch, args.length))

    def step():
        optimizer.zero_grad()
        out = model(input_ids=ids)
        loss = (out.last_hidden_state**2).mean() if args.kind == "backbone" else out.prediction_logits.float().mean()
        loss.backward()
        optimizer.step()

    step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({"seconds_per_step": median, "tokens_per_s": args.batch * args.length / median,
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
