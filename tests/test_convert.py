"""arlm.convert and `arlm convert`: MobileBERT weights to and from transformers and official TF1 checkpoints.

The comparisons with `transformers` need the ``interop`` extra (torch, transformers), which the ``test`` extra
includes: without it they fail.
"""

import json

import keras
import numpy as np
import pytest
import safetensors  # noqa: E402, F401  (arlm.convert's interop extra)
from keras import ops  # noqa: E402

from arlm import convert, scales  # noqa: E402
from arlm.cli import main  # noqa: E402
from arlm.errors import ArtifactError, ParameterError  # noqa: E402
from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, config_at_scale  # noqa: E402
from arlm.saving import load_model, save_model  # noqa: E402

PRESETS = ("iberta", "mberta", "mberta_ii")
BERT = "arabert_base"  # no bottleneck, E = H: transformers' MobileBERT runs it as a plain BERT
TOLERANCE = 1e-5
LENGTH = 9


def tiny(name, **overrides):
    """The preset's tiny-scale shape (IBERTA: B = H; MBERTA: B = H/2, key/query-shared, NoNorm, 4 or 1 FFNs)."""
    return config_at_scale(name, scales.resolve("tiny"), **{"vocab_size": 100, "max_position_embeddings": 32,
                                                            **overrides})


def explicit(config):
    """`config` with the sizes that default to H written out (as a transformers config.json has them)."""
    return config.replace(embedding_size=config.embedding_size or config.hidden_size,
                          intra_bottleneck_size=config.intra_bottleneck_size or config.hidden_size)


def pretrainer_of(config, seed=0):
    keras.utils.set_random_seed(seed)
    model = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))
    rng = np.random.default_rng(seed)  # the norms and biases start at 1 and 0: move them so a mix-up shows
    for variable in model.weights:
        variable.assign(ops.convert_to_numpy(variable) + rng.normal(0, 0.05, variable.shape).astype("float32"))
    return model


def inputs(pad=0, seed=1):
    rng = np.random.default_rng(seed)
    mask = np.ones((2, LENGTH), "int32")
    mask[:, LENGTH - pad:] = 0
    return {"token_ids": rng.integers(5, 100, (2, LENGTH)).astype("int32"),
            "segment_ids": (np.arange(LENGTH) >= 5).astype("int32")[None].repeat(2, 0), "padding_mask": mask}


def arlm_outputs(model, x):
    """sequence, pooled (the [CLS] state without a pooler, as transformers' pooler returns it), mlm, nsp."""
    backbone = model.backbone if isinstance(model, MobileBertPretrainer) else model
    out = {key: ops.convert_to_numpy(value) for key, value in backbone(x).items()
           if key in ("sequence_output", "pooled_output")}
    out.setdefault("pooled_output", out["sequence_output"][:, 0])
    if isinstance(model, MobileBertPretrainer):
        positions = np.arange(LENGTH, dtype="int32")[None].repeat(2, 0)  # every position, as transformers scores
        logits = model({**x, "mask_positions": positions})
        out.update(mlm=ops.convert_to_numpy(logits["mlm_logits"]), nsp=ops.convert_to_numpy(logits["nsp_logits"]))
    return out


def transformers_outputs(model, x):
    import torch

    feed = dict(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long))
    with torch.no_grad():
        if hasattr(model, "cls"):  # MobileBertForPreTraining
            result = model(**feed, output_hidden_states=True)
            pooled = model.mobilebert(**feed).pooler_output
            return {"sequence_output": result.hidden_states[-1].numpy(), "pooled_output": pooled.numpy(),
                    "mlm": result.prediction_logits.numpy(), "nsp": result.seq_relationship_logits.numpy()}
        result = model(**feed)
        return {"sequence_output": result.last_hidden_state.numpy(), "pooled_output": result.pooler_output.numpy()}


