"""The paper's Table 4: parameters, fine-tuned checkpoint size and TFLite sizes, paper vs. this book.

Two facts from spec section 2.4 explain the paper's columns:

* "Fine-tuned model size" is a TF checkpoint holding the float32 weights and Adam's two slots ``m`` and
  ``v``: 12 bytes per parameter.
* "Fine-tuned quantized model size" is exactly 4 bytes per parameter, a float32 file: the int8 weight
  quantization never took effect. A real dynamic-range int8 file is about 1 byte per parameter.

Sizes are in MiB rounded **up**, as ``du -h`` prints them (the paper's "1.6 GB" is 1,547 MiB rounded up).

>>> du_mib(checkpoint_bytes(23_680_770))
272
"""

import math

from arlm.params import PAPER_NAMES

FLOAT32_BYTES = 4
ADAM_SLOTS = 2  # m and v


def du_mib(num_bytes):
    """Bytes to MiB rounded up, like ``du -h``."""
    return math.ceil(num_bytes / 2**20)


def checkpoint_bytes(num_params, slots=ADAM_SLOTS):
    """A fine-tuned checkpoint with optimizer state: float32 weights plus `slots` float32 slots per parameter."""
    return FLOAT32_BYTES * (1 + slots) * int(num_params)


def paper_rows():
    """Table 4 with the bytes per parameter each size column implies (1 MB = 1 MiB; AraBERT's 1.6 GB = 1600)."""
    from arlm import paper

    rows = []
    for row in paper.table("table4_sizes"):
        params = row["parameters_millions"] * 1e6
        rows.append(
            {
                **row,
                "finetuned_bytes_per_param": row["finetuned_size_on_disk_mb"] * 2**20 / params,
                "quantized_bytes_per_param": row["finetuned_quantized_size_mb"] * 2**20 / params,
            }
        )
    return rows


def table4(models):
    """Paper vs. ours, one row per model.

    `models` maps a model name (a preset name such as ``mberta`` for a paper comparison, or any name) to
    ``{"parameters": int, "files": {precision: bytes}}`` and optionally ``"checkpoint_bytes"`` (a measured
    checkpoint; default 12 bytes per parameter). Paper columns are None for names not in the paper.
    """
    paper = {row["model"]: row for row in paper_rows()}
    rows = []
    for name, info in models.items():
        params = int(info["parameters"])
        ref = paper.get(PAPER_NAMES.get(name, name), {})
        row = {
            "model": name,
            "parameters_millions": round(params / 1e6, 1),
            "paper_parameters_millions": ref.get("parameters_millions"),
            "finetuned_mib": du_mib(info.get("checkpoint_bytes") or checkpoint_bytes(params)),
            "paper_finetuned_mb": ref.get("finetuned_size_on_disk_mb"),
            "float32_estimate_mib": du_mib(FLOAT32_BYTES * params),
            "paper_quantized_mb": ref.get("finetuned_quantized_size_mb"),
            "int8_estimate_mib": du_mib(params),  # about 1 byte per parameter
        }
        for precision, size in info.get("files", {}).items():
            row[f"{precision}_tflite_mib"] = round(size / 2**20, 2) if size < 2**20 * 10 else du_mib(size)
            row[f"{precision}_bytes_per_param"] = round(size / params, 2)
        rows.append(row)
    return rows


def paper_models():
    """The paper's four models at full size, ``{preset: {"parameters": count}}`` (closed form, `arlm.params`)."""
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    return {preset: {"parameters": count_parameters(named_config(preset), "classifier")} for preset in PAPER_NAMES}
