"""Export a tiny fine-tuned model to TFLite in every precision and evaluate each file against Keras."""

import argparse

import numpy as np
import pytest
from quantization_helpers import MAX_SEQ, finetuned_classifier

from arlm.artifacts import model_entry
from arlm.errors import ParameterError
from arlm.predict import Predictor
from arlm.quantization import PRECISIONS
from arlm.quantization.evaluate import accuracy, evaluate_files, keras_outputs, span_accuracy, token_accuracy
from arlm.quantization.export import export_all, export_tflite, write_sidecar
from arlm.quantization.latency import measure_files
from arlm.quantization.sizes import checkpoint_bytes, du_mib, paper_rows, table4
from arlm.quantization.study import heads_on
from arlm.saving import save_model

TEXT = "الخدمة ممتازة والموظفين محترمين"
PASSAGE = "تقع مدينة الرياض في وسط المملكة العربية السعودية وهي العاصمة"


@pytest.fixture(scope="module")
def finetuned():
    return finetuned_classifier()


def test_every_precision_exports_with_the_fixed_signature(finetuned):
    from arlm.quantization.interpreter import TFLiteModel

    for path in finetuned["files"].values():
        loaded = TFLiteModel(path, num_threads=1)
        assert (loaded.batch_size, loaded.max_seq_length) == (1, MAX_SEQ)
        assert loaded.output_names and path.stat().st_size > 0


def test_float32_tflite_predicts_what_keras_predicts(finetuned):
    rows = evaluate_files(
        finetuned["model"], {"float32": finetuned["files"]["float32"]}, finetuned["test"], finetuned["labels"]
    )
    keras_row, tflite_row = rows
    assert tflite_row["agreement"] == 1.0
    assert tflite_row["max_logit_diff"] < 1e-4
    assert tflite_row["metric"] == keras_row["metric"]


def test_quantized_files_stay_close_to_keras(finetuned):
    rows = {
        r["precision"]: r
        for r in evaluate_files(
            finetuned["model"],
            finetuned["files"],
            finetuned["test"],
            finetuned["labels"],
            metric=accuracy,
            num_threads=1,
        )
    }
    majority = np.bincount(finetuned["labels"]).max() / len(finetuned["labels"])
    assert rows["keras"]["metric"] > majority  # it learned something from the training texts
    for precision in PRECISIONS:
        assert rows[precision]["agreement"] >= 0.9, rows[precision]
        assert abs(rows[precision]["metric"] - rows["keras"]["metric"]) <= 0.1, rows[precision]
    assert rows["float16"]["max_logit_diff"] < 0.05


def test_onnx_files_predict_what_keras_predicts(finetuned):
    if not finetuned["onnx_files"]:
        pytest.skip("the onnx extra (onnx, onnxruntime, tf2onnx) is not installed: pip install 'arlm[onnx]'")
    rows = {
        r["precision"]: r
        for r in evaluate_files(finetuned["model"], finetuned["onnx_files"], finetuned["test"], finetuned["labels"],
                                num_threads=1)
    }
    assert rows["float32"]["agreement"] == 1.0 and rows["float32"]["max_logit_diff"] < 1e-4
    assert rows["dynamic"]["agreement"] >= 0.9, rows["dynamic"]
    assert abs(rows["dynamic"]["metric"] - rows["keras"]["metric"]) <= 0.1, rows["dynamic"]
    sizes = {p: path.stat().st_size for p, path in finetuned["onnx_files"].items()}
    # int8 weights; the long tensor names of the graph weigh more in a tiny model than in the .tflite file
    assert sizes["dynamic"] <= 0.4 * sizes["float32"]


def test_onnx_export_refuses_what_it_cannot_write(finetuned, tmp_path):
    from arlm.quantization.onnx_export import export_onnx

    with pytest.raises(ParameterError, match="--quantize"):
        export_onnx(finetuned["model"], tmp_path / "x.onnx", "int8")
    with pytest.raises(ParameterError, match=".onnx"):
        export_onnx(finetuned["model"], tmp_path / "x.tflite", "float32")


def test_dynamic_range_int8_is_at_most_35_percent_of_float32(finetuned):
    sizes = {p: path.stat().st_size for p, path in finetuned["files"].items()}
    params = finetuned["model"].count_params()
    assert sizes["dynamic"] <= 0.35 * sizes["float32"]
    assert sizes["int8"] <= 0.35 * sizes["float32"]
    assert 3.9 * params < sizes["float32"] < 4.4 * params  # float32: 4 bytes per parameter, the paper's column
    assert 1.9 * params < sizes["float16"] < 2.4 * params


