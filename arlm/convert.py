"""MobileBERT weights to and from `transformers` checkpoints and the official TF1 checkpoints.

* `to_transformers(model, folder, tokenizer)`: an arlm backbone (or pretraining model, with its MLM and NSP heads,
  or text classifier, with its head) as a `transformers` MobileBERT folder, ``config.json`` + ``model.safetensors``,
  that ``transformers.AutoModel`` / ``MobileBertForPreTraining`` / ``AutoModelForSequenceClassification`` load,
  and with a vocabulary (the model's own tokenizer, or `tokenizer`) its tokenizer for ``transformers.AutoTokenizer``:
  ``tokenizer.json`` (`arlm.hf_tokenizer`: the book's normalization as `tokenizers` normalizers), ``vocab.txt``
  and ``tokenizer_config.json`` (`write_tokenizer`);
* `from_transformers(folder)`: such a folder (written by `transformers` or by `to_transformers`) as an arlm
  `MobileBertBackbone`, a `MobileBertPretrainer` when the folder holds the ``cls.*`` heads, or a
  `MobileBertTextClassifier` when it holds a ``classifier.*`` head; `read_tokenizer` takes the tokenizer back
  when it is arlm's (the classifier gets it as its preprocessor);
* `from_tf1_checkpoint(checkpoint, config_file)`: a checkpoint of the official
  `google-research/mobilebert` code (variable names ``bert/encoder/layer_0/...``, read with
  ``tf.train.load_checkpoint``) and its ``bert_config.json``, as an arlm model.

One table (`weight_map`) pairs every arlm variable with its `transformers` key and its TF1 name, so the three
formats cannot drift apart; every variable of the model must appear in it, and every key is checked for shape.

Measured differences between the three implementations of the same equations (they decide which outputs
match after a conversion):

* GELU: the official code and arlm use the tanh form, $0.5x(1+\\tanh(\\sqrt{2/\\pi}(x+0.044715x^3)))$, which
  `transformers` calls ``gelu_new``; its ``gelu`` is the erf form. arlm's ``hidden_act="gelu"`` is written as
  ``"gelu_new"``, and a `transformers` ``"gelu"`` is refused (arlm has no erf GELU).
* LayerNorm epsilon: the official value is 1e-12 everywhere (arlm's ``layer_norm``). Two of `transformers`'
  LayerNorms ignore ``layer_norm_eps`` and use PyTorch's default 1e-5: the embeddings norm and the norm after
  the last FFN of each block (``MobileBertOutput.LayerNorm``). With ``normalization_type="no_norm"`` (the
  MBERTA students) there is no epsilon and the outputs match to float rounding (about 1e-7); with
  ``layer_norm`` (IBERTA, AraBERT) they differ by the epsilon's effect, largest where activations are small: up
  to 8e-4 on the tiny random IBERTA of ``tests/test_convert.py``, and under 1e-6 once those two norms use 1e-12.
* Padding: the official code and arlm set a padded key's attention logit to -6 (a padded key keeps about
  $e^{-6}$ of relative mass); `transformers` adds the float minimum (no mass). Outputs match only without
  padding.

What `transformers`' MobileBERT cannot express is refused with an `ArlmError` naming the field:
``normalization_type="manual_layer_norm"``, a bottleneck whose attention reads the H-wide input with
``intra_bottleneck_size != hidden_size`` (neither ``use_bottleneck_attention`` nor
``key_query_shared_bottleneck``), and, going the other way, what arlm cannot express (erf GELU, a
``layer_norm_eps`` other than 1e-12, several FFNs without a bottleneck, untied MLM output weights).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from arlm.errors import ArlmError, ArtifactError, ParameterError
from arlm.mobilebert.config import MobileBertConfig
from arlm.tokenizer import PAD_ID

LAYER_NORM_EPS = 1e-12  # the official (and arlm's `layer_norm`) epsilon
TO_HF_ACTIVATION = {"gelu": "gelu_new", "relu": "relu", "relu6": "relu6", "tanh": "tanh", "linear": "linear"}
# transformers' `gelu_new` and `gelu_pytorch_tanh` are both the tanh form, arlm's `gelu`
FROM_HF_ACTIVATION = {**{v: k for k, v in TO_HF_ACTIVATION.items()}, "gelu_pytorch_tanh": "gelu"}
HF_FILES = ("config.json", "model.safetensors")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")
HEADS = ("cls.", "classifier.")  # the keys of a head sit beside the ``mobilebert.`` prefix of the encoder's

# `transformers.MobileBertConfig`'s defaults, for a config.json that leaves a field out
_HF_DEFAULTS = dict(vocab_size=30522, hidden_size=512, num_hidden_layers=24, num_attention_heads=4,
                    intermediate_size=512, hidden_act="relu", hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
                    initializer_range=0.02, layer_norm_eps=1e-12, embedding_size=128, trigram_input=True,
                    use_bottleneck=True, intra_bottleneck_size=128, use_bottleneck_attention=False,
                    key_query_shared_bottleneck=True, num_feedforward_networks=4, normalization_type="no_norm",
                    classifier_activation=True, tie_word_embeddings=True)
# the official `BertConfig`'s defaults (google-research mobilebert/modeling.py)
_OFFICIAL_DEFAULTS = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                          hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                          max_position_embeddings=512, type_vocab_size=16, initializer_range=0.02,
                          embedding_size=None, trigram_input=False, use_bottleneck=False, intra_bottleneck_size=None,
                          use_bottleneck_attention=False, key_query_shared_bottleneck=False,
                          num_feedforward_networks=1, normalization_type="layer_norm", classifier_activation=True)
# official / transformers field names that arlm renames (`arlm.mobilebert.config`)
_RENAMED = {"num_hidden_layers": "num_layers", "num_attention_heads": "num_heads",
            "hidden_dropout_prob": "hidden_dropout", "attention_probs_dropout_prob": "attention_dropout"}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One arlm variable and where it lives in the other formats.

    Args:
        variable (keras.Variable): the arlm variable.
        hf_key (str): its `transformers` state-dict key (without the ``mobilebert.`` prefix).
        tf1_name (str): its official TF1 checkpoint name.
        hf_transpose (bool): `transformers` stores it transposed (a ``nn.Linear`` weight is [out, in]).
        tf1_transpose (bool): the TF1 checkpoint stores it transposed (``cls/seq_relationship/output_weights``).
    """

    variable: object
    hf_key: str
    tf1_name: str
    hf_transpose: bool = False
    tf1_transpose: bool = False


