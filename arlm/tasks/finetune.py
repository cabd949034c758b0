"""Fine-tuning a backbone on a `Task` with the paper's settings (spec 5): one function per kind of task.

Paper settings (the defaults of the ``full`` scale): 5 epochs, AdamW with 10% warmup then linear decay, batch 32,
lr 3e-5 (classification, QA) and 2e-3 (PoS), max_seq_length 128 (384 for QA, stride 128), dropout 0.1.
Smaller scales shrink epochs, examples and lengths (`arlm.scales`: ``finetune_*``, ``qa_*``, ``pos_learning_rate``).

The backbone is trained in place: pass a freshly loaded one to every run. Each ``finetune_*`` returns
``(scores, model)``: test scores with the paper's metric (`arlm.tasks.metrics`), plus
training time and the sizes actually used. Its ``seed`` (default the scale's) is the training seed: the head's
initialisation, dropout and the batch order depend on it and on nothing else; the examples used (`limit`)
depend on the scale's ``seed`` only, so runs with several seeds see the same data.

>>> backbone, source = load_backbone("mberta", cfg, tokenizer.vocab_size)            # doctest: +SKIP
>>> scores, model = finetune_classification(task, backbone, tokenizer, cfg)           # doctest: +SKIP
"""

import random
import time
import warnings

import numpy as np

from arlm.errors import ArtifactError, ParameterError
from arlm.mobilebert.config import CONFIGS
from arlm.preprocessing import encode_texts
from arlm.tasks import metrics
from arlm.tasks.loaders import QASplit, TagSplit, TextSplit

CONFIG_NAMES = tuple(CONFIGS)  # the paper's configurations: `--model mberta` is MBERTA with random weights
WARMUP_PROPORTION = 0.1


# -- inputs ------------------------------------------------------------------------------------------------

def limit(split, max_examples, seed=12345):
    """At most `max_examples` of `split` (0: all), a seeded random subset in the original order."""
    if not max_examples or len(split) <= max_examples:
        return split
    indices = sorted(random.Random(seed).sample(range(len(split)), max_examples))
    return split.subset(indices)


# -- models ------------------------------------------------------------------------------------------------

def load_backbone(model, cfg, vocab_size, parameter="--model"):
    """A backbone and a sentence saying where it came from.

    `model` is one of the paper's configuration names (`CONFIG_NAMES`: random initialisation at the sizes of scale
    `cfg`), or any saved model `arlm.saving.load_model` reads (a ``.keras`` file, a preset folder, a keras-hub
    handle, a packaged preset's name): a backbone, a pretrainer/student or a fine-tuned task model, whose
    backbone is returned. Its vocabulary must have `vocab_size` tokens.
    """
    from arlm import mobilebert, runtime
    from arlm.saving import load_model

    if isinstance(model, str) and model in CONFIG_NAMES:
        config = mobilebert.config_at_scale(model, cfg).replace(vocab_size=vocab_size)
        with runtime.scope():
            backbone = mobilebert.MobileBertBackbone.from_mobilebert_config(config)
        return backbone, f"{model} preset at scale {cfg.name!r}, random initialisation (no pretraining)"
    loaded = load_model(model, compile=False, parameter=parameter)
    backbone = loaded if isinstance(loaded, mobilebert.MobileBertBackbone) else getattr(loaded, "backbone", None)
    if not isinstance(backbone, mobilebert.MobileBertBackbone):
        raise ArtifactError(f"{model}: holds a {type(loaded).__name__} without a MobileBertBackbone ({parameter})")
    backbone = runtime.with_policy(backbone)  # this machine's precision, whatever the model was trained in
    if vocab_size is not None and backbone.config.vocab_size != vocab_size:
        raise ParameterError(f"{model}: the backbone has a {backbone.config.vocab_size}-token vocabulary but the "
                             f"tokenizer has {vocab_size} (use the vocabulary the model was pretrained with)")
    return backbone, f"pretrained weights from {model}"


def build_classifier(backbone, num_labels):
    from arlm.mobilebert import MobileBertTextClassifier

    return MobileBertTextClassifier(backbone, num_classes=num_labels, compile=False)  # compiled by the caller


