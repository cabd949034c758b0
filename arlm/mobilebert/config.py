"""Architecture configurations: a dataclass with the official `BertConfig` fields, and the paper's models.

Field names follow `google-research/google-research:mobilebert/modeling.py` (spec 1.1), except
``num_layers`` (``num_hidden_layers``), ``num_heads`` (``num_attention_heads``), ``hidden_dropout``
(``hidden_dropout_prob``) and ``attention_dropout`` (``attention_probs_dropout_prob``).

`CONFIGS` holds the configurations the authors actually ran (spec 1.2), by name: ``iberta`` (teacher, 50K
vocabulary; the ignored ``bottleneck_size`` key means B = H = 256), ``iberta_30k`` (the 30K-vocabulary teacher of
Figure 1, H = B = 512), ``mberta`` (4 stacked FFNs), ``mberta_ii`` (1 FFN) and ``arabert_base`` (BERT-base,
V = 64000).

They are architectures (random weights once built: `MobileBertBackbone.from_config_name`), not the saved
presets that ``from_preset`` loads (`arlm.mobilebert.presets`), nor the scales of `arlm.scales`, which
`config_at_scale` applies to them.

>>> CONFIGS["mberta"].intra_bottleneck_size
128
>>> config_at_scale("iberta", arlm.scales.resolve("tiny")).hidden_size  # doctest: +SKIP
64
"""

import dataclasses

from arlm.errors import ParameterError
from arlm.names import ACTIVATIONS, NORMALIZATION_TYPES

# plain data, no Keras: the closed-form parameter counts (`arlm.params`) read only these fields

# the full-scale width and depth that a scale's `hidden_size` / `num_layers` stand for (IBERTA's)
REFERENCE_HIDDEN_SIZE = 256
REFERENCE_NUM_LAYERS = 24
REFERENCE_VOCAB_SIZE = 50_000


@dataclasses.dataclass(frozen=True)
class MobileBertConfig:
    """Every architecture field of the official `BertConfig` (spec 1.1), validated; ``None`` sizes default to H.

    Frozen: `replace` returns a changed copy (unknown fields are a `ParameterError` listing the valid ones),
    `to_dict` the constructor arguments of `MobileBertBackbone`.

    Args:
        vocab_size (int): V, rows of the word embedding.
        hidden_size (int): H, the width between blocks.
        num_layers (int): L, encoder blocks.
        num_heads (int): N, attention heads (the attention width must divide by N).
        intermediate_size (int): F, each FFN's inner width.
        hidden_act (str): one of `arlm.names.ACTIVATIONS` (``gelu``: the tanh form).
        hidden_dropout (float): the official ``hidden_dropout_prob`` (embeddings and block outputs).
        attention_dropout (float): the official ``attention_probs_dropout_prob``.
        max_position_embeddings (int): rows of the position table (the longest input).
        type_vocab_size (int): rows of the segment table.
        initializer_range (float): sigma of every truncated-normal initializer (heads included).
        embedding_size (int | None): E, the word embedding width (None: H).
        trigram_input (bool): the trigram projection 3E -> H.
        use_bottleneck (bool): inverted-bottleneck blocks (MobileBERT, IB-BERT) instead of BERT blocks.
        intra_bottleneck_size (int | None): B, the width inside a bottleneck block (None: H).
        use_bottleneck_attention (bool): Q, K and V read the bottleneck's output.
        key_query_shared_bottleneck (bool): Q and K read a shared bottleneck of X, V reads X (the students).
        num_feedforward_networks (int): stacked FFNs per block.
        normalization_type (str): one of `arlm.names.NORMALIZATION_TYPES`.
        classifier_activation (bool): the tanh pooler.
        remat (bool): recompute block activations in the backward pass (memory, not architecture).

    >>> config = named_config("mberta")                                    # the paper's MBERTA
    >>> config.intra_bottleneck_size, config.attention_width
    (128, 128)
    >>> MobileBertConfig(vocab_size=10, hidden_size=8, num_layers=2, num_heads=2, intermediate_size=16).hidden_act
    'gelu'
    """

    vocab_size: int
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    embedding_size: int | None = None
    trigram_input: bool = False
    use_bottleneck: bool = False
    intra_bottleneck_size: int | None = None
    use_bottleneck_attention: bool = False
    key_query_shared_bottleneck: bool = False
    num_feedforward_networks: int = 1
    normalization_type: str = "layer_norm"
    classifier_activation: bool = True
    # not architecture but memory: recompute each block's activations in the backward pass instead of keeping
    # them (`keras.RematScope`); the outputs, gradients and weights are unchanged, a train step costs ~1/3 more
    remat: bool = False

    def __post_init__(self):
        positive = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                    "max_position_embeddings", "type_vocab_size", "num_feedforward_networks")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"MobileBertConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if self.hidden_act not in ACTIVATIONS:
            raise ParameterError(f"MobileBertConfig.hidden_act must be one of {ACTIVATIONS}, got {self.hidden_act!r}")
        if self.normalization_type not in NORMALIZATION_TYPES:
            raise ParameterError(f"MobileBertConfig.normalization_type must be one of {NORMALIZATION_TYPES}, "
                                 f"got {self.normalization_type!r}")
        width = self.attention_width
        if width % self.num_heads:
            raise ParameterError(f"MobileBertConfig: the attention width {width} (intra_bottleneck_size if "
                                 f"use_bottleneck else hidden_size) must be divisible by num_heads={self.num_heads}")

    @property
    def attention_width(self):
        """Width of Q, K, V and the context: B with the bottleneck, else H."""
        return (self.intra_bottleneck_size or self.hidden_size) if self.use_bottleneck else self.hidden_size

    def replace(self, **changes):
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"unknown MobileBertConfig field(s) {unknown}; valid fields are: "
                                 f"{', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