def _dense(layer, hf, tf1):
    return [Entry(layer.kernel, f"{hf}.weight", f"{tf1}/kernel", hf_transpose=True),
            Entry(layer.bias, f"{hf}.bias", f"{tf1}/bias")]


def _norm(layer, hf, tf1):
    return [Entry(layer.gamma, f"{hf}.weight", f"{tf1}/gamma"), Entry(layer.beta, f"{hf}.bias", f"{tf1}/beta")]


def weight_map(backbone, pretrainer=None, classifier=None):
    """Every variable of `backbone` (and of `pretrainer`'s MLM and NSP heads, or of `classifier`'s head) as an `Entry`.

    Args:
        backbone (arlm.mobilebert.MobileBertBackbone): the encoder.
        pretrainer (arlm.mobilebert.MobileBertPretrainer | None): adds the ``cls.*`` / ``cls/...`` heads.
        classifier (arlm.mobilebert.MobileBertTextClassifier | None): adds ``classifier.*`` (`transformers`'
            sequence classifier) / ``output_weights`` and ``output_bias`` (the official ``run_classifier.py``).

    Returns a list of `Entry`, in the order of the official code.
    """
    config = backbone.config
    norm = "FakeLayerNorm" if config.normalization_type == "no_norm" else "LayerNorm"  # the official scope names
    word = backbone.token_embedding
    entries = [
        Entry(word.token_embedding.embeddings, "embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings"),
        Entry(backbone.position_embedding.embeddings, "embeddings.position_embeddings.weight",
              "bert/embeddings/position_embeddings"),
        Entry(backbone.segment_embedding.embeddings, "embeddings.token_type_embeddings.weight",
              "bert/embeddings/token_type_embeddings"),
    ]
    if word.projection is not None:
        entries += _dense(word.projection, "embeddings.embedding_transformation",
                          "bert/embeddings/embedding_transformation")
    entries += _norm(backbone.embeddings_norm, "embeddings.LayerNorm", f"bert/embeddings/{norm}")
    for i, block in enumerate(backbone.transformer_layers):
        hf, tf1 = f"encoder.layer.{i}", f"bert/encoder/layer_{i}"
        if config.use_bottleneck:
            entries += _dense(block.input_bottleneck, f"{hf}.bottleneck.input.dense", f"{tf1}/bottleneck/input/dense")
            entries += _norm(block.input_bottleneck_norm, f"{hf}.bottleneck.input.LayerNorm",
                             f"{tf1}/bottleneck/input/{norm}")
            if block.shared_bottleneck is not None:
                entries += _dense(block.shared_bottleneck, f"{hf}.bottleneck.attention.dense",
                                  f"{tf1}/bottleneck/attention/dense")
                entries += _norm(block.shared_bottleneck_norm, f"{hf}.bottleneck.attention.LayerNorm",
                                 f"{tf1}/bottleneck/attention/{norm}")
        for name in ("query", "key", "value"):
            entries += _dense(getattr(block.attention, f"{name}_dense"), f"{hf}.attention.self.{name}",
                              f"{tf1}/attention/self/{name}")
        entries += _dense(block.attention_output, f"{hf}.attention.output.dense", f"{tf1}/attention/output/dense")
        entries += _norm(block.attention_norm, f"{hf}.attention.output.LayerNorm", f"{tf1}/attention/output/{norm}")
        if config.use_bottleneck:
            ffns = list(zip(block.ffn_intermediate, block.ffn_output, block.ffn_norm, strict=True))
        else:
            ffns = [(block.ffn_intermediate, block.ffn_output, block.ffn_norm)]
        # the first n - 1 FFNs are `ffn.k` (`ffn_layer_k`); the last one is the block's own intermediate/output
        for k, (intermediate, output, ffn_norm) in enumerate(ffns):
            last = k == len(ffns) - 1
            hf_ffn, tf1_ffn = (hf, tf1) if last else (f"{hf}.ffn.{k}", f"{tf1}/ffn_layer_{k}")
            entries += _dense(intermediate, f"{hf_ffn}.intermediate.dense", f"{tf1_ffn}/intermediate/dense")
            entries += _dense(output, f"{hf_ffn}.output.dense", f"{tf1_ffn}/output/dense")
            entries += _norm(ffn_norm, f"{hf_ffn}.output.LayerNorm", f"{tf1_ffn}/output/{norm}")
        if config.use_bottleneck:
            entries += _dense(block.output_bottleneck, f"{hf}.output.bottleneck.dense",
                              f"{tf1}/output/bottleneck/dense")
            entries += _norm(block.output_norm, f"{hf}.output.bottleneck.LayerNorm", f"{tf1}/output/bottleneck/{norm}")
    if backbone.pooler is not None:
        entries += _dense(backbone.pooler, "pooler.dense", "bert/pooler/dense")
    if pretrainer is not None:
        mlm = pretrainer.mlm_head
        entries += _dense(mlm.transform, "cls.predictions.transform.dense", "cls/predictions/transform/dense")
        entries += _norm(mlm.transform_norm, "cls.predictions.transform.LayerNorm",
                         "cls/predictions/transform/LayerNorm")  # a real LayerNorm even in NoNorm students
        entries.append(Entry(mlm.output_bias, "cls.predictions.bias", "cls/predictions/output_bias"))
        if mlm.extra_output_weights is not None:  # [V, H - E] in arlm and TF1, a Linear(V, H - E) weight in torch
            entries.append(Entry(mlm.extra_output_weights, "cls.predictions.dense.weight",
                                 "cls/predictions/extra_output_weights", hf_transpose=True))
        entries.append(Entry(pretrainer.nsp_head.kernel, "cls.seq_relationship.weight",
                             "cls/seq_relationship/output_weights", hf_transpose=True, tf1_transpose=True))
        entries.append(Entry(pretrainer.nsp_head.bias, "cls.seq_relationship.bias", "cls/seq_relationship/output_bias"))
    if classifier is not None:
        dense = classifier.output_dense
        entries += [Entry(dense.kernel, "classifier.weight", "output_weights", hf_transpose=True, tf1_transpose=True),
                    Entry(dense.bias, "classifier.bias", "output_bias")]
    return entries