def optimizer(learning_rate, total_steps, gradient_accumulation_steps=1):
    """AdamW of the spec (weight decay 0.01, norms/biases excluded), 10% warmup, linear decay to 1e-4 of the peak.

    Args:
        learning_rate: float, the peak rate.
        total_steps: int, optimizer updates (micro-batches / ``gradient_accumulation_steps``).
        gradient_accumulation_steps: int, the scale's ``finetune_gradient_accumulation_steps``.
    """
    from arlm.optimizers import make_optimizer

    return make_optimizer("adamw", learning_rate, total_steps, int(WARMUP_PROPORTION * total_steps),
                          gradient_accumulation_steps=gradient_accumulation_steps)


def _head_weights(model):
    backbone_ids = {id(v) for v in model.backbone.weights}
    return [v for v in model.weights if id(v) not in backbone_ids]


class ModelCache:
    """Compiled task models, reused across runs of the same shape (architecture, head, steps, learning rate).

    Keras traces a new training graph for every new model, which costs far more than a tiny fine-tuning run
    itself on a CPU. A cached model is reset instead: the new backbone's weights are copied in, the head gets the
    weights a new model built now would have (so a cached run equals an uncached one with the same seed) and the
    optimizer (moments, step count, hence the schedule) starts from zero.
    """

    def __init__(self):
        self._models = {}

    def get(self, key, backbone, build):
        """The model for `key` holding `backbone`'s weights; `build()` makes and compiles one (built and not
        traced again when the key is cached: its head's new initial weights are copied into the cached model)."""
        if key not in self._models:
            self._models[key] = build()
            return self._models[key]
        model = self._models[key]
        model.backbone.set_weights(backbone.get_weights())
        for variable, fresh in zip(_head_weights(model), _head_weights(build()), strict=True):
            variable.assign(fresh)
        for variable in model.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        return model


def reseed(model, seed):
    """Set every seed generator of `model` (its dropout layers) to a state drawn from `seed` alone, whatever
    happened before it was built or loaded."""
    states = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    for index, variable in enumerate(states):
        start = np.random.default_rng([seed, index]).integers(1, 2**31)
        variable.assign(np.array([start, 0], variable.dtype))


def batching(num_examples, cfg):
    """``(batch size, updates per epoch)`` of a fine-tuning run: full batches only, as the official scripts
    (``drop_remainder=True``), the batch cut to the training set when the set is smaller than
    ``finetune_batch_size``, and to a multiple of devices x ``finetune_gradient_accumulation_steps`` (each update
    is that many micro-batches split over the devices)."""
    from arlm import runtime

    unit = runtime.current().replicas * cfg.finetune_gradient_accumulation_steps
    batch = min(cfg.finetune_batch_size, num_examples) // unit * unit
    if batch < 1:
        raise ParameterError(f"{num_examples} training examples cannot fill one batch of {unit} micro-batch rows "
                             f"(devices x finetune_gradient_accumulation_steps)")
    return batch, num_examples // batch


def _steps(num_examples, cfg):
    return batching(num_examples, cfg)[1] * cfg.finetune_epochs


def _get_model(cache, key, backbone, build, cfg, learning_rate, num_examples, seed, loss=None, loss_weights=None):
    """The compiled task model of one run, its head initialised and its dropout seeded from `seed`."""
    import keras

    from arlm import runtime

    total = _steps(num_examples, cfg)
    keras.utils.set_random_seed(seed)  # the head's initialisation

    def build_and_compile():
        with runtime.scope():
            model = build()
            compile_args = {"optimizer": optimizer(learning_rate, total, cfg.finetune_gradient_accumulation_steps),
                            "jit_compile": runtime.current().jit_compile(cfg.jit_compile)}
            if loss is not None:
                compile_args.update(loss=loss, loss_weights=loss_weights)
            model.compile(**compile_args)
        return model

    if cache is None:
        model = build_and_compile()
    else:
        config = sorted((k, str(v)) for k, v in backbone.get_config().items() if k != "name")
        model = cache.get((key, str(config), total, learning_rate), backbone, build_and_compile)
    reseed(model, seed)
    return model