def align_layer_norm_eps(model):
    """transformers' embeddings norm and last-FFN norm use 1e-5 whatever layer_norm_eps says: set the official 1e-12."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.eps = convert.LAYER_NORM_EPS
    return model


def assert_match(ours, theirs, keys=None):
    for key in keys or sorted(set(ours) & set(theirs)):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=TOLERANCE, err_msg=key)


def max_difference(ours, theirs, key="sequence_output"):
    return float(np.abs(ours[key] - theirs[key]).max())


def interop():
    import torch  # noqa: F401  (transformers' MobileBERT runs on it)
    import transformers

    return transformers


@pytest.mark.parametrize("name", [*PRESETS, BERT])
def test_arlm_to_transformers_matches(name, tmp_path):
    transformers = interop()
    model = pretrainer_of(tiny(name))
    convert.to_transformers(model, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["hidden_act"] == ("relu" if name.startswith("mberta") else "gelu_new")
    assert config["architectures"] == ["MobileBertForPreTraining"]
    x = inputs()
    ours = arlm_outputs(model, x)
    pretraining, info = transformers.MobileBertForPreTraining.from_pretrained(tmp_path / "hf",
                                                                              output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    align_layer_norm_eps(pretraining.eval())
    assert_match(ours, transformers_outputs(pretraining, x), ["sequence_output", "pooled_output", "mlm", "nsp"])
    base, info = transformers.MobileBertModel.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"], info
    base = align_layer_norm_eps(base.eval())
    assert_match(ours, transformers_outputs(base, x), ["sequence_output", "pooled_output"])


@pytest.mark.parametrize("name", [*PRESETS, BERT])
def test_transformers_to_arlm_matches(name, tmp_path):
    transformers = interop()
    import torch

    torch.manual_seed(0)
    hf_config = transformers.MobileBertConfig(**convert.transformers_config(tiny(name), heads=True))
    model = transformers.MobileBertForPreTraining(hf_config).eval()
    with torch.no_grad():  # transformers starts norms and biases at 1 and 0: move them
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(tmp_path / "hf")  # transformers' own file: prefixed keys, the tied decoder left out
    ours, ignored = convert.from_transformers(tmp_path / "hf")
    assert isinstance(ours, MobileBertPretrainer) and ours.backbone.config == explicit(tiny(name))
    unused = ["cls.predictions.decoder.weight"]  # tied to the word embeddings
    if name == BERT:  # E = H without trigrams: transformers builds the projection and skips it, and an empty
        unused += ["mobilebert.embeddings.embedding_transformation.bias",  # Linear(V, H - E) of extra columns
                   "mobilebert.embeddings.embedding_transformation.weight", "cls.predictions.dense.weight"]
    assert set(ignored) <= set(unused), ignored
    x = inputs()
    assert_match(arlm_outputs(ours, x), transformers_outputs(align_layer_norm_eps(model), x))


def test_a_transposed_kernel_in_the_map_fails_the_comparison(tmp_path, monkeypatch):
    transformers = interop()
    model = pretrainer_of(tiny("mberta"))
    x = inputs()
    ours = arlm_outputs(model, x)
    original = convert.weight_map

    def planted(backbone, pretrainer=None, classifier=None):  # a square B x B kernel: only the values are wrong
        entries = original(backbone, pretrainer, classifier)
        return [convert.Entry(e.variable, e.hf_key, e.tf1_name, not e.hf_transpose, e.tf1_transpose)
                if e.hf_key == "encoder.layer.0.attention.output.dense.weight" else e for e in entries]

    monkeypatch.setattr(convert, "weight_map", planted)
    convert.to_transformers(model, tmp_path / "hf")
    theirs = transformers_outputs(transformers.MobileBertForPreTraining.from_pretrained(tmp_path / "hf").eval(), x)
    with pytest.raises(AssertionError, match="sequence_output"):
        assert_match(ours, theirs, ["sequence_output"])


def test_measured_differences_layer_norm_eps_and_padding(tmp_path):
    """What does not match exactly: transformers' two 1e-5 LayerNorms (IBERTA) and its padding mask (all)."""
    transformers = interop()
    for name in ("iberta", "mberta"):
        model = pretrainer_of(tiny(name))
        convert.to_transformers(model, tmp_path / name)
        theirs = transformers.MobileBertModel.from_pretrained(tmp_path / name).eval()
        x = inputs()
        ours = arlm_outputs(model, x)
        as_is = max_difference(ours, transformers_outputs(theirs, x))
        # NoNorm has no epsilon: the students match as they are; the teacher only once the epsilons agree
        assert (as_is > TOLERANCE) == (name == "iberta"), (name, as_is)
        aligned = max_difference(ours, transformers_outputs(align_layer_norm_eps(theirs), x))
        assert aligned < TOLERANCE
        padded = inputs(pad=3)
        ours, theirs = arlm_outputs(model, padded), transformers_outputs(theirs, padded)
        real = ours["sequence_output"][:, :LENGTH - 3] - theirs["sequence_output"][:, :LENGTH - 3]
        # -6 vs the float minimum: the real tokens see the padding differently, far beyond rounding
        assert np.abs(real).max() > 20 * max(aligned, 1e-7), (name, np.abs(real).max(), aligned)