# === configs ===

def check_expressible(config):
    """Refuse (`ParameterError` naming the field) an arlm config that `transformers`' MobileBERT cannot run.

    Args:
        config (arlm.mobilebert.MobileBertConfig): the config to check.
    """
    if config.normalization_type not in ("layer_norm", "no_norm"):
        raise ParameterError(f"normalization_type={config.normalization_type!r}: transformers' MobileBERT has only "
                             "'layer_norm' and 'no_norm' (its NORM2FN)")
    intra = config.intra_bottleneck_size or config.hidden_size
    if (config.use_bottleneck and not config.use_bottleneck_attention and not config.key_query_shared_bottleneck
            and intra != config.hidden_size):
        raise ParameterError(f"intra_bottleneck_size={intra} with hidden_size={config.hidden_size}: without "
                             "use_bottleneck_attention or key_query_shared_bottleneck, transformers' query and key "
                             "layers read the H-wide input with B-wide weights (they must be equal)")


def transformers_config(config, heads=False, num_labels=None):
    """The ``config.json`` of `transformers`' MobileBERT for an arlm config.

    Args:
        config (arlm.mobilebert.MobileBertConfig): the arlm config (`check_expressible` is applied).
        heads (bool): the checkpoint holds the pretraining heads (``MobileBertForPreTraining``).
        num_labels (int | None): the checkpoint holds a classifier of that many labels
            (``MobileBertForSequenceClassification``).

    Returns a JSON-ready dict.
    """
    check_expressible(config)
    bottleneck_attention = config.use_bottleneck and config.use_bottleneck_attention
    architecture = ("MobileBertForPreTraining" if heads else "MobileBertForSequenceClassification" if num_labels
                    else "MobileBertModel")
    labels = {} if not num_labels else {"id2label": {str(i): f"LABEL_{i}" for i in range(num_labels)},
                                        "label2id": {f"LABEL_{i}": i for i in range(num_labels)}}
    return {
        "architectures": [architecture], **labels,
        "model_type": "mobilebert",
        "vocab_size": config.vocab_size, "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers, "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size, "hidden_act": TO_HF_ACTIVATION[config.hidden_act],
        "hidden_dropout_prob": config.hidden_dropout, "attention_probs_dropout_prob": config.attention_dropout,
        "max_position_embeddings": config.max_position_embeddings, "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range, "layer_norm_eps": LAYER_NORM_EPS, "pad_token_id": PAD_ID,
        "embedding_size": config.embedding_size or config.hidden_size, "trigram_input": config.trigram_input,
        "use_bottleneck": config.use_bottleneck,
        "intra_bottleneck_size": config.intra_bottleneck_size or config.hidden_size,
        "use_bottleneck_attention": config.use_bottleneck_attention,
        # with bottleneck attention both arlm and the official code ignore the shared bottleneck: say so
        "key_query_shared_bottleneck": config.key_query_shared_bottleneck and not bottleneck_attention,
        # without a bottleneck arlm's BERT block has one FFN whatever the field says
        "num_feedforward_networks": config.num_feedforward_networks if config.use_bottleneck else 1,
        "normalization_type": config.normalization_type,
        "classifier_activation": config.classifier_activation,
        "tie_word_embeddings": True,
    }


