"""The book's diagrams, drawn from the code's own objects so they stay true to the presets and schedules.

* `pipeline`: the chapters as a pipeline, from the corpus to the quantized file;
* `bottleneck_block`: one encoder block of a `MobileBertConfig` with the width of every tensor;
* `transfer_schedule`: stage 2's phases, which block trains at which rate over the steps.

Each returns a matplotlib ``Figure`` sized for the book's ~700 px text column.

>>> from arlm.mobilebert.config import CONFIGS
>>> figure = bottleneck_block(CONFIGS["mberta"])  # doctest: +SKIP
"""

WIDTH = 7.0  # inches at 100 dpi: the book's text column

_STAGES = [
    ("1. Corpus", "normalise, WordPiece,\nBERT instances"),
    ("2. Teacher", "IBERTA: MLM + NSP,\nLAMB"),
    ("3. Transfer", "MBERTA block by\nblock: FMT + AT"),
    ("4. Distillation", "MLM on the teacher's\nsoft labels"),
    ("5. Fine-tuning", "8 Arabic tasks,\nTable 3"),
    ("6. Quantization", "TFLite int8,\nTable 4"),
]


def _box(ax, x, y, w, h, title, text="", color="#dbe9f6"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08", fc=color, ec="#34495e",
                                lw=1))
    ax.text(x + w / 2, y + h * (0.68 if text else 0.5), title, ha="center", va="center", fontsize=9,
            fontweight="bold")
    if text:
        ax.text(x + w / 2, y + h * 0.3, text, ha="center", va="center", fontsize=7.5)


def _arrow(ax, start, end, text=""):
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "#34495e", "lw": 1})
    if text:
        ax.text((start[0] + end[0]) / 2 + 0.05, (start[1] + end[1]) / 2, text, fontsize=7, va="center",
                color="#34495e")


def pipeline():
    """The book's chapters as one pipeline, in two rows of three, with what each hands to the next."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(WIDTH, 3.0))
    w, h = 1.65, 0.9
    handoff = ["vocab,\nTFRecords", "teacher\n.keras", "student_kt.keras", "student\n.keras", "models/\n*.keras"]
    positions = [(0.1 + 2.5 * i, 1.4) for i in range(3)] + [(0.1 + 2.5 * (2 - i), 0.1) for i in range(3)]
    for (title, text), (x, y) in zip(_STAGES, positions, strict=True):
        _box(ax, x, y, w, h, title, text, color="#fdebd0" if title.startswith(("2", "4")) else "#dbe9f6")
    for i, label in enumerate(handoff):
        (x0, y0), (x1, y1) = positions[i], positions[i + 1]
        if y0 == y1:
            left_to_right = x1 > x0
            start = (x0 + (w if left_to_right else 0), y0 + h / 2)
            end = (x1 + (0 if left_to_right else w), y1 + h / 2)
            ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "#34495e"})
            ax.text((start[0] + end[0]) / 2, y0 + h / 2 + 0.08, label, ha="center", va="bottom", fontsize=6.5,
                    color="#34495e")
        else:
            _arrow(ax, (x0 + w / 2, y0), (x1 + w / 2, y1 + h), label)
    ax.text(6.9 / 2, 2.5, "every chapter writes results.json; 7. Results sets them beside the paper's tables",
            ha="center", fontsize=8, style="italic")
    ax.set(xlim=(0, 6.9), ylim=(0, 2.7))
    ax.axis("off")
    fig.tight_layout()
    return fig


def bottleneck_block(config, length="T"):
    """One encoder block of ``config`` (a `MobileBertConfig`), bottom to top, with each tensor's width.

    With ``use_bottleneck`` the block narrows the inter-block width H to B for attention and the FFNs and widens
    it back; students (``key_query_shared_bottleneck``) feed Q and K from the bottlenecked input and V from the
    block input, as the official code does.
    """
    import matplotlib.pyplot as plt

    h = config.hidden_size
    b = (config.intra_bottleneck_size or h) if config.use_bottleneck else h
    f, n = config.intermediate_size, config.num_feedforward_networks
    norm = "NoNorm" if config.normalization_type == "no_norm" else "LayerNorm"
    act = {"gelu": "GELU", "relu": "ReLU"}.get(config.hidden_act, config.hidden_act)
    rows = [("block input X", f"[{length}, {h}]")]
    if config.use_bottleneck:
        rows.append(("input bottleneck", f"Dense {h}→{b} + {norm}"))
    heads = config.num_heads
    qk = (f"Q, K: shared {b}-wide bottleneck, V: X ({h})" if config.key_query_shared_bottleneck
          else f"Q, K, V: {b} wide")
    rows.append((f"self-attention, {heads} heads", f"{qk}; masked logits −6"))
    rows.append(("attention output", f"Dense {b}→{b} + residual + {norm}"))
    rows.append((f"FFN × {n}" if n > 1 else "FFN", f"{b}→{f} {act}→{b} + residual + {norm}"))
    if config.use_bottleneck:
        rows.append(("output bottleneck", f"Dense {b}→{h} + residual X + {norm}"))
    rows.append(("block output Y", f"[{length}, {h}]"))
    fig, ax = plt.subplots(figsize=(WIDTH * 0.75, 0.62 * len(rows) + 0.4))
    for i, (title, text) in enumerate(rows):
        y = i * 0.62
        color = "#eaf5ea" if i in (0, len(rows) - 1) else "#dbe9f6"
        _box(ax, 0.2, y, 4.4, 0.46, title, text, color=color)
        if i:
            _arrow(ax, (2.4, y - 0.16), (2.4, y))
    ax.set(xlim=(0, 4.8), ylim=(-0.1, 0.62 * len(rows)))
    ax.axis("off")
    ax.set_title(f"one block: H = {h}, B = {b}, F = {f}, {config.num_layers} blocks", fontsize=9)
    fig.tight_layout()
    return fig


def transfer_schedule(num_layers, steps_per_layer):
    """Stage 2 as a chart of blocks over steps: the block in its phase learns at rate 1, finished blocks at 0.1,
    blocks still to come not at all (`arlm.distillation.schedules`)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from arlm.distillation.schedules import CURRENT_LAYER_FACTOR, FINISHED_LAYER_FACTOR

    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * num_layers + 1.5), layout="constrained")
    colors = {CURRENT_LAYER_FACTOR: "#2e86c1", FINISHED_LAYER_FACTOR: "#aed6f1"}
    for layer in range(num_layers):
        start = layer * steps_per_layer
        ax.broken_barh([(start, steps_per_layer)], (layer - 0.4, 0.8), color=colors[CURRENT_LAYER_FACTOR])
        end = num_layers * steps_per_layer
        if start + steps_per_layer < end:
            ax.broken_barh([(start + steps_per_layer, end - start - steps_per_layer)], (layer - 0.4, 0.8),
                           color=colors[FINISHED_LAYER_FACTOR])
    ax.set(xlim=(0, num_layers * steps_per_layer), ylim=(num_layers - 0.5, -0.5), xlabel="step",
           ylabel="block", title=f"stage 2: {num_layers} phases of {steps_per_layer:,} steps")
    ax.set_yticks(range(num_layers))
    # below the axes, where the layout keeps it clear of the axis label
    fig.legend(handles=[Patch(color=colors[CURRENT_LAYER_FACTOR], label="its phase: rate 3·bg(t)"),
                        Patch(color=colors[FINISHED_LAYER_FACTOR], label="finished: 0.1 of that"),
                        Patch(color="white", ec="grey", label="not started: frozen")],
               fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    return fig