def official_config(config):
    """The official bert_config.json of an arlm config (its field names, no `remat`)."""
    renamed = {arlm: official for official, arlm in convert._RENAMED.items()}
    return {renamed.get(key, key): value for key, value in config.to_dict().items() if key != "remat"}


def write_tf1_checkpoint(variables, prefix):
    """A checkpoint as the official TF1 code saves one, optimizer slots and global step included."""
    import tensorflow as tf

    with tf.Graph().as_default():
        v1 = tf.compat.v1
        created = [v1.get_variable(name, initializer=array) for name, array in variables.items()]
        created += [v1.get_variable(f"{name}/adam_m", initializer=np.zeros_like(array))
                    for name, array in list(variables.items())[:2]]
        created.append(v1.train.get_or_create_global_step())
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver(created).save(session, str(prefix))
    return prefix


@pytest.mark.parametrize("name", ["iberta", "mberta"])
def test_tf1_checkpoint_names_round_trip(name, tmp_path):
    config = tiny(name)
    model = pretrainer_of(config)
    variables = convert.tf1_variables(model)
    h, e, v = config.hidden_size, config.embedding_size, config.vocab_size
    norm = "FakeLayerNorm" if name == "mberta" else "LayerNorm"
    assert variables["cls/predictions/extra_output_weights"].shape == (v, h - e)
    assert variables["cls/seq_relationship/output_weights"].shape == (2, h)
    assert f"bert/embeddings/{norm}/gamma" in variables
    assert ("bert/encoder/layer_1/ffn_layer_2/output/FakeLayerNorm/beta" in variables) == (name == "mberta")
    assert ("bert/encoder/layer_0/bottleneck/attention/dense/kernel" in variables) == (name == "mberta")
    prefix = write_tf1_checkpoint(variables, tmp_path / "ckpt" / "model.ckpt-10")
    (tmp_path / "bert_config.json").write_text(json.dumps({**official_config(config), "bottleneck_size": 1024}))
    back, ignored = convert.from_tf1_checkpoint(prefix, tmp_path / "bert_config.json")
    assert isinstance(back, MobileBertPretrainer) and back.backbone.config == config
    assert "global_step" in ignored and all(n == "global_step" or n.endswith("adam_m") for n in ignored)
    x = inputs(pad=2)
    for key, value in arlm_outputs(model, x).items():
        np.testing.assert_array_equal(arlm_outputs(back, x)[key], value, err_msg=key)


def test_tf1_names_are_those_transformers_reads(tmp_path):
    """transformers' own `load_tf_weights_in_mobilebert` reads the names written here into the same model."""
    transformers = interop()
    from transformers.models.mobilebert.modeling_mobilebert import load_tf_weights_in_mobilebert

    config = tiny("mberta")
    model = pretrainer_of(config)
    prefix = write_tf1_checkpoint(convert.tf1_variables(model), tmp_path / "model.ckpt")
    hf_config = transformers.MobileBertConfig(**convert.transformers_config(config, heads=True))
    theirs = load_tf_weights_in_mobilebert(transformers.MobileBertForPreTraining(hf_config), hf_config, str(prefix))
    x = inputs()
    assert_match(arlm_outputs(model, x), transformers_outputs(theirs.eval(), x))