def config_from_transformers(hf, where, heads=False):
    """An arlm `MobileBertConfig` from a `transformers` ``config.json`` dict; an `ArtifactError` naming `where`
    and the field for what arlm (or `transformers` itself) cannot run.

    Args:
        hf (dict): the parsed ``config.json``.
        where (str | os.PathLike): the file, named in errors.
        heads (bool): the pretraining heads are converted too (their LayerNorm reads ``layer_norm_eps``).
    """
    if hf.get("model_type") != "mobilebert":
        raise ArtifactError(f"{where}: model_type is {hf.get('model_type')!r}; expected 'mobilebert'")
    hf = {**_HF_DEFAULTS, **hf}
    act = hf["hidden_act"]
    if not isinstance(act, str) or act not in FROM_HF_ACTIVATION:
        why = (" (transformers' 'gelu' is the erf form; arlm's and the official GELU is the tanh form, "
               "transformers' 'gelu_new')" if act == "gelu" else "")
        raise ArtifactError(f"{where}: hidden_act {act!r} has no arlm equivalent{why}; arlm takes "
                            f"{', '.join(sorted(FROM_HF_ACTIVATION))}")
    if hf["normalization_type"] not in ("layer_norm", "no_norm"):
        raise ArtifactError(f"{where}: normalization_type {hf['normalization_type']!r}; expected layer_norm or no_norm")
    if ((hf["normalization_type"] == "layer_norm" or heads)
            and not np.isclose(float(hf["layer_norm_eps"]), LAYER_NORM_EPS, rtol=1e-6, atol=0)):
        raise ArtifactError(f"{where}: layer_norm_eps {hf['layer_norm_eps']}; arlm's LayerNorm uses "
                            f"{LAYER_NORM_EPS} (the official value)")
    if not hf["use_bottleneck"] and int(hf["num_feedforward_networks"]) != 1:
        raise ArtifactError(f"{where}: num_feedforward_networks {hf['num_feedforward_networks']} without "
                            "use_bottleneck; arlm's BERT block has one FFN")
    if heads and not hf["tie_word_embeddings"]:
        raise ArtifactError(f"{where}: tie_word_embeddings false; arlm's MLM output is tied to the word embeddings")
    fields = {_RENAMED.get(key, key): hf[key] for key in
              ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
               "initializer_range", "embedding_size", "trigram_input", "use_bottleneck", "intra_bottleneck_size",
               "use_bottleneck_attention", "key_query_shared_bottleneck", "num_feedforward_networks",
               "normalization_type", "classifier_activation")}
    fields["hidden_act"] = FROM_HF_ACTIVATION[act]
    try:
        config = MobileBertConfig(**fields)
        check_expressible(config)
    except (ValueError, TypeError) as error:  # ParameterError, or a field of the wrong type
        raise ArtifactError(f"{where}: {error}") from None
    return config


def config_from_official(official, where):
    """An arlm `MobileBertConfig` from the official ``bert_config.json`` (google-research mobilebert).

    Args:
        official (dict): the parsed file; unknown keys are ignored, as the official code does.
        where (str | os.PathLike): the file, named in errors.
    """
    if "vocab_size" not in official:
        raise ArtifactError(f"{where}: no vocab_size; expected an official MobileBERT bert_config.json")
    values = {**_OFFICIAL_DEFAULTS, **official}
    fields = {_RENAMED.get(key, key): values[key] for key in ("vocab_size", *_OFFICIAL_DEFAULTS)}
    try:
        return MobileBertConfig(**fields)
    except (ValueError, TypeError) as error:  # ParameterError, or a field of the wrong type
        raise ArtifactError(f"{where}: {error}") from None


# === arlm -> transformers ===

def _split(model):
    """(backbone, pretrainer or None, text classifier or None) of an arlm model: a backbone, the pretraining model,
    a text classifier, or another task model (its backbone alone)."""
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, MobileBertTextClassifier

    if isinstance(model, MobileBertBackbone):
        return model, None, None
    if isinstance(model, MobileBertPretrainer):
        return model.backbone, model, None
    if isinstance(model, MobileBertTextClassifier):
        return model.backbone, None, model
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, MobileBertBackbone):
        return backbone, None, None
    raise ParameterError(f"{type(model).__name__} is not a MobileBERT model of arlm (expected a MobileBertBackbone, "
                         "a MobileBertPretrainer or a task model with a backbone)")


