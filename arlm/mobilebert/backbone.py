"""The MobileBERT-family backbone as a keras-hub `Backbone`: built in `__init__`, saved and loaded as a preset.

`MobileBertBackbone.from_preset(handle)` loads a saved model (a folder written by `save_to_preset`, a keras-hub
handle such as ``hf://user/model`` or ``kaggle://user/model/keras/variant``, or the name of a preset packaged with
arlm, `arlm.mobilebert.presets`); `MobileBertBackbone.from_config_name(name)` builds one of the paper's
configurations with random weights (spec 1.3-1.5).
"""

import contextlib

import keras
from keras_hub.models import Backbone

from arlm.layers import BertBlock, BottleneckBlock, PositionEmbedding, TrigramEmbedding, make_norm
from arlm.layers.activations import initializer
from arlm.mobilebert.config import CONFIG_DESCRIPTIONS, MobileBertConfig, named_config
from arlm.mobilebert.preset_methods import PresetMethods
from arlm.names import INPUT_NAMES


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertBackbone(PresetMethods, Backbone):
    """MobileBERT, IB-BERT and BERT encoders as in the official `modeling.py` (Sun et al., 2020; spec section 1).

    The family behind the paper's IBERTA teacher, MBERTA students and AraBERT baseline. Embeddings
    (factorized trigram word embedding, positions, segments, Norm, dropout), then ``num_layers`` bottleneck
    blocks (``use_bottleneck``) or plain post-LN BERT blocks, then the pooler
    $p = \\tanh(Y_L[0] W_p + b_p)$ where ``classifier_activation`` (students: none).

    Inputs: ``token_ids``, ``segment_ids``, ``padding_mask`` (1 = token, 0 = padding), each int [batch, T]
    (`arlm.names.INPUT_NAMES`). Outputs, a dict:

    * ``sequence_output`` [batch, T, H]: the last block's output;
    * ``pooled_output`` [batch, H]: only where ``classifier_activation`` (otherwise use ``sequence_output[:, 0]``);
    * ``hidden_states``: L+1 tensors [batch, T, H], the embedding output then every block's output;
    * ``attention_logits``: L tensors [batch, N, T, T], every block's scaled attention logits with padded keys
      set to -6 (the "attention maps" of attention transfer).

    Args:
        vocab_size (int): V, rows of the word embedding.
        hidden_size (int): H, the width between blocks.
        num_layers (int): L, encoder blocks.
        num_heads (int): N, attention heads (the attention width must divide by N).
        intermediate_size (int): F, the width inside each feed-forward network.
        hidden_act (str): the FFN activation, one of `arlm.names.ACTIVATIONS` (``gelu``: the tanh form).
        hidden_dropout (float): dropout on the embeddings and on each block's output.
        attention_dropout (float): dropout on the attention probabilities.
        max_position_embeddings (int): rows of the learned position table (the longest input).
        type_vocab_size (int): segment ids.
        initializer_range (float): sigma of the truncated-normal initializer of every kernel and embedding.
        embedding_size (int | None): E, the width of the word embedding table (None: H).
        trigram_input (bool): project the concatenation $[e_{t+1}; e_t; e_{t-1}]$ (3E -> H).
        use_bottleneck (bool): inverted-bottleneck blocks (MobileBERT, IB-BERT) instead of BERT blocks.
        intra_bottleneck_size (int | None): B, the width inside a bottleneck block (None: H).
        use_bottleneck_attention (bool): Q, K and V read the bottleneck's output.
        key_query_shared_bottleneck (bool): Q and K read a shared bottleneck of X, V reads X (the students).
        num_feedforward_networks (int): stacked FFNs per block (MBERTA: 4).
        normalization_type (str): one of `arlm.names.NORMALIZATION_TYPES` (students: ``no_norm``).
        classifier_activation (bool): add the tanh pooler (teachers, BERT) and the ``pooled_output``.
        remat (bool): recompute each block's activations in the backward pass (same outputs, less memory).
        dtype (str | keras.DTypePolicy | None): the dtype policy, e.g. ``"mixed_bfloat16"``.
        **kwargs: Keras' ``name`` and ``trainable``.

    `MobileBertConfig` holds the same fields (validated; spec 1.1 gives their origin).

    Example:

    >>> backbone = MobileBertBackbone.from_config_name("mberta")    # the paper's MBERTA, random weights
    >>> backbone.save_to_preset("mberta_preset")                      # config.json, model.weights.h5, ...
    >>> again = MobileBertBackbone.from_preset("mberta_preset")       # the same weights
    >>> tiny = MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=2, num_heads=2, intermediate_size=16,
    ...                           embedding_size=4, trigram_input=True, use_bottleneck=True,
    ...                           intra_bottleneck_size=4, normalization_type="no_norm")
    >>> out = tiny({"token_ids": keras.ops.ones((1, 6), "int32"), "segment_ids": keras.ops.zeros((1, 6), "int32"),
    ...             "padding_mask": keras.ops.ones((1, 6), "int32")})
    >>> out["sequence_output"].shape, len(out["hidden_states"]), out["attention_logits"][0].shape
    ((1, 6, 8), 3, (1, 2, 6, 6))
    """

    def __init__(self, vocab_size, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                 hidden_act="gelu", hidden_dropout=0.1, attention_dropout=0.1, max_position_embeddings=512,
                 type_vocab_size=2, initializer_range=0.02, embedding_size=None, trigram_input=False,
                 use_bottleneck=False, intra_bottleneck_size=None, use_bottleneck_attention=False,
                 key_query_shared_bottleneck=False, num_feedforward_networks=1, normalization_type="layer_norm",
                 classifier_activation=True, remat=False, dtype=None, **kwargs):
        config = MobileBertConfig(
            vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
            intermediate_size=intermediate_size, hidden_act=hidden_act, hidden_dropout=hidden_dropout,
            attention_dropout=attention_dropout, max_position_embeddings=max_position_embeddings,
            type_vocab_size=type_vocab_size, initializer_range=initializer_range, embedding_size=embedding_size,
            trigram_input=trigram_input, use_bottleneck=use_bottleneck, intra_bottleneck_size=intra_bottleneck_size,
            use_bottleneck_attention=use_bottleneck_attention,
            key_query_shared_bottleneck=key_query_shared_bottleneck,
            num_feedforward_networks=num_feedforward_networks, normalization_type=normalization_type,
            classifier_activation=classifier_activation, remat=remat)
        embedding_size = embedding_size or hidden_size
        intra = intra_bottleneck_size or hidden_size

        # === layers ===
        token_embedding = TrigramEmbedding(vocab_size, embedding_size, hidden_size, trigram_input,
                                           initializer_range, name="word_embeddings", dtype=dtype)
        position_embedding = PositionEmbedding(max_position_embeddings, initializer_range,
                                               name="position_embeddings", dtype=dtype)
        segment_embedding = keras.layers.Embedding(type_vocab_size, hidden_size,
                                                   embeddings_initializer=initializer(initializer_range),
                                                   name="segment_embeddings", dtype=dtype)
        embeddings_add = keras.layers.Add(name="embeddings_add", dtype=dtype)
        embeddings_norm = make_norm(normalization_type, "embeddings_norm", dtype=dtype)
        embeddings_dropout = keras.layers.Dropout(hidden_dropout, name="embeddings_dropout", dtype=dtype)
        blocks = []
        block_names = [f"transformer_layer_{i}" for i in range(num_layers)]
        # remat is fixed when a layer is created: the scope marks the blocks (not their sub-layers, which would
        # recompute twice) for recomputation in the backward pass
        remat_scope = (keras.RematScope(mode="list_of_layers", layer_names=block_names) if remat
                       else contextlib.nullcontext())
        with remat_scope:
            for name in block_names:
                if use_bottleneck:
                    block = BottleneckBlock(
                        hidden_size, intra, num_heads, intermediate_size, hidden_act, hidden_dropout,
                        attention_dropout, use_bottleneck_attention, key_query_shared_bottleneck,
                        num_feedforward_networks, normalization_type, initializer_range, name=name, dtype=dtype)
                else:
                    block = BertBlock(hidden_size, num_heads, intermediate_size, hidden_act, hidden_dropout,
                                      attention_dropout, normalization_type, initializer_range, name=name,
                                      dtype=dtype)
                blocks.append(block)
        pooler = None
        if classifier_activation:
            pooler = keras.layers.Dense(hidden_size, activation="tanh",
                                        kernel_initializer=initializer(initializer_range),
                                        name="pooled_dense", dtype=dtype)

        # === functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        words = token_embedding(token_ids)
        x = embeddings_add([words, position_embedding(words), segment_embedding(segment_ids)])
        x = embeddings_dropout(embeddings_norm(x))
        hidden_states, attention_logits = [x], []
        for block in blocks:
            x, logits = block(x, padding_mask)
            hidden_states.append(x)
            attention_logits.append(logits)
        outputs = {"sequence_output": x, "hidden_states": hidden_states, "attention_logits": attention_logits}
        if pooler is not None:
            outputs["pooled_output"] = pooler(x[:, 0, :])
        super().__init__(inputs={"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
                         outputs=outputs, dtype=dtype, **kwargs)

        # === config ===
        self.config = config
        self.token_embedding = token_embedding
        self.position_embedding = position_embedding
        self.segment_embedding = segment_embedding
        self.embeddings_norm = embeddings_norm
        self.transformer_layers = blocks
        self.pooler = pooler

    def call(self, inputs, training=None, mask=None, **kwargs):
        # Keras maps a dict with extra keys (e.g. a pretraining batch with `mask_positions`) by position, not
        # by name: keep only the backbone's inputs so `backbone(x)` is safe on any batch of this book
        if isinstance(inputs, dict):
            inputs = {key: inputs[key] for key in INPUT_NAMES}
        return super().call(inputs, training=training, mask=mask, **kwargs)

    @property
    def hidden_size(self):
        return self.config.hidden_size

    @property
    def num_layers(self):
        return self.config.num_layers

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": keras.dtype_policies.serialize(
            self.dtype_policy), **self.config.to_dict()}

    @classmethod
    def from_config_name(cls, name, **overrides):
        """One of the paper's configurations with random weights: ``iberta``, ``iberta_30k``, ``mberta``,
        ``mberta_ii`` or ``arabert_base`` (`arlm.mobilebert.config.CONFIGS`).

        Args:
            name (str): the configuration.
            **overrides: config fields to change (e.g. ``num_layers=2``), or Keras' ``dtype`` / ``name``.

        >>> MobileBertBackbone.from_config_name("mberta", num_layers=2).num_layers
        2
        """
        keras_kwargs = {key: overrides.pop(key) for key in ("dtype", "name") if key in overrides}
        return cls(**named_config(name, **overrides).to_dict(), **keras_kwargs)

    @classmethod
    def from_mobilebert_config(cls, config, **kwargs):
        """A backbone (random weights) from a `MobileBertConfig` (e.g. `config_at_scale(...)`)."""
        return cls(**config.to_dict(), **kwargs)

    # `from_preset` and `save_to_preset` come from `PresetMethods`; keras-hub's `presets` lists the packaged ones
    config_names = CONFIG_DESCRIPTIONS  # the paper's configurations (`from_config_name`), with their description