@pytest.mark.parametrize("head", ["tagging", "qa"])
def test_tagger_and_qa_heads_export_and_evaluate(finetuned, head):
    # chapter 6 puts untrained arlm.mobilebert task heads on the fine-tuned backbone when chapter 5 saved none
    tagger, span_qa = heads_on(finetuned["model"], num_tags=5, max_seq_length=MAX_SEQ)
    model = tagger if head == "tagging" else span_qa
    features = finetuned["test"]
    reference = keras_outputs(model, features)
    files = export_all(model, finetuned["folder"], head, ("float32", "int8"), features, MAX_SEQ)
    if head == "tagging":
        labels, metric = np.argmax(reference["logits"], -1), token_accuracy
    else:
        labels = (np.argmax(reference["start_logits"], -1), np.argmax(reference["end_logits"], -1))
        metric = span_accuracy
    rows = evaluate_files(model, files, features, labels, metric=metric, reference=reference)
    rows = {r["precision"]: r for r in rows}
    assert rows["keras"]["metric"] == 1.0
    assert rows["float32"]["agreement"] == 1.0 and rows["float32"]["metric"] == 1.0
    # an untrained head has near-ties, so judge int8 by how far its logits move relative to their range: a tenth of
    # it (the span head's worst logit moved by 0.0507 of its range on one run, 0.03-0.045 on others)
    spread = max(float(np.ptp(v)) for v in reference.values())
    assert rows["int8"]["max_logit_diff"] < 0.1 * spread
    # the on-device path reads the same file (tests/test_predict.py covers the TF-free process)
    labels = ["[PAD]", "NOUN", "VERB", "ADJ", "X"] if head == "tagging" else []
    write_sidecar(files["int8"], finetuned["vocab"], head, labels, MAX_SEQ, "int8")
    predictor = Predictor(files["int8"], num_threads=1)
    if head == "tagging":
        tagged = predictor.predict(TEXT)
        assert [word for word, _ in tagged] == TEXT.split() and all(tag in labels for _, tag in tagged)
    else:
        answer = predictor.predict("اين تقع الرياض", context=PASSAGE)["answer"]
        assert answer and answer in PASSAGE


def test_latency_rows_cover_precisions_and_threads(finetuned):
    files = {p: finetuned["files"][p] for p in ("float32", "dynamic")}
    rows = measure_files(files, threads=(1, 2), runs=3, warmup=1)
    assert [(r["precision"], r["num_threads"]) for r in rows] == [
        ("float32", 1),
        ("float32", 2),
        ("dynamic", 1),
        ("dynamic", 2),
    ]
    assert all(r["latency_ms"] > 0 and r["throughput"] > 0 and r["memory_mib"] >= 0 for r in rows)


def test_isolated_latency_times_each_format_in_its_own_process(finetuned):
    files = {"float32": finetuned["files"]["float32"], **{f"onnx {p}": f for p, f in finetuned["onnx_files"].items()}}
    rows = measure_files(files, threads=(1, 2), runs=2, warmup=1, isolated=True)
    assert [(r["precision"], r["num_threads"]) for r in rows] == [(name, n) for name in files for n in (1, 2)]
    assert all(r["latency_ms"] > 0 and r["memory_mib"] > 0 for r in rows)


def test_op_profile_times_every_op_and_names_those_off_xnnpack(finetuned):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from arlm.quantization.profile import by_op, op_profile

    for precision in ("float32", "float16", "int8"):
        path = finetuned["files"][precision]
        rows = op_profile(path, num_threads=1, runs=2, warmup=1)
        builtin = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        assert sum(r["count"] for r in rows) == len(builtin._get_ops_details())  # every op, once
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
        assert all(r["ms"] >= 0 and r["ms_builtin"] >= 0 for r in rows)
        ops = {entry["op"]: entry for entry in by_op(rows)}
        assert ops["FULLY_CONNECTED"]["off_xnnpack"] == 0 and ops["FULLY_CONNECTED"]["ms"] > 0
        if precision == "float16":  # the weights' DEQUANTIZE runs once at load; XNNPACK folds it into its users
            assert ops["DEQUANTIZE"]["ms"] == 0
    # XNNPACK has no int8 kernel for the attention's batch matmuls: they run on TFLite's reference kernels
    assert ops["BATCH_MATMUL"]["off_xnnpack"] > 0


