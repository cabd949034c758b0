"""The checks of keras-hub's `TestCase` for this book's layers and models, and the tiny configuration all tests share.

* `tiny_config(name)`: one of the paper's configurations (``iberta``, ``mberta``, ...) in its own shape at tiny
  size (V = 40, H = 8, L = 2, N = 2, F = 16, E = 4, 16 positions); `TINY` is the teacher's.
* `tiny_inputs()`: a padded batch of the three backbone inputs (``mask_positions`` on request).
* `run_layer_test`: call (shapes), symbolic call, ``get_config`` / ``from_config`` and serialisation round trips,
  a ``.keras`` round trip with equal outputs, a training step, mixed precision (``mixed_bfloat16``: it runs,
  computes in bfloat16, keeps float32 variables) and, optionally, shorter sequences.
* `run_backbone_test` and `run_task_test`: the same for a `MobileBertBackbone` or a task model, plus the
  ``save_to_preset`` / ``from_preset`` round trip (and `arlm.saving.load_model` of both files) with equal weights
  and outputs; for a task with a preprocessor, ``predict`` and ``fit`` on raw strings too.
* `run_preprocessing_test`: a tokenizer or preprocessor called directly, mapped over an unbatched and a batched
  `tf.data` dataset (the same outputs), its config round trip, and its expected outputs.

Tests that call the checkers carry the ``backend`` marker, so the JAX job reruns them.
"""

import json

import numpy as np

from arlm.mobilebert.config import named_config

VOCAB, LENGTH, BATCH = 40, 7, 2
_SIZES = dict(vocab_size=VOCAB, hidden_size=8, num_layers=2, num_heads=2, intermediate_size=16,
              max_position_embeddings=16)


def tiny_config(name="iberta", **overrides):
    """The paper's configuration `name` at tiny size, keeping its shape (trigram embedding of width E = H/2 where
    it has one, B/H as in the paper, its norms, activation, FFN count and dropouts); `overrides` change fields."""
    paper = named_config(name)
    sizes = dict(_SIZES)
    if paper.embedding_size:
        sizes["embedding_size"] = 4
    if paper.intra_bottleneck_size:
        sizes["intra_bottleneck_size"] = sizes["hidden_size"] * paper.intra_bottleneck_size // paper.hidden_size
    return paper.replace(**{**sizes, **overrides})


TINY = tiny_config("iberta").to_dict()
CONFIG_NAMES = ("iberta", "iberta_30k", "mberta", "mberta_ii", "arabert_base")


def tiny_inputs(batch=BATCH, length=LENGTH, pad=2, predictions=0, seed=0):
    """Token ids (a [CLS]-like 2 first, ``pad`` padded positions last), two segments and the padding mask; with
    ``predictions``, also ``mask_positions`` among the real positions."""
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[:, length - pad:] = 0
    ids = rng.integers(5, VOCAB, (batch, length)).astype("int32")
    ids[:, 0] = 2
    ids[mask == 0] = 0
    x = {"token_ids": ids, "segment_ids": (np.arange(length) >= length // 2).astype("int32")[None].repeat(batch, 0),
         "padding_mask": mask}
    if predictions:
        x["mask_positions"] = rng.integers(1, length - pad, (batch, predictions)).astype("int32")
    return x


def _numpy(tree):
    import keras

    return keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), tree)


def _shapes(tree):
    import keras

    return keras.tree.map_structure(lambda t: tuple(t.shape), tree)


def assert_all_close(got, want, atol=1e-6, rtol=1e-6):
    import keras

    if isinstance(want, dict):  # a list and a tuple of outputs are the same outputs; a dict's keys must match
        assert isinstance(got, dict) and got.keys() == want.keys()
    for a, b in zip(keras.tree.flatten(_numpy(got)), keras.tree.flatten(_numpy(want)), strict=True):
        np.testing.assert_allclose(a.astype("float32"), b.astype("float32"), atol=atol, rtol=rtol)