def _fit(model, inputs, targets, cfg, seed, work_dir=None, verbose=1):
    """Train for ``finetune_epochs`` epochs of full, reshuffled batches; resumable in ``work_dir`` when given."""
    import tempfile

    import tensorflow as tf

    from arlm.fitting import fit_resumable

    count = len(inputs["token_ids"])
    batch, steps_per_epoch = batching(count, cfg)

    # each epoch a fresh permutation drawn here (tf.data's shuffle is reseeded when a TF strategy distributes the
    # dataset, so its order would depend on the devices), cut to full batches
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(count)[: steps_per_epoch * batch] for _ in range(cfg.finetune_epochs)])
    arrays = (dict(inputs), targets)

    def make_dataset():
        constants = tf.nest.map_structure(tf.constant, arrays)
        micro = batch // cfg.finetune_gradient_accumulation_steps
        batches = tf.data.Dataset.from_tensor_slices(order).batch(micro)
        return batches.map(lambda rows: tf.nest.map_structure(lambda a: tf.gather(a, rows), constants)).repeat()

    start = time.perf_counter()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as scratch:
        # a teacher's pooler gets no gradient from a tagging or QA head: expected, not a bug
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooled_dense")
        # a run with a folder is labelled by it; without one, not by the temporary folder's random name
        records = fit_resumable(model, make_dataset, steps_per_epoch * cfg.finetune_epochs, steps_per_epoch,
                                work_dir or scratch, verbose=verbose, desc=None if work_dir else "fine-tuning")
    return {"train_seconds": time.perf_counter() - start, "train_steps": steps_per_epoch * cfg.finetune_epochs,
            "batch_size": batch, "final_train_loss": float(records[-1]["loss"])}


def _predict(model, inputs, batch_size):
    from arlm.fitting import predict

    return predict(model, inputs, batch_size)


# -- the three kinds of task -----------------------------------------------------------------------------

def finetune_classification(task, backbone, tokenizer, cfg, max_seq_length=None, learning_rate=None, verbose=1,
                            cache=None, work_dir=None, seed=None):
    """Fine-tune a `MobileBertTextClassifier` on `task`; test accuracy and macro-F1. Resumable in ``work_dir``."""
    import keras

    seed = cfg.seed if seed is None else seed
    length = max_seq_length or cfg.finetune_max_seq_length
    train = limit(task.train, cfg.finetune_max_train_examples, cfg.seed)
    test = limit(task.test, cfg.finetune_max_eval_examples, cfg.seed)
    _check_split(train, TextSplit, task)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = _get_model(cache, ("classifier", len(task.labels)), backbone,
                       lambda: build_classifier(backbone, len(task.labels)), cfg,
                       learning_rate or cfg.finetune_learning_rate, len(train), seed, loss=loss)
    info = _fit(model, encode_texts(train.texts, tokenizer, length), np.asarray(train.labels, np.int32), cfg,
                seed, work_dir, verbose=verbose)
    logits = _predict(model, encode_texts(test.texts, tokenizer, length), cfg.finetune_batch_size)
    scores = metrics.classification_scores(test.labels, np.argmax(logits, -1), len(task.labels))
    return {**scores, **info, "seed": seed, "train_examples": len(train), "max_seq_length": length}, model