def _checked_entries(backbone, pretrainer, classifier=None):
    """`weight_map`, after checking it names every variable of the model once (a variable left out would be
    silently random on the other side)."""
    entries = weight_map(backbone, pretrainer, classifier)
    model = next(m for m in (pretrainer, classifier, backbone) if m is not None)
    mapped = {id(entry.variable) for entry in entries}
    # the pretraining model's metrics are not weights; only trainable and non-trainable weights count
    missing = [v.path for v in model.weights if id(v) not in mapped]
    if missing or len(mapped) != len(entries):
        raise ParameterError(f"the MobileBERT weight map misses {missing or 'nothing but repeats a variable'}")
    return entries


def transformers_state(model):
    """The `transformers` state dict of an arlm model: ``{key: float32 array}`` and whether it has the
    pretraining heads.

    Args:
        model (keras.Model): an arlm backbone, pretraining model, text classifier or other task model (its backbone
            only).
    """
    from keras import ops

    backbone, pretrainer, classifier = _split(model)
    prefix = "mobilebert." if pretrainer is not None or classifier is not None else ""
    tensors = {}
    for entry in _checked_entries(backbone, pretrainer, classifier):
        array = np.asarray(ops.convert_to_numpy(entry.variable), dtype="float32")
        key = entry.hf_key if entry.hf_key.startswith(HEADS) else prefix + entry.hf_key
        tensors[key] = np.ascontiguousarray(array.T if entry.hf_transpose else array)
    config = backbone.config
    if backbone.token_embedding.projection is None:
        # transformers always builds the projection and skips it when E = H without trigrams: an identity
        width = config.hidden_size
        tensors[prefix + "embeddings.embedding_transformation.weight"] = np.eye(width, dtype="float32")
        tensors[prefix + "embeddings.embedding_transformation.bias"] = np.zeros(width, "float32")
    if pretrainer is not None and pretrainer.mlm_head.extra_output_weights is None:
        # E = H: no extra output columns, but transformers still builds the (empty) Linear(V, H - E)
        tensors["cls.predictions.dense.weight"] = np.zeros((0, config.vocab_size), "float32")
    return tensors, pretrainer is not None


def to_transformers(model, folder, tokenizer=None):
    """Write `model` as a `transformers` MobileBERT folder (``config.json`` + ``model.safetensors``, and the
    tokenizer's `TOKENIZER_FILES` when there is a vocabulary), atomically.

    Args:
        model (keras.Model): an arlm backbone, pretraining model (heads included), text classifier (head included)
            or other task model (backbone only).
        folder (str | os.PathLike): the output folder, replaced as a whole.
        tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | MobileBertTokenizer | None): the
            vocabulary (default: the tokenizer of the model's preprocessor, if it has one; else no tokenizer).

    Returns the folder as a `Path`.
    """
    from safetensors.numpy import save_file

    from arlm.files import staged_dir

    backbone, pretrainer, classifier = _split(model)
    config = transformers_config(backbone.config, heads=pretrainer is not None,  # refuses before any work
                                 num_labels=None if classifier is None else classifier.num_classes)
    if tokenizer is None:
        tokenizer = getattr(getattr(model, "preprocessor", None), "tokenizer", None)
    vocabulary = None if tokenizer is None else _vocabulary(tokenizer, backbone.config.vocab_size)
    tensors, _ = transformers_state(model)
    with staged_dir(folder) as staging:
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_file(tensors, staging / "model.safetensors", metadata={"format": "pt"})
        if vocabulary is not None:
            write_tokenizer(vocabulary, staging, backbone.config.max_position_embeddings)
    return Path(folder)


def _vocabulary(tokenizer, vocab_size):
    """The tokens of `tokenizer` (a keras-hub tokenizer, an `arlm.tokenizer.WordPieceTokenizer` or a vocabulary
    file), checked against the model's `vocab_size`."""
    from arlm.tokenizer import read_vocabulary

    if hasattr(tokenizer, "get_vocabulary"):
        tokens = list(tokenizer.get_vocabulary())
    else:
        tokens = read_vocabulary(getattr(tokenizer, "vocab_path", tokenizer), parameter="--vocab")
    if len(tokens) != vocab_size:
        raise ParameterError(f"the vocabulary has {len(tokens)} tokens but the model's word embedding {vocab_size} "
                             "rows: give the vocabulary the model was trained with (--vocab)")
    return tokens