@pytest.mark.parametrize("saved", ["student.keras", "student_preset"])
def test_cli_round_trip_through_folders(saved, tmp_path, capsys):
    backbone = pretrainer_of(tiny("mberta_ii")).backbone
    source = save_model(backbone, tmp_path / saved)  # a .keras file or a keras-hub preset folder
    assert main(["convert", str(source), "--out", str(tmp_path / "hf")]) == 0
    assert "MobileBertModel" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == sorted(convert.HF_FILES)
    assert main(["convert", str(tmp_path / "hf"), "--out", str(tmp_path / "back.keras")]) == 0
    assert "MobileBertBackbone" in capsys.readouterr().out
    back = load_model(tmp_path / "back.keras")
    x = inputs(pad=2)
    for key, value in arlm_outputs(backbone, x).items():
        np.testing.assert_array_equal(arlm_outputs(back, x)[key], value, err_msg=key)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "model"
    return convert.to_transformers(pretrainer_of(tiny("mberta_ii")), folder)


def copy_of(folder, tmp_path, config=None, tensors=None):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    if config is not None:
        (copy / "config.json").write_text(json.dumps(config(json.loads((copy / "config.json").read_text()))))
    if tensors is not None:
        (copy / "model.safetensors").write_bytes(tensors)
    return copy


def run_convert(source, out, capsys):
    code = main(["convert", str(source), "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return code, err


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: {**c, "model_type": "bert"}, "model_type is 'bert'; expected 'mobilebert'"),
    (lambda c: {**c, "hidden_act": "gelu"}, "hidden_act 'gelu' has no arlm equivalent (transformers' 'gelu' is"),
    (lambda c: {**c, "normalization_type": "batch_norm"}, "normalization_type 'batch_norm'"),
    (lambda c: {**c, "layer_norm_eps": 1e-5}, "layer_norm_eps 1e-05"),
    (lambda c: {**c, "hidden_size": 48}, "has shape"),
])
def test_bad_transformers_configs_are_refused(hf_folder, tmp_path, capsys, change, message):
    code, err = run_convert(copy_of(hf_folder, tmp_path, config=change), tmp_path / "out.keras", capsys)
    assert code == 2 and message in err, err
    assert not (tmp_path / "out.keras").exists()


def test_missing_config_corrupt_and_incomplete_safetensors(hf_folder, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, err = run_convert(tmp_path / "empty", tmp_path / "out.keras", capsys)
    assert code == 2 and "has no config.json" in err
    corrupt = copy_of(hf_folder, tmp_path, tensors=b"\x10\x00\x00\x00\x00\x00\x00\x00{not safetensors")
    code, err = run_convert(corrupt, tmp_path / "out.keras", capsys)
    assert code == 2 and "not a readable safetensors file" in err and str(corrupt / "model.safetensors") in err
    (corrupt / "model.safetensors").unlink()
    code, err = run_convert(corrupt, tmp_path / "out.keras", capsys)
    assert code == 2 and "model.safetensors: no such file" in err
    from safetensors.numpy import load_file, save_file

    tensors = load_file(hf_folder / "model.safetensors")
    del tensors["mobilebert.encoder.layer.1.attention.self.key.weight"]
    save_file(tensors, corrupt / "model.safetensors")
    code, err = run_convert(corrupt, tmp_path / "out.keras", capsys)
    assert code == 2 and "no tensor mobilebert.encoder.layer.1.attention.self.key.weight" in err


def test_configs_transformers_cannot_express_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="normalization_type='manual_layer_norm'"):
        convert.to_transformers(MobileBertBackbone.from_mobilebert_config(
            tiny("iberta", normalization_type="manual_layer_norm")), tmp_path / "out")
    with pytest.raises(ParameterError, match="intra_bottleneck_size=32 with hidden_size=64"):
        convert.transformers_config(tiny("iberta", intra_bottleneck_size=32))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ArtifactError, match="num_feedforward_networks 4 without use_bottleneck"):
        convert.config_from_transformers({"model_type": "mobilebert", "use_bottleneck": False}, "config.json")