def assert_same_weights(got, want):
    """Equal variables, by path (a saved model reloaded)."""
    import keras

    got_values = {v.path: keras.ops.convert_to_numpy(v) for v in got.weights}
    want_values = {v.path: keras.ops.convert_to_numpy(v) for v in want.weights}
    assert got_values.keys() == want_values.keys()
    for path, value in want_values.items():
        np.testing.assert_array_equal(got_values[path], value, err_msg=path)


def run_serialization_test(instance):
    """``from_config(get_config())`` and ``deserialize(serialize())`` give the same config (as JSON)."""
    import keras

    config = json.dumps(instance.get_config(), sort_keys=True, default=str)
    revived = type(instance).from_config(instance.get_config())
    assert json.dumps(revived.get_config(), sort_keys=True, default=str) == config
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(instance)))
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is type(instance)
    assert json.dumps(revived.get_config(), sort_keys=True, default=str) == config


def _with_policy(init_kwargs, policy):
    """`init_kwargs` for a model of dtype `policy`: layers passed in (a backbone, a tied embedding) are rebuilt so;
    a preprocessor stays as it is (it computes ids, not floats)."""
    import keras
    import keras_hub

    kwargs = {}
    for key, value in init_kwargs.items():
        if isinstance(value, keras.layers.Layer) and not isinstance(value, keras_hub.models.Preprocessor):
            value = type(value).from_config({**value.get_config(), "dtype": policy})
        kwargs[key] = value
    return kwargs


def run_precision_test(make, inputs, policy="mixed_bfloat16"):
    """`make(dtype=policy)` runs on `inputs`: float outputs in the compute dtype (the 4-D attention logits
    [b, N, T, T] in float32, as the softmax that reads them), float variables in float32."""
    import keras

    model = make(dtype=policy)
    policy = keras.dtype_policies.get(policy)
    outputs = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
    for tensor in keras.tree.flatten(outputs):
        if "float" in str(tensor.dtype):
            expected = "float32" if len(tensor.shape) == 4 else policy.compute_dtype
            assert keras.backend.standardize_dtype(tensor.dtype) == expected, tensor.shape
    for variable in model.weights:
        if "float" in str(variable.dtype):
            assert keras.backend.standardize_dtype(variable.dtype) == policy.variable_dtype, variable.path


def run_layer_test(cls, init_kwargs, inputs, expected_output_shape, tmp_path, scope=None, variable_length=False,
                   run_training_check=True):
    """keras-hub's layer checks for ``cls(**init_kwargs)`` called on the tuple of arrays `inputs`.

    Args:
        cls (type): the layer class.
        init_kwargs (dict): constructor arguments (a layer among them is rebuilt for the precision check).
        inputs (tuple[np.ndarray, ...]): the call's positional arguments.
        expected_output_shape: the output's shape, or a tuple of shapes for several outputs.
        tmp_path (Path): for the ``.keras`` file.
        scope (callable | None): a context manager factory the layer is created in (e.g. a `keras.RematScope`).
        variable_length (bool): also call on every input cut to 3 and 4 positions (axis 1).
        run_training_check (bool): one SGD step on an MSE loss must change a weight (off for a layer whose
            weights do not act on its output, the CRF's transitions).
    """
    import contextlib

    import keras

    from arlm.saving import load_model, save_model

    def make(**extra):
        with (scope or contextlib.nullcontext)():
            return cls(**{**(_with_policy(init_kwargs, extra["dtype"]) if "dtype" in extra else init_kwargs),
                          **extra})

    layer = make()
    outputs = layer(*inputs)
    assert _shapes(outputs) == expected_output_shape
    symbolic = make()(*[keras.KerasTensor(a.shape, a.dtype) for a in inputs])
    assert _shapes(symbolic) == expected_output_shape
    run_serialization_test(layer)

    # a .keras round trip of the layer inside a functional model: same class, same outputs
    tensors = [keras.Input(shape=a.shape[1:], batch_size=a.shape[0], dtype=a.dtype) for a in inputs]
    model = keras.Model(tensors, layer(*tensors))
    path = save_model(model, tmp_path / f"{cls.__name__}.keras")
    restored = load_model(path, compile=False)
    assert type(restored.layers[-1]) is cls
    assert_all_close(restored(list(inputs)), outputs, atol=1e-5, rtol=1e-5)

    if run_training_check:  # one training step moves the weights (gradients flow through the layer)
        trainable = list(model.trainable_weights)
        before = [np.array(keras.ops.convert_to_numpy(v)) for v in trainable]
        targets = keras.tree.map_structure(lambda t: np.zeros(t.shape, "float32"), _numpy(outputs))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
        model.fit(list(inputs), targets, batch_size=inputs[0].shape[0], epochs=1, verbose=0)
        assert any(not np.array_equal(b, keras.ops.convert_to_numpy(v)) for b, v in zip(before, trainable,
                                                                                        strict=True))

    run_precision_test(make, inputs)
    if variable_length:
        for length in (3, 4):
            layer(*[a[:, :length] for a in inputs])