def write_tokenizer(vocabulary, folder, model_max_length=512):
    """Write the tokenizer of `vocabulary` into a `transformers` folder: ``vocab.txt``, ``tokenizer.json``
    (`arlm.hf_tokenizer.write_tokenizer_json`: the book's normalization as `tokenizers` normalizers, the BERT
    pre-tokenizer, WordPiece, ``[CLS] A [SEP]``) and ``tokenizer_config.json``.

    ``transformers.AutoTokenizer`` then loads a fast `MobileBertTokenizerFast` that keeps those normalizers and
    gives arlm's ids except where the format cannot follow arlm (`arlm.hf_tokenizer`: a word of 51-100 characters
    over 100 UTF-8 bytes, ``[UNK]`` for arlm). The slow tokenizer (``use_fast=False``) reads only ``vocab.txt``
    and BERT's lowercasing: it removes the diacritics and the hamza on a carrier but not the rest of the
    normalization, so it is not arlm's.

    Args:
        vocabulary (list[str]): the tokens, special tokens first.
        folder (str | os.PathLike): the folder (it exists).
        model_max_length (int): the model's positions (``tokenizer_config.json``).
    """
    from arlm.hf_tokenizer import write_tokenizer_json
    from arlm.tokenizer import SPECIAL_TOKENS

    folder = Path(folder)
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    write_tokenizer_json(folder / "vocab.txt", folder / "tokenizer.json")
    pad, unk, cls, sep, mask = SPECIAL_TOKENS
    config = {"tokenizer_class": "MobileBertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": False,
              "model_max_length": int(model_max_length), "pad_token": pad, "unk_token": unk, "cls_token": cls,
              "sep_token": sep, "mask_token": mask, "clean_up_tokenization_spaces": False}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def read_tokenizer(folder):
    """The vocabulary of the tokenizer in a `transformers` folder, when it is arlm's (`write_tokenizer`): its
    ``tokenizer.json`` applies arlm's normalization and pre-tokenizer and WordPiece with ``##`` and ``[UNK]``.

    Args:
        folder (str | os.PathLike): a `transformers` folder.

    Returns ``(tokens, None)``, or ``(None, why)`` when the folder has no tokenizer or another one (e.g. BERT's
    English lowercasing: arlm's models would read other ids from it). A ``tokenizer.json`` that is not JSON is an
    `ArtifactError`.
    """
    from arlm.hf_tokenizer import normalizer, pre_tokenizer
    from arlm.tokenizer import SPECIAL_TOKENS, SUFFIX, UNK_ID

    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        return None, "the folder has no tokenizer.json"
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path}: not JSON ({error})") from None
    model = written.get("model") or {}
    if (written.get("normalizer"), written.get("pre_tokenizer")) != (normalizer(), pre_tokenizer()) or (
            model.get("type"), model.get("continuing_subword_prefix"), model.get("unk_token")) != (
            "WordPiece", SUFFIX, SPECIAL_TOKENS[UNK_ID]):
        return None, f"{path} is not arlm's tokenizer (another normalization or pre-tokenizer)"
    ids = model.get("vocab") or {}
    tokens = sorted(ids, key=ids.get)
    if [ids[token] for token in tokens] != list(range(len(tokens))) or tuple(tokens[:5]) != SPECIAL_TOKENS:
        return None, f"{path}: the vocabulary's ids are not 0..{len(tokens) - 1} with {' '.join(SPECIAL_TOKENS)} first"
    return tokens, None


# === transformers -> arlm ===

def read_transformers(folder):
    """The parsed ``config.json`` and the tensors of a `transformers` folder; `ArtifactError` naming the file.

    Args:
        folder (str | os.PathLike): holds ``config.json`` and ``model.safetensors`` (or a sharded
            ``model.safetensors.index.json`` with its shards).
    """
    from safetensors.numpy import load_file

    folder = Path(folder)
    config_file = folder / "config.json"
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: not a folder; expected a transformers MobileBERT folder "
                            f"({', '.join(HF_FILES)})")
    if not config_file.is_file():
        raise ArtifactError(f"{config_file}: no such file; a transformers MobileBERT folder holds "
                            f"{', '.join(HF_FILES)}")
    try:
        hf = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{config_file}: not JSON ({error})") from None
    if not isinstance(hf, dict):
        raise ArtifactError(f"{config_file}: expected a JSON object")
    index = folder / "model.safetensors.index.json"
    if (folder / "model.safetensors").is_file():
        files = [folder / "model.safetensors"]
    elif index.is_file():
        files = [folder / name for name in sorted(set(json.loads(index.read_text())["weight_map"].values()))]
    else:
        other = [name for name in ("pytorch_model.bin", "tf_model.h5") if (folder / name).exists()]
        hint = f" (found {', '.join(other)}: save it again with safe_serialization=True)" if other else ""
        raise ArtifactError(f"{folder / 'model.safetensors'}: no such file{hint}")
    tensors = {}
    for file in files:
        try:
            tensors.update(load_file(file))
        except Exception as error:  # safetensors raises its own error types (and OSError, ValueError) on damage
            raise ArtifactError(f"{file}: not a readable safetensors file ({error})") from None
    return hf, tensors


def _assign(entries, lookup, where):
    """Give each entry's variable its array from ``lookup(entry) -> (name, array or None)``; shapes checked."""
    for entry in entries:
        name, array = lookup(entry)
        if array is None:
            raise ArtifactError(f"{where}: no tensor {name}")
        expected = tuple(entry.variable.shape)
        if tuple(array.shape) != expected:
            raise ArtifactError(f"{where}: {name} has shape {tuple(array.shape)}; expected {expected}")
        entry.variable.assign(np.asarray(array, dtype=entry.variable.dtype))