def test_cli_refuses_unknown_sources_and_a_tf1_checkpoint_without_config(tmp_path, capsys):
    code, err = run_convert(tmp_path / "nothing", tmp_path / "out.keras", capsys)
    assert code == 2 and "no such file or folder; expected an arlm .keras file" in err
    (tmp_path / "model.ckpt.index").write_bytes(b"")
    code, err = run_convert(tmp_path / "model.ckpt", tmp_path / "out.keras", capsys)
    assert code == 2 and "pass its official bert_config.json as --config" in err
    code = main(["convert", str(tmp_path / "model.ckpt"), "--config", str(tmp_path / "missing.json"),
                 "--out", str(tmp_path / "out.keras")])
    assert code == 2 and "--config" in capsys.readouterr().err
    (tmp_path / "bert_config.json").write_text(json.dumps(official_config(tiny("mberta"))))
    code = main(["convert", str(tmp_path / "model.ckpt"), "--config", str(tmp_path / "bert_config.json"),
                 "--out", str(tmp_path / "out.keras")])
    assert code == 2 and "model.ckpt: not a readable TF checkpoint" in capsys.readouterr().err
    (tmp_path / "bert_config.json").write_text(json.dumps({"vocab_size": 100, "hidden_size": "wide"}))
    with pytest.raises(ArtifactError, match="bert_config.json"):
        convert.config_from_official(json.loads((tmp_path / "bert_config.json").read_text()),
                                     tmp_path / "bert_config.json")
    assert not (tmp_path / "out.keras").exists()


def test_cli_checks_out_before_converting(hf_folder, tmp_path, capsys):
    code, err = run_convert(hf_folder, tmp_path / "model.h5", capsys)
    assert code == 2 and "--out" in err and "ending with .keras" in err
    convert.save_arlm(pretrainer_of(tiny("mberta_ii")), tmp_path / "model.keras")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    code, err = run_convert(tmp_path / "model.keras", tmp_path / "taken", capsys)
    assert code == 2 and "notes.txt" in err and (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_detect_source(hf_folder, tmp_path):
    assert convert.detect_source(hf_folder) == "transformers"
    assert convert.detect_source(tmp_path / "model.keras") == "arlm"
    preset = tmp_path / "preset"  # a keras-hub preset folder: its config.json names a Keras class
    preset.mkdir()
    (preset / "config.json").write_text(json.dumps({"module": "arlm.mobilebert.backbone", "class_name": "X"}))
    assert convert.detect_source(preset) == "arlm"
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-10"\n')
    assert convert.detect_source(tmp_path / "ckpt") == "tf1"


# --- the tokenizer and the classifier's head: what transformers' Auto classes load ---------------------------------


@pytest.fixture(scope="module")
def classifier_folders(tmp_path_factory):
    """A classifier on the shipped student preset (its tokenizer as the preprocessor), and `arlm convert` of it."""
    from arlm.mobilebert import MobileBertTextClassifier

    folder = tmp_path_factory.mktemp("classifier")
    keras.utils.set_random_seed(0)
    classifier = MobileBertTextClassifier.from_preset("mberta-cpu-edition", num_classes=3)
    source = save_model(classifier, folder / "classifier.keras")  # the tokenizer travels inside, as Keras assets
    assert main(["convert", str(source), "--out", str(folder / "hf")]) == 0
    return classifier, folder


def test_auto_classes_of_transformers_give_arlms_ids_and_logits(classifier_folders):
    transformers = interop()
    import torch
    from tricky_texts import LONG_ARABIC_51, TRICKY

    from arlm.saving import load_tokenizer

    classifier, folder = classifier_folders
    assert {"tokenizer.json", "vocab.txt", "tokenizer_config.json", *convert.HF_FILES} == {
        path.name for path in (folder / "hf").iterdir()}
    theirs = transformers.AutoTokenizer.from_pretrained(folder / "hf")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder / "hf").eval()
    assert type(model).__name__ == "MobileBertForSequenceClassification" and model.config.num_labels == 3
    ours = load_tokenizer("mberta-cpu-edition")
    over_100_bytes = {LONG_ARABIC_51, "😀" * 26}  # the one rule tokenizer.json cannot say (arlm.hf_tokenizer)
    for index, text in enumerate(TRICKY):
        encoded = theirs(text, return_tensors="pt")
        ids = encoded["input_ids"][0].tolist()
        assert (ids == [ours.cls_id, *ours.encode(text), ours.sep_id]) == (text not in over_100_bytes), repr(text)
        if index % 3:
            continue  # the logits of every third text (an eager call each) suffice
        with torch.no_grad():
            logits = model(**encoded).logits.numpy()
        x = {"token_ids": np.array([ids], "int32"), "segment_ids": np.zeros((1, len(ids)), "int32"),
             "padding_mask": np.ones((1, len(ids)), "int32")}  # unpadded: arlm's -6 and torch's mask differ
        np.testing.assert_allclose(logits, ops.convert_to_numpy(classifier(x)), rtol=0, atol=1e-4, err_msg=text)