def test_profile_finding_names_the_ops_each_file_moves_off_xnnpack():
    from arlm.quantization.profile import profile_finding

    def entry(op, count, off, share):
        return {"op": op, "count": count, "off_xnnpack": off, "ms": share, "share": share}

    profiles = {"float32": [entry("FULLY_CONNECTED", 10, 0, 0.9), entry("GATHER", 2, 2, 0.1)],
                "int8": [entry("BATCH_MATMUL", 4, 4, 0.6), entry("FULLY_CONNECTED", 10, 0, 0.3),
                         entry("GATHER", 2, 2, 0.1)],
                "int8_mixed": [entry("FULLY_CONNECTED", 10, 0, 0.8), entry("GATHER", 2, 2, 0.2)]}
    text = profile_finding(profiles, {"float32": 2.0, "int8": 4.0, "int8_mixed": 1.0}, "m, 1 thread")
    lines = text.splitlines()
    assert "`GATHER`" in lines[0]
    assert "0.50x the float32 speed (slower)" in lines[1] and "`BATCH_MATMUL` (4 of 4), 60%" in lines[1]
    assert "GATHER" not in lines[1]  # off XNNPACK in float32 too: not this file's doing
    assert "2.00x the float32 speed (faster)" in lines[2] and "runs here too" in lines[2]


def test_builtin_kernels_compute_what_xnnpack_computes(finetuned):
    from arlm.quantization.interpreter import TFLiteModel

    path = finetuned["files"]["dynamic"]
    features = {name: values[:4] for name, values in finetuned["test"].items()}
    delegated = TFLiteModel(path, num_threads=1)(features)["logits"]
    builtin = TFLiteModel(path, num_threads=1, xnnpack=False)(features)["logits"]
    np.testing.assert_allclose(builtin, delegated, atol=0.05)  # both quantize activations per row, to int8
    assert measure_files({"dynamic": path}, threads=(1,), runs=2, warmup=1, xnnpack=False)[0]["xnnpack"] is False


def test_table4_sizes_follow_the_paper_arithmetic():
    # spec 2.4: MBERTA 23,680,770 parameters -> 272 MiB with Adam slots, 91 MiB at 4 bytes per parameter
    assert du_mib(checkpoint_bytes(23_680_770)) == 272
    assert du_mib(checkpoint_bytes(14_179_074)) == 163
    row = table4({"mberta": {"parameters": 23_680_770, "files": {"dynamic": 23_700_000}}})[0]
    assert (row["finetuned_mib"], row["paper_finetuned_mb"]) == (272, 272)
    assert (row["float32_estimate_mib"], row["paper_quantized_mb"]) == (91, 91)
    assert row["dynamic_bytes_per_param"] == pytest.approx(1.0, abs=0.01)
    assert all(3.95 < r["quantized_bytes_per_param"] < 4.1 for r in paper_rows())


def test_bad_precision_and_missing_calibration_are_named(finetuned, tmp_path):
    with pytest.raises(ParameterError, match="--quantize"):
        export_tflite(finetuned["model"], tmp_path / "x.tflite", "int4")
    with pytest.raises(ParameterError, match="representative"):
        export_tflite(finetuned["model"], tmp_path / "x.tflite", "int8")
    with pytest.raises(ParameterError, match=".tflite"):
        export_tflite(finetuned["model"], tmp_path / "x.bin", "float32")


def test_cli_export_writes_file_sidecar_and_vocabulary(finetuned, tmp_path):
    from arlm.cli import export as cli_export

    models = tmp_path / "models"
    models.mkdir()
    save_model(finetuned["model"], models / "tiny_ajgt.keras")
    write_json_index(models, finetuned["vocab"])
    assert model_entry(models)[1]["labels"] == ["negative", "positive"]
    parser = argparse.ArgumentParser()
    cli_export.register(parser.add_subparsers())
    out = tmp_path / "tiny.dynamic.tflite"
    args = parser.parse_args(["export", str(models), "--quantize", "dynamic", "--out", str(out)])
    assert args.func(args) == 0
    assert out.is_file() and out.with_suffix(".json").is_file() and out.with_suffix(".vocab.txt").is_file()
    if finetuned["onnx_files"]:  # --format onnx (or an .onnx --out) writes the ONNX Runtime file the same way
        out = tmp_path / "tiny.dynamic.onnx"
        args = parser.parse_args(["export", str(models), "--format", "onnx", "--out", str(out)])
        assert args.func(args) == 0
        assert out.is_file() and out.with_suffix(".json").is_file() and out.with_suffix(".vocab.txt").is_file()
        assert Predictor(out, num_threads=1).predict(TEXT)["label"] in ["negative", "positive"]
    with pytest.raises(ParameterError, match="--quantize"):
        args = parser.parse_args(["export", str(models), "--quantize", "int8", "--out", str(tmp_path / "x.onnx")])
        args.func(args)
    # int8 calibrated on texts in the encoding the user names (Windows Arabic here)
    texts = tmp_path / "calibration.txt"
    texts.write_bytes(f"{TEXT}\r\n{TEXT} {TEXT}\r\n".encode("cp1256"))
    out = tmp_path / "tiny.int8.tflite"
    args = parser.parse_args(["export", str(models), "--quantize", "int8", "--calibration", str(texts),
                              "--encoding", "cp1256", "--out", str(out)])
    assert args.func(args) == 0 and out.is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left