def _build(config, heads, num_labels=None, vocabulary=None):
    """(backbone, pretrainer or None, classifier or None): a classifier of `num_labels`, with a preprocessor of
    `vocabulary` when it is given."""
    from arlm import runtime
    from arlm.mobilebert import (
        MobileBertBackbone,
        MobileBertPretrainer,
        MobileBertTextClassifier,
        MobileBertTextClassifierPreprocessor,
        MobileBertTokenizer,
    )
    from arlm.mobilebert.text_classifier_preprocessor import SEQUENCE_LENGTH

    with runtime.scope():
        backbone = MobileBertBackbone.from_mobilebert_config(config)
        if heads:
            return backbone, MobileBertPretrainer(backbone), None
        if not num_labels:
            return backbone, None, None
        preprocessor = None if vocabulary is None else MobileBertTextClassifierPreprocessor(
            MobileBertTokenizer(vocabulary=vocabulary), sequence_length=min(SEQUENCE_LENGTH,
                                                                            config.max_position_embeddings))
        return backbone, None, MobileBertTextClassifier(backbone, num_labels, preprocessor=preprocessor)


def from_transformers(folder):
    """An arlm model with the weights of a `transformers` MobileBERT folder.

    Args:
        folder (str | os.PathLike): ``config.json`` + ``model.safetensors`` (from ``save_pretrained`` or
            `to_transformers`).

    Returns ``(model, ignored)``: a `MobileBertPretrainer` when the folder has the ``cls.predictions`` and
    ``cls.seq_relationship`` heads, a `MobileBertTextClassifier` when it has ``MobileBertForSequenceClassification``'s
    ``classifier`` (with arlm's tokenizer, `read_tokenizer`, as its preprocessor when the folder has it), else a
    `MobileBertBackbone`; and the sorted keys it did not use (e.g. the tied ``cls.predictions.decoder.weight``, or
    another task's head).
    """
    folder = Path(folder)
    hf, tensors = read_transformers(folder)
    prefixed = any(key.startswith("mobilebert.") for key in tensors)
    prefix = "mobilebert." if prefixed else ""
    heads = "cls.predictions.bias" in tensors and "cls.seq_relationship.weight" in tensors
    classifier_weight = tensors.get("classifier.weight")
    num_labels = None if heads or classifier_weight is None else int(classifier_weight.shape[0])
    config = config_from_transformers(hf, folder / "config.json", heads=heads)
    backbone, pretrainer, classifier = _build(config, heads, num_labels, read_tokenizer(folder)[0])
    entries = _checked_entries(backbone, pretrainer, classifier)
    where = folder / "model.safetensors"

    def key_of(entry):
        return entry.hf_key if entry.hf_key.startswith(HEADS) else prefix + entry.hf_key

    def lookup(entry):
        key = key_of(entry)
        array = tensors.get(key)
        if array is None and entry.hf_key == "embeddings.word_embeddings.weight":  # tied: saved once, either name
            array = tensors.get("cls.predictions.decoder.weight")
        return key, None if array is None else (array.T if entry.hf_transpose else array)

    _assign(entries, lookup, where)
    ignored = sorted(set(tensors) - {key_of(entry) for entry in entries})
    return next(m for m in (pretrainer, classifier, backbone) if m is not None), ignored


# === official TF1 checkpoints -> arlm ===

def tf1_variables(model):
    """``{official TF1 name: array}`` of an arlm model (what the official code would have saved).

    Args:
        model (keras.Model): an arlm backbone, pretraining model (heads included), text classifier (the official
            ``run_classifier.py`` names of its head) or other task model (backbone only).
    """
    from keras import ops

    out = {}
    for entry in _checked_entries(*_split(model)):
        array = np.asarray(ops.convert_to_numpy(entry.variable), dtype="float32")
        out[entry.tf1_name] = array.T if entry.tf1_transpose else array
    return out