def finetune_tagging(task, backbone, tokenizer, cfg, crf=False, max_seq_length=None, learning_rate=None, verbose=1,
                     cache=None, work_dir=None, seed=None):
    """Fine-tune a `TokenTagger` on PADT; the paper's P/R/F1 (argmax of the emissions, as the authors evaluate),
    token accuracy / micro-F1 over first pieces, and with the CRF also the Viterbi-decoded token accuracy."""
    from arlm.mobilebert import TokenTagger, viterbi_decode
    from arlm.preprocessing.tagging import encode_tagging

    seed = cfg.seed if seed is None else seed
    length = max_seq_length or cfg.finetune_max_seq_length
    train = limit(task.train, cfg.finetune_max_train_examples, cfg.seed)
    test = limit(task.test, cfg.finetune_max_eval_examples, cfg.seed)
    _check_split(train, TagSplit, task)
    train_features = encode_tagging(train.sentences, train.tags, tokenizer, task.labels, length)
    test_features = encode_tagging(test.sentences, test.tags, tokenizer, task.labels, length)
    model = _get_model(cache, ("tagger", len(task.labels), crf, length), backbone,
                       lambda: TokenTagger(backbone, len(task.labels), crf=crf, max_seq_length=length), cfg,
                       learning_rate or cfg.pos_learning_rate, len(train), seed)
    info = _fit(model, train_features.inputs(), train_features.labels, cfg, seed, work_dir, verbose=verbose)
    logits = _predict(model, test_features.inputs(), cfg.finetune_batch_size)
    predicted = np.argmax(logits, -1)
    real = test_features.padding_mask.astype(bool)
    scores = metrics.padt_pos_metrics(np.where(real, test_features.labels, 0), predicted)
    scores.update(metrics.token_scores(test_features.labels, predicted, test_features.first_piece))
    if crf:
        transitions = model.crf_transitions()
        viterbi = np.zeros_like(predicted)
        for row, n in enumerate(real.sum(1)):
            viterbi[row, :n] = viterbi_decode(logits[row], transitions, int(n))
        scores["viterbi_token_accuracy"] = metrics.token_scores(test_features.labels, viterbi,
                                                                test_features.first_piece)["token_accuracy"]
    return {**scores, **info, "seed": seed, "crf": crf, "train_examples": len(train), "max_seq_length": length,
            "truncated_test_sentences": test_features.truncated}, model


def finetune_qa(task, backbone, tokenizer, cfg, learning_rate=None, verbose=1, cache=None, work_dir=None,
                seed=None):
    """Fine-tune `SpanQA` on ARCD: official SQuAD v1.1 EM/F1 on the test questions, and the Arabic-normalised
    variant (labelled ``arabic_*``)."""
    from arlm.mobilebert import SpanQA
    from arlm.preprocessing import qa

    seed = cfg.seed if seed is None else seed
    length, stride = cfg.qa_max_seq_length, cfg.qa_doc_stride
    train = limit(task.train, cfg.finetune_max_train_examples, cfg.seed)
    test = limit(task.test, cfg.finetune_max_eval_examples, cfg.seed)
    _check_split(train, QASplit, task)
    train_features = qa.build_features(train.examples, tokenizer, length, stride, training=True)
    test_features = qa.build_features(test.examples, tokenizer, length, stride)
    loss, weights = SpanQA.span_loss()
    model = _get_model(cache, ("qa", length), backbone, lambda: SpanQA(backbone, max_seq_length=length), cfg,
                       learning_rate or cfg.finetune_learning_rate, len(train_features), seed, loss=loss,
                       loss_weights=weights)
    targets = {"start_logits": train_features.start_positions, "end_logits": train_features.end_positions}
    info = _fit(model, train_features.inputs(), targets, cfg, seed, work_dir, verbose=verbose)
    out = _predict(model, test_features.inputs(), cfg.finetune_batch_size)
    answers = qa.decode(test.examples, test_features, out["start_logits"], out["end_logits"])
    golds = [example.answers for example in test.examples]
    official = metrics.squad_scores(answers, golds)
    arabic = metrics.squad_scores(answers, golds, arabic=True)
    samples = [[e.question, a, e.answers[0]] for e, a in zip(test.examples[:5], answers[:5], strict=True)]
    return {**official, "arabic_exact_match": arabic["exact_match"], "arabic_f1": arabic["f1"], **info, "seed": seed,
            "train_examples": len(train), "train_windows": len(train_features),
            "skipped_train_examples": len(train_features.skipped), "max_seq_length": length, "doc_stride": stride,
            "sample_answers": samples}, model


def finetune(task, backbone, tokenizer, cfg, **kwargs):
    """Dispatch on `task.kind`."""
    kinds = {"classification": finetune_classification, "tagging": finetune_tagging, "qa": finetune_qa}
    return kinds[task.kind](task, backbone, tokenizer, cfg, **kwargs)


def _check_split(split, kind, task):
    if not isinstance(split, kind):
        raise ParameterError(f"task {task.name!r} has {type(split).__name__} data; expected {kind.__name__}")
    if not len(split):
        raise ParameterError(f"task {task.name!r}: the training split is empty")