def test_cli_export_of_a_preset_uses_its_vocabulary_and_metadata(finetuned, tmp_path):
    import json

    from arlm.cli import export as cli_export

    preset = save_model(finetuned["model"], tmp_path / "preset", tokenizer=finetuned["vocab"],
                        metadata={"task": "classification", "labels": ["negative", "positive"],
                                  "max_seq_length": MAX_SEQ})
    parser = argparse.ArgumentParser()
    cli_export.register(parser.add_subparsers())
    out = tmp_path / "tiny.float32.tflite"
    args = parser.parse_args(["export", str(preset), "--quantize", "float32", "--out", str(out)])
    assert args.func(args) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["labels"] == ["negative", "positive"] and sidecar["max_seq_length"] == MAX_SEQ
    assert out.with_suffix(".vocab.txt").read_text(encoding="utf-8") == finetuned["vocab"].read_text(encoding="utf-8")


def write_json_index(models, vocab):
    from arlm.files import write_json

    write_json(
        models / "index.json",
        {
            "tiny_ajgt": {
                "task": "classification",
                "labels": ["negative", "positive"],
                "max_seq_length": MAX_SEQ,
                "vocab": str(vocab),
            }
        },
    )


def test_sidecar_records_what_predict_needs(finetuned, tmp_path):
    import json

    path = tmp_path / "m.tflite"
    path.write_bytes(finetuned["files"]["float32"].read_bytes())
    write_sidecar(path, finetuned["vocab"], "classification", ["0", "1"], MAX_SEQ, "float32")
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["vocab"] == "m.vocab.txt" and info["labels"] == ["0", "1"] and info["max_seq_length"] == MAX_SEQ


def test_converter_settings_read_as_names():
    from arlm.quantization import PRECISIONS, export

    settings = {precision: export.converter_settings(precision) for precision in PRECISIONS}
    assert settings["float32"] == {"supported_ops": "TFLITE_BUILTINS"}
    assert settings["int8"]["representative_dataset"] == "calibration examples"
    assert settings["float16"]["supported_types"] == "float16"
    assert not any("<" in value for row in settings.values() for value in row.values())


def test_chapter6_exports_the_first_tasks_classifiers_students_first_then_one_tagger_and_one_qa_model():
    from arlm.quantization.study import choose_models

    index = {stem: {"task": stem.split("_", 1)[1]} for stem in
             ("iberta_ajgt", "mberta_ajgt", "mberta_astd_b", "mberta_padt", "iberta_padt", "mberta_arcd")}
    kinds = {stem: {"padt": "tagging", "arcd": "qa"}.get(meta["task"], "classification")
             for stem, meta in index.items()}
    first_task, chosen = choose_models(index, kinds)
    assert first_task == "ajgt" and list(chosen) == ["mberta_ajgt", "iberta_ajgt", "mberta_padt", "mberta_arcd"]
    assert list(choose_models(index, kinds, max_classifiers=1)[1]) == ["mberta_ajgt", "mberta_padt", "mberta_arcd"]


def test_the_headline_of_chapter_6s_results():
    from arlm.quantization.study import headline

    evaluation = [{"model": "m", "precision": p, "bytes": b, "metric": v}
                  for p, b, v in (("keras", 0, 0.80), ("float32", 400, 0.80), ("dynamic", 100, 0.78),
                                  ("int8_mixed", 110, 0.77))] + [{"model": "other", "precision": "dynamic",
                                                                   "bytes": 1, "metric": 0.0}]
    latency = [{"model": "m", "precision": p, "num_threads": t, "latency_ms": ms}
               for p, t, ms in (("float32", 1, 10.0), ("dynamic", 1, 4.0), ("int8_mixed", 1, 5.0),
                                ("float32", 2, 6.0), ("dynamic", 2, 1.0))]
    assert headline(evaluation, latency, "m") == pytest.approx({
        "dynamic_over_float32_size": 0.25, "dynamic_speedup_1_thread": 2.5, "dynamic_accuracy_drop": 0.02,
        "int8_mixed_speedup_1_thread": 2.0})