_TEACHER = dict(num_layers=24, num_heads=4, intermediate_size=4096, hidden_act="gelu", hidden_dropout=0.1,
                attention_dropout=0.1, embedding_size=128, trigram_input=True, use_bottleneck=True,
                normalization_type="layer_norm", classifier_activation=True)
_STUDENT = dict(num_layers=24, num_heads=4, intermediate_size=512, hidden_act="relu", hidden_dropout=0.0,
                attention_dropout=0.1, embedding_size=128, trigram_input=True, use_bottleneck=True,
                intra_bottleneck_size=128, key_query_shared_bottleneck=True, normalization_type="no_norm",
                classifier_activation=False)

CONFIGS = {
    # `ibert-small-50K.json` as run: the ignored "bottleneck_size": 1024 leaves B = H (spec finding 2)
    "iberta": MobileBertConfig(vocab_size=50_000, hidden_size=256, intra_bottleneck_size=256, **_TEACHER),
    # `ibert.json`: the 30K-vocabulary teacher of Figure 1 (H = B = 512; 155,073,330 with pretraining heads)
    "iberta_30k": MobileBertConfig(vocab_size=30_000, hidden_size=512, intra_bottleneck_size=512, **_TEACHER),
    # `mobilebert.json`@e12b4a6 and `mobilebert-1f.json`
    "mberta": MobileBertConfig(vocab_size=50_000, hidden_size=256, num_feedforward_networks=4, **_STUDENT),
    "mberta_ii": MobileBertConfig(vocab_size=50_000, hidden_size=256, num_feedforward_networks=1, **_STUDENT),
    # `arabert.json`: BERT-base with a 64K vocabulary
    "arabert_base": MobileBertConfig(vocab_size=64_000),
}

CONFIG_DESCRIPTIONS = {
    "iberta": "IBERTA teacher: IB-BERT, 24 layers, H=B=256, F=4096, 4 heads, 50K vocabulary (Table 4: 66.7M)",
    "iberta_30k": "IBERTA with the 30K vocabulary (Figure 1): H=B=512, F=4096, 24 layers, 4 heads",
    "mberta": "MBERTA student: MobileBERT, H=256, B=128, 4 FFNs of 512, NoNorm, ReLU (Table 4: 23.7M)",
    "mberta_ii": "MBERTA II student: as MBERTA with 1 FFN (Table 4: 14.2M)",
    "arabert_base": "AraBERT v0.1 baseline: BERT-base, 12 layers, H=768, 64K vocabulary (Table 4: 135.2M)",
}

# which vocabulary of the book each configuration uses at a scale: the scale key and the ratio to it
_VOCAB = {"iberta": ("vocab_size", 1.0), "iberta_30k": ("vocab_size_small", 1.0), "mberta": ("vocab_size", 1.0),
          "mberta_ii": ("vocab_size", 1.0), "arabert_base": ("vocab_size", 64_000 / 50_000)}


def named_config(name, **overrides):
    """The paper's configuration `name` with `overrides` applied; an unknown name lists the valid ones."""
    if name not in CONFIGS:
        raise ParameterError(f"unknown configuration {name!r}; configurations are: {', '.join(CONFIGS)}")
    return CONFIGS[name].replace(**overrides) if overrides else CONFIGS[name]


def config_at_scale(name, cfg, **overrides):
    """The paper's configuration `name` shrunk to a scale, keeping its proportions.

    Widths (H, B, E, F) scale by ``cfg.hidden_size / 256`` and depth by ``cfg.num_layers / 24`` (IBERTA's
    full size), so every configuration keeps its ratios to IBERTA (MBERTA: B = H/2, F = 2H; the 30K teacher: H = B =
    ``cfg.figure1_width_ratio`` times IBERTA's, 2 in the paper). The head count and the 512 positions stay; the
    vocabulary is the scale's (``vocab_size``, or ``vocab_size_small`` for ``iberta_30k``), and so is ``remat``
    (the scale key: recompute block activations in the backward pass). At ``full`` scale this returns the
    paper's configuration unchanged.
    """
    base = named_config(name)
    width = cfg.hidden_size / REFERENCE_HIDDEN_SIZE
    depth = cfg.num_layers / REFERENCE_NUM_LAYERS

    def scaled(value, factor):
        return None if value is None else max(1, round(value * factor))

    vocab_key, vocab_ratio = _VOCAB[name]
    changes = dict(
        vocab_size=round(getattr(cfg, vocab_key) * vocab_ratio),
        hidden_size=scaled(base.hidden_size, width),
        intermediate_size=scaled(base.intermediate_size, width),
        embedding_size=scaled(base.embedding_size, width),
        intra_bottleneck_size=scaled(base.intra_bottleneck_size, width),
        num_layers=scaled(base.num_layers, depth),
        remat=cfg.remat,
    )
    if name == "iberta_30k":
        # the Figure 1 twin: H = B = `figure1_width_ratio` x IBERTA's (the paper's 512 = 2 x 256); below `gpu`
        # the scales use 1, the same shape as IBERTA, so Figure 1 fits their budget and isolates the vocabulary
        twin = round(named_config("iberta").hidden_size * width * cfg.figure1_width_ratio)
        changes.update(hidden_size=twin, intra_bottleneck_size=twin)
    return base.replace(**{**changes, **overrides})