def run_backbone_test(init_kwargs, tmp_path, inputs=None):
    """keras-hub's backbone checks for ``MobileBertBackbone(**init_kwargs)``, plus both save/load paths.

    Output shapes from the config (sequence, pooled where ``classifier_activation``, L+1 hidden states, L
    attention maps), config round trip, shorter sequences, a ``.keras`` file and a preset folder reloaded with
    equal weights and outputs (through `arlm.saving.load_model` and ``from_preset``), and mixed precision.
    """
    from arlm.mobilebert import MobileBertBackbone
    from arlm.saving import load_model, save_model

    inputs = inputs or tiny_inputs()
    backbone = MobileBertBackbone(**init_kwargs)
    config = backbone.config
    batch, length = inputs["token_ids"].shape
    outputs = backbone(inputs)
    expected = {"sequence_output": (batch, length, config.hidden_size),
                "hidden_states": [(batch, length, config.hidden_size)] * (config.num_layers + 1),
                "attention_logits": [(batch, config.num_heads, length, length)] * config.num_layers}
    if config.classifier_activation:
        expected["pooled_output"] = (batch, config.hidden_size)
    assert _shapes(outputs) == expected
    run_serialization_test(backbone)
    for cut in (2, 3, 4):
        short = backbone({key: value[:, :cut] for key, value in inputs.items()})
        assert short["sequence_output"].shape == (batch, cut, config.hidden_size)

    keras_file = load_model(save_model(backbone, tmp_path / "backbone.keras"), compile=False)
    preset = backbone.save_to_preset(tmp_path / "backbone_preset")
    for restored in (keras_file, MobileBertBackbone.from_preset(preset), load_model(preset)):
        assert type(restored) is MobileBertBackbone and restored.config == config
        assert_same_weights(restored, backbone)
        assert_all_close(restored(inputs), outputs)
    run_precision_test(lambda **extra: MobileBertBackbone(**init_kwargs, **extra), inputs)
    return backbone