def from_tf1_checkpoint(checkpoint, config_file):
    """An arlm model from an official MobileBERT TF1 checkpoint and its ``bert_config.json``.

    The pretraining heads (``cls/predictions``, ``cls/seq_relationship``) are read when the checkpoint has
    them (a `MobileBertPretrainer` is returned, else a `MobileBertBackbone`); optimizer slots (``adam_m``,
    ``adam_v``), ``global_step``, task heads and a distillation ``teacher/`` copy are ignored.

    Args:
        checkpoint (str | os.PathLike): the checkpoint prefix (``model.ckpt-500000``, beside its ``.index``) or
            its folder (the latest checkpoint of the folder's ``checkpoint`` file).
        config_file (str | os.PathLike): the official ``bert_config.json``.

    Returns ``(model, ignored)`` as `from_transformers`.
    """
    import tensorflow as tf

    config_file = Path(config_file)
    if not config_file.is_file():
        raise ArtifactError(f"{config_file}: no such file; expected the checkpoint's bert_config.json (--config)")
    try:
        official = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{config_file}: not JSON ({error})") from None
    config = config_from_official(official, config_file)
    try:
        reader = tf.train.load_checkpoint(str(checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        raise ArtifactError(f"{checkpoint}: not a readable TF checkpoint ({str(error).splitlines()[0]})") from None
    shapes = reader.get_variable_to_shape_map()
    heads = "cls/predictions/output_bias" in shapes and "cls/seq_relationship/output_weights" in shapes
    backbone, pretrainer, _ = _build(config, heads)
    entries = _checked_entries(backbone, pretrainer)

    def lookup(entry):
        if entry.tf1_name not in shapes:
            return entry.tf1_name, None
        array = reader.get_tensor(entry.tf1_name)
        return entry.tf1_name, array.T if entry.tf1_transpose else array

    _assign(entries, lookup, checkpoint)
    ignored = sorted(set(shapes) - {entry.tf1_name for entry in entries})
    return (pretrainer if heads else backbone), ignored


# === the arlm side and the command line ===

INSTALL = "pip install 'arlm[interop]' (the interop extra: safetensors, transformers, torch CPU)"


def requirements():
    """Check that what reads and writes `transformers` folders is installed (``safetensors``, of the interop
    extra); else an `ArlmError` naming the extra and the pip command."""
    try:
        import safetensors.numpy  # noqa: F401
    except ImportError as error:
        raise ArlmError(f"converting to or from a transformers folder needs {error.name or 'safetensors'}: "
                        f"{INSTALL}") from None


def save_arlm(model, path, tokenizer=None):
    """Save a converted model the way arlm saves every model (`arlm.saving.save_model`); the one place that does.

    Args:
        model (keras.Model): the converted backbone, pretraining model or text classifier.
        path (str | os.PathLike): the output: a ``.keras`` file, or a keras-hub preset folder.
        tokenizer (list[str] | None): a preset folder's vocabulary (`read_tokenizer`); a ``.keras`` file keeps a
            tokenizer only as a classifier's preprocessor.
    """
    from arlm.mobilebert import MobileBertTokenizer
    from arlm.saving import save_model

    if Path(path).suffix == ".keras":
        return save_model(model, path)
    return save_model(model, path, tokenizer=None if tokenizer is None else MobileBertTokenizer(vocabulary=tokenizer))


def check_arlm_out(path, parameter="--out"):
    """Check, before converting, that `save_arlm` can write `path`: a ``.keras`` file name in a writable place, or
    a folder without a suffix (a keras-hub preset, which keeps the tokenizer; new, or an earlier preset).

    Args:
        path (str | os.PathLike): the output.
        parameter (str): the flag named in errors.
    """
    from arlm.files import check_out_dir, check_writable
    from arlm.preset_format import PRESET_FILES

    path = Path(path)
    if path.suffix == "":
        return check_out_dir(path, PRESET_FILES, parameter)
    if path.suffix != ".keras" or path.is_dir():
        raise ParameterError(f"{parameter} {path}: expected a file name ending with .keras (an arlm model) or a "
                             "folder name without a suffix (a keras-hub preset, tokenizer included)")
    check_writable(path.parent, parameter, path)
    return path


def load_arlm(path, parameter="SOURCE"):
    """Load an arlm model saved by `save_arlm` (or any chapter) through `arlm.saving.load_model`, checked first;
    errors name `parameter`.

    Args:
        path (str | os.PathLike): a ``.keras`` file or a keras-hub preset folder (``save_to_preset``).
        parameter (str): the argument named in errors.
    """
    from arlm.saving import load_model

    return load_model(path, compile=False, parameter=parameter)


def detect_source(path, parameter="SOURCE"):
    """What `path` holds: ``"arlm"`` (a ``.keras`` file, a preset folder or a packaged preset's name),
    ``"transformers"`` (a folder with a MobileBERT ``config.json``) or ``"tf1"`` (a checkpoint prefix beside its
    ``.index``, or a folder with a ``checkpoint`` file); anything else is a `ParameterError` naming `parameter` and
    the three forms.

    Args:
        path (str | os.PathLike): the source given to ``arlm convert``.
        parameter (str): the argument named in errors.
    """
    from arlm.preset_format import packaged_presets

    path = Path(path)
    expected = ("expected an arlm .keras file, a transformers MobileBERT folder (config.json + model.safetensors) "
                "or an official TF1 checkpoint (PREFIX with PREFIX.index)")
    if path.suffix == ".keras" or (not path.exists() and str(path) in packaged_presets()):
        return "arlm"
    if Path(f"{path}.index").is_file() or (path.is_dir() and (path / "checkpoint").is_file()):
        return "tf1"
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ArtifactError(f"{parameter} {path}: the folder has no config.json; {expected}")
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            config = None  # `read_transformers` says what is wrong with it
        # a Keras / keras-hub saved model's config.json names its class; a transformers one its model_type
        keras_config = isinstance(config, dict) and "class_name" in config and "model_type" not in config
        return "arlm" if keras_config else "transformers"
    raise ParameterError(f"{parameter} {path}: {'no such file or folder' if not path.exists() else 'unknown kind'}; "
                         f"{expected}")
