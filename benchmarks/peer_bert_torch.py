"""The peer of `peer_pretraining.py`: `transformers` BERT pretrained in PyTorch for a fixed wall time (own process).

    python peer_bert_torch.py --batches train.npz --eval eval.npz --seconds 600 --layers 4 --hidden 256

`BertForPreTraining` (BERT-mini at 4 layers and width 256: heads of 64, FFN 4x, dropout 0.1) trains on the
batches of ``--batches`` in their order (again from the first when they run out) until ``--seconds`` have
passed, with AdamW (weight decay 0.01), 6% warmup and linear decay over the number of updates the first
``--probe`` updates predict, gradients clipped at 1.0, and ``torch.autocast("cpu", dtype=torch.bfloat16)`` with
``--bfloat16``. Its loss is arlm's: cross-entropy of the MLM logits at the masked positions only, weighted by the
real slots, plus next-sentence prediction. Then it scores the batches of ``--eval`` with dropout off and prints
one JSON line: updates, seconds, parameters and masked-LM accuracy.
"""

import argparse
import json
import time

import numpy as np


def mlm_and_nsp(model, batch):
    """MLM logits at the masked positions [B, P, V] and NSP logits [B, 2] (the heads of `BertForPreTraining`)."""
    import torch

    hidden, pooled = model.bert(input_ids=batch["token_ids"], attention_mask=batch["padding_mask"],
                                token_type_ids=batch["segment_ids"], return_dict=False)[:2]
    positions = batch["mask_positions"].unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
    return model.cls.predictions(torch.gather(hidden, 1, positions)), model.cls.seq_relationship(pooled)


def losses(model, batch):
    import torch.nn.functional as F

    mlm, nsp = mlm_and_nsp(model, batch)
    weights = batch["masked_lm_weights"]
    per_slot = F.cross_entropy(mlm.float().flatten(0, 1), batch["masked_lm_ids"].flatten(), reduction="none")
    mlm_loss = (per_slot * weights.flatten()).sum() / weights.sum().clamp(min=1.0)
    return mlm_loss + F.cross_entropy(nsp.float(), batch["next_sentence_labels"])


def load(path):
    import torch

    with np.load(path) as stored:  # every read of a key decompresses the whole array: read each once
        arrays = {key: torch.from_numpy(stored[key]) for key in stored.files}
    arrays = {key: a if key == "masked_lm_weights" else a.long() for key, a in arrays.items()}
    return [{key: a[i] for key, a in arrays.items()} for i in range(len(arrays["token_ids"]))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", required=True, help=".npz of training batches [N, B, ...]")
    parser.add_argument("--eval", required=True, help=".npz of scoring batches [N, B, ...]")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--probe", type=int, default=10, help="updates timed to size the schedule")
    parser.add_argument("--bfloat16", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    import transformers

    torch.manual_seed(args.seed)
    train, scoring = load(args.batches), load(args.eval)
    config = transformers.BertConfig(
        vocab_size=args.vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=max(1, args.hidden // 64), intermediate_size=4 * args.hidden,
        max_position_embeddings=train[0]["token_ids"].shape[1])
    model = transformers.BertForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), args.learning_rate, weight_decay=0.01)
    planned = [max(args.probe + 1, 1)]  # the schedule's length, set once the probe has timed a few updates

    def rate(step):
        warmup = max(1, round(0.06 * planned[0]))
        return min((step + 1) / warmup, max(0.0, (planned[0] - step) / max(1, planned[0] - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    updates, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bfloat16):
            loss = losses(model, train[updates % len(train)])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        updates += 1
        if updates == args.probe:
            planned[0] = max(planned[0], round(args.seconds / ((time.perf_counter() - start) / updates)))
    seconds = time.perf_counter() - start
    model.eval()
    right = total = 0.0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bfloat16):
        for batch in scoring:
            mlm, _ = mlm_and_nsp(model, batch)
            weights = batch["masked_lm_weights"]
            right += float(((mlm.argmax(-1) == batch["masked_lm_ids"]).float() * weights).sum())
            total += float(weights.sum())
    print(json.dumps({"updates": updates, "planned_updates": planned[0], "seconds": seconds,
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "mlm_accuracy": right / total, "last_loss": float(loss),
                      "torch": torch.__version__, "transformers": transformers.__version__}), flush=True)


if __name__ == "__main__":
    main()