def test_the_tokenizer_comes_back_from_transformers(classifier_folders, capsys):
    from arlm.saving import load_tokenizer

    classifier, folder = classifier_folders
    texts = ["وَأَقُولُ: الخدمة ممتازة", "سيئ جدا", "ﻻ ١٢٣"]
    expected = classifier.predict(texts, verbose=0)
    for out in (folder / "back", folder / "back.keras"):  # a preset folder, and a .keras file
        assert main(["convert", str(folder / "hf"), "--out", str(out)]) == 0
        assert "MobileBertTextClassifier" in capsys.readouterr().out
        back = load_model(out, compile=False)
        np.testing.assert_allclose(back.predict(texts, verbose=0), expected, atol=1e-5)
    assert load_tokenizer(folder / "back").vocab == load_tokenizer("mberta-cpu-edition").vocab


def test_a_tokenizer_other_than_arlms_is_not_taken_back(classifier_folders, tmp_path, capsys):
    _, folder = classifier_folders
    copy = copy_of(folder / "hf", tmp_path)
    written = json.loads((copy / "tokenizer.json").read_text(encoding="utf-8"))
    written["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                             "strip_accents": None, "lowercase": True}
    (copy / "tokenizer.json").write_text(json.dumps(written), encoding="utf-8")
    tokens, why = convert.read_tokenizer(copy)
    assert tokens is None and "not arlm's tokenizer" in why
    assert main(["convert", str(copy), "--out", str(tmp_path / "back")]) == 0
    assert "tokenizer not kept" in capsys.readouterr().out
    assert load_model(tmp_path / "back", compile=False).preprocessor is None
    assert not (tmp_path / "back" / "tokenizer.json").exists()


def test_a_vocabulary_for_a_keras_file_without_one(tmp_path, capsys):
    backbone = pretrainer_of(tiny("mberta_ii")).backbone
    source = save_model(backbone, tmp_path / "student.keras")
    assert main(["convert", str(source), "--out", str(tmp_path / "hf")]) == 0
    assert "no tokenizer" in capsys.readouterr().out
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"w{i}" for i in range(95))]) + "\n")
    assert main(["convert", str(source), "--vocab", str(vocab), "--out", str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "vocab.txt").read_text() == vocab.read_text()
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "w"]) + "\n")
    assert main(["convert", str(source), "--vocab", str(vocab), "--out", str(tmp_path / "hf")]) == 2
    assert "the vocabulary has 6 tokens but the model's word embedding 100 rows" in capsys.readouterr().err
