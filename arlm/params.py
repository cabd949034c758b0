"""Parameter counts in closed form (spec 2.1) and the paper-vs-ours table (Table 4's first column).

The closed form counts exactly what `MobileBertBackbone` and its heads create (the tests check it against
``count_params()``), so the table needs neither TensorFlow nor a 135M-parameter model in memory.

>>> count_parameters(arlm.mobilebert.named_config("mberta"), heads="classifier")  # doctest: +SKIP
23680770
"""

from arlm.errors import ParameterError

# preset -> its row in the paper's Table 4 (`arlm.paper.table("table4_sizes")`)
PAPER_NAMES = {"arabert_base": "AraBERT", "iberta": "IBERTA", "mberta": "MBERTA", "mberta_ii": "MBERTA_II"}
# the authors' log `zaidalyafeai/mobilebert:logs_ibert.txt` (30K teacher with pretraining heads; spec finding 2)
LOGGED_30K_TEACHER = 155_073_330
HEADS = ("backbone", "classifier", "pretraining")


def count_parameters(config, heads="classifier", num_classes=2):
    """Parameters of ``config`` (a `MobileBertConfig`) with ``heads``: ``backbone`` (+ pooler where configured),
    ``classifier`` (+ a ``num_classes`` dense layer) or ``pretraining`` (+ MLM and NSP heads)."""
    if heads not in HEADS:
        raise ParameterError(f"heads must be one of {', '.join(HEADS)}, got {heads!r}")
    c = config
    v, h, f, n = c.vocab_size, c.hidden_size, c.intermediate_size, c.num_feedforward_networks
    e = c.embedding_size or h
    b = c.intra_bottleneck_size or h
    norm = 2  # LayerNorm and NoNorm both have gamma and beta
    total = v * e + (c.max_position_embeddings + c.type_vocab_size) * h + norm * h
    if c.trigram_input or e != h:
        total += (3 if c.trigram_input else 1) * e * h + h
    if c.use_bottleneck:
        q_in, v_in = (b, b) if c.use_bottleneck_attention else (b, h) if c.key_query_shared_bottleneck else (h, h)
        block = h * b + b + norm * b  # input bottleneck
        if c.key_query_shared_bottleneck and not c.use_bottleneck_attention:
            block += h * b + b + norm * b
        block += 2 * (q_in * b + b) + (v_in * b + b)
        block += b * b + b + norm * b  # attention output
        block += n * (2 * b * f + f + b + norm * b)
        block += b * h + h + norm * h  # output bottleneck
    else:
        block = 4 * h * h + 4 * h + 2 * h * f + f + h + 2 * norm * h
    total += c.num_layers * block
    if c.classifier_activation:
        total += h * h + h
    if heads == "classifier":
        total += num_classes * h + num_classes
    elif heads == "pretraining":
        total += h * h + h + 2 * h + v + v * (h - e) + 2 * h + 2
    return total


def parameter_table():
    """Rows ``{"model", "preset", "graph", "paper_millions", "ours", "ours_millions", "residual_millions"}``.

    The paper's four models are counted as Table 4 counts them (backbone, pooler where configured, 2-class
    classifier); the 30K teacher of Figure 1 with its pretraining heads is compared with the authors' log.
    """
    from arlm import paper
    from arlm.mobilebert.config import named_config

    paper_rows = {row["model"]: row["parameters_millions"] for row in paper.table("table4_sizes")}
    rows = []
    for preset, model in PAPER_NAMES.items():
        ours = count_parameters(named_config(preset), "classifier")
        reference = paper_rows[model]
        rows.append({"model": model, "preset": preset, "graph": "backbone + pooler + 2-class classifier",
                     "paper_millions": reference, "ours": ours, "ours_millions": round(ours / 1e6, 3),
                     "residual_millions": round(ours / 1e6 - reference, 3)})
    ours = count_parameters(named_config("iberta_30k"), "pretraining")
    rows.append({"model": "IBERTA 30K (Figure 1)", "preset": "iberta_30k", "graph": "backbone + pooler + MLM/NSP heads",
                 "paper_millions": LOGGED_30K_TEACHER / 1e6, "ours": ours, "ours_millions": round(ours / 1e6, 3),
                 "residual_millions": round((ours - LOGGED_30K_TEACHER) / 1e6, 3)})
    return rows


def format_table(rows):
    """A plain-text table of `parameter_table()` rows."""
    header = f"{'model':<24}{'paper (M)':>11}{'ours':>14}{'ours (M)':>11}{'residual (M)':>14}  graph"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:<24}{r['paper_millions']:>11.3f}{r['ours']:>14,}{r['ours_millions']:>11.3f}"
                     f"{r['residual_millions']:>14.3f}  {r['graph']}")
    return "\n".join(lines)