def run_task_test(cls, init_kwargs, inputs, expected_output_shape, tmp_path, variable_length=True, raw=None):
    """keras-hub's task checks for ``cls(**init_kwargs)`` (a model with a ``backbone``), plus both save/load paths.

    Output shapes, config round trip, shorter sequences, a ``.keras`` file and a preset folder (``task.json`` and
    the head's weights beside the backbone's) reloaded with equal weights and outputs through `arlm.saving.load_model`
    and ``cls.from_preset``, the preset's backbone alone through ``MobileBertBackbone.from_preset``, and mixed
    precision (the backbone rebuilt with the policy). With ``raw=(texts, labels)`` (a task with a preprocessor),
    keras-hub's raw-input checks: ``predict`` on the strings, on a `tf.data` dataset of them and on one mapped
    through the preprocessor agree, and so do the reloaded models (the tokenizer travels with them); ``fit`` runs
    on the strings and on the dataset, and refuses to run uncompiled (``compile=False``).
    """
    from arlm.mobilebert import MobileBertBackbone
    from arlm.saving import load_model, save_model

    model = cls(**init_kwargs)
    outputs = model(inputs)
    assert _shapes(outputs) == expected_output_shape
    run_serialization_test(model)
    if variable_length:
        for cut in (3, 4):
            model({key: value[:, :cut] for key, value in inputs.items()})

    keras_file = load_model(save_model(model, tmp_path / "task.keras"), compile=False)
    preset = model.save_to_preset(tmp_path / "task_preset")
    assert (preset / "task.json").is_file() and (preset / "task.weights.h5").is_file()
    restored_models = (keras_file, cls.from_preset(preset), load_model(preset))
    for restored in restored_models:
        assert type(restored) is cls
        assert_same_weights(restored, model)
        assert_all_close(restored(inputs), outputs)
    backbone = MobileBertBackbone.from_preset(preset)
    assert_same_weights(backbone, model.backbone)
    if raw is not None:
        _run_raw_input_checks(cls, init_kwargs, model, raw, restored_models)

    def make(**extra):
        return cls(**_with_policy(init_kwargs, extra["dtype"]))

    run_precision_test(make, inputs)
    return model


def _run_raw_input_checks(cls, init_kwargs, model, raw, restored_models):
    import pytest
    import tensorflow as tf

    texts, labels = raw
    preprocessor = model.preprocessor
    assert set(preprocessor(texts)) == set(model.input)  # the preprocessor gives the model's inputs
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(2)
    predicted = model.predict(texts, batch_size=2, verbose=0)
    assert_all_close(model.predict(dataset, verbose=0), predicted, atol=1e-5, rtol=1e-5)
    model.preprocessor = None  # split preprocessing: the encoded batches straight into the model
    assert_all_close(model.predict(dataset.map(preprocessor), verbose=0), predicted, atol=1e-5, rtol=1e-5)
    model.preprocessor = preprocessor
    for restored in restored_models:
        assert_all_close(restored.predict(texts, batch_size=2, verbose=0), predicted, atol=1e-5, rtol=1e-5)
    model.fit(texts, labels, batch_size=2, epochs=1, shuffle=False, verbose=0)
    model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="You must call `compile"):
        cls(**init_kwargs, compile=False).fit(dataset, verbose=0)


def _as_lists(tree):
    """Ids of a tokenizer or preprocessor output, whatever its container: nested lists (ragged rows stay ragged)."""
    import keras

    def to_list(value):
        if hasattr(value, "to_list"):  # a tf.RaggedTensor
            return value.to_list()
        if isinstance(value, list):
            return [to_list(item) for item in value]
        return np.asarray(keras.ops.convert_to_numpy(value) if keras.ops.is_tensor(value) else value).tolist()

    return {key: to_list(value) for key, value in tree.items()} if isinstance(tree, dict) else to_list(tree)


def run_preprocessing_test(cls, init_kwargs, inputs, expected=None):
    """keras-hub's preprocessing-layer checks for ``cls(**init_kwargs)`` called on the list of strings `inputs`.

    The config round trip; the direct call equals the layer mapped over an unbatched `tf.data` dataset (then
    batched) and over a batched one; each string alone gives its row of the batch; and the output equals
    `expected` (ids as nested lists, or a dict of them) when given. Returns the output as nested lists.
    """
    import tensorflow as tf

    layer = cls(**init_kwargs)
    run_serialization_test(layer)
    direct = _as_lists(layer(inputs))
    dataset = tf.data.Dataset.from_tensor_slices(inputs)
    assert _as_lists(dataset.map(layer).ragged_batch(len(inputs)).get_single_element()) == direct
    assert _as_lists(dataset.batch(len(inputs)).map(layer).get_single_element()) == direct
    one_by_one = [_as_lists(layer(text)) for text in inputs]
    if isinstance(direct, dict):
        assert all(row == {key: value[i] for key, value in direct.items()} for i, row in enumerate(one_by_one))
    else:
        assert one_by_one == direct
    if expected is not None:
        assert direct == expected
    return direct
