"""The resumable training loop: exact resume with dropout, verified checkpoints and their fallbacks, history,
finished stages, and prediction in full batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from arlm import fitting  # noqa: E402
from arlm.errors import ArtifactError, ParameterError  # noqa: E402

pytestmark = pytest.mark.backend


def make_dataset():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(40, seed=3).batch(4).repeat()


def fresh_model(seed=1):
    """A small classifier with dropout, so an exact resume needs the dropout RNG state too."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras.utils.set_random_seed(1)  # the run's seed (the data order depends on it), as a rerun of the book sets it
    return model


def weights(model):
    return [keras.ops.convert_to_numpy(v) for v in model.weights]


class StopAt(keras.callbacks.Callback):
    """Raises at the end of epoch ``epoch`` (after that epoch's checkpoint): an interrupted process."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    model = fresh_model()
    records = fitting.fit_resumable(model, make_dataset, 12, 4, tmp_path_factory.mktemp("ref"), verbose=0)
    return weights(model), records


def interrupted(tmp_path, epoch):
    with pytest.raises(KeyboardInterrupt):
        fitting.fit_resumable(fresh_model(), make_dataset, 12, 4, tmp_path, verbose=0, callbacks=[StopAt(epoch)])


def test_resume_with_dropout_is_bit_identical(tmp_path, reference):
    interrupted(tmp_path, 0)
    resumed = fresh_model(seed=99)  # another initialisation, another dropout seed: everything comes from disk
    records = fitting.fit_resumable(resumed, make_dataset, 12, 4, tmp_path, verbose=0)
    for got, want in zip(weights(resumed), reference[0], strict=True):
        np.testing.assert_array_equal(got, want)
    assert [r["step"] for r in records] == list(range(1, 13))
    assert [r["loss"] for r in records] == [r["loss"] for r in reference[1]]


def test_a_finished_run_restores_instead_of_training_again(tmp_path, reference):
    interrupted(tmp_path, 2)  # killed after its last checkpoint, before anything else happened
    again = fresh_model(seed=5)
    records = fitting.fit_resumable(again, make_dataset, 12, 4, tmp_path, verbose=0)
    for got, want in zip(weights(again), reference[0], strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(records) == 12 and int(keras.ops.convert_to_numpy(again.optimizer.iterations)) == 12


def test_an_unreadable_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, reference, capsys):
    interrupted(tmp_path, 1)
    newest = tmp_path / "checkpoints" / "ckpt-8.npz"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    resumed = fresh_model(seed=7)
    fitting.fit_resumable(resumed, make_dataset, 12, 4, tmp_path, verbose=0)
    assert "checkpoint at step 8 skipped" in capsys.readouterr().out
    for got, want in zip(weights(resumed), reference[0], strict=True):
        np.testing.assert_array_equal(got, want)


def test_arrays_newer_than_their_record_are_not_used(tmp_path, reference, capsys):
    interrupted(tmp_path, 1)
    folder = tmp_path / "checkpoints"
    (folder / "ckpt-4.npz").write_bytes((folder / "ckpt-8.npz").read_bytes())
    (folder / "ckpt-8.json").unlink()  # the newer record was never written: only step 4's record remains
    resumed = fresh_model(seed=7)
    fitting.fit_resumable(resumed, make_dataset, 12, 4, tmp_path, verbose=0)
    assert "checkpoint at step 4 skipped" in capsys.readouterr().out  # its arrays do not match: start over
    assert int(keras.ops.convert_to_numpy(resumed.optimizer.iterations)) == 12


def test_a_truncated_only_checkpoint_starts_over(tmp_path, reference):
    interrupted(tmp_path, 0)
    (tmp_path / "checkpoints" / "ckpt-4.json").write_text('{"format": 1, "st')
    model = fresh_model()
    records = fitting.fit_resumable(model, make_dataset, 12, 4, tmp_path, verbose=0)
    assert [r["step"] for r in records] == list(range(1, 13))
    for got, want in zip(weights(model), reference[0], strict=True):
        np.testing.assert_array_equal(got, want)


def test_other_parameters_or_another_model_are_refused(tmp_path):
    interrupted(tmp_path, 0)
    with pytest.raises(ParameterError, match="holds a run of 12 updates checkpointed every 4"):
        fitting.fit_resumable(fresh_model(), make_dataset, 16, 4, tmp_path, verbose=0)
    wider = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.Dense(3)])
    wider.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ArtifactError, match="another model's variables"):
        fitting.fit_resumable(wider, make_dataset, 12, 4, tmp_path, verbose=0)


def test_history_is_appended_per_checkpoint_and_only_two_checkpoints_are_kept(tmp_path, reference):
    fitting.fit_resumable(fresh_model(), make_dataset, 12, 4, tmp_path, verbose=0)
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [f"{s:012d}.json" for s in (4, 8, 12)]
    assert fitting.Checkpoints(tmp_path / "checkpoints").steps() == [12, 8]
    assert fitting.read_history(tmp_path / "history") == reference[1]


def test_epochs_end_at_every_checkpoint_and_hook_step():
    assert fitting.epoch_length(30, 10) == 10
    assert fitting.epoch_length(1000, 250, [250, 500, 750, 1000]) == 250
    assert fitting.epoch_length(50, 10, [25]) == 5
    assert fitting.epoch_length(7, 10) == 1


def test_a_stage_runs_once_until_its_output_changes(tmp_path, capsys):
    stage = fitting.Stage(tmp_path / "stage")
    assert stage.finished is None
    output = tmp_path / "stage" / "model.bin"
    output.parent.mkdir()
    output.write_bytes(b"trained")
    (tmp_path / "stage" / "checkpoints").mkdir()
    stage.finish({"model": output}, {"accuracy": 0.75})
    assert not (tmp_path / "stage" / "checkpoints").exists()
    assert fitting.Stage(tmp_path / "stage").finished["result"] == {"accuracy": 0.75}
    assert fitting.Stage(tmp_path / "stage").output("model") == output
    output.write_bytes(b"changed")
    assert fitting.Stage(tmp_path / "stage").finished is None
    assert "missing or changed" in capsys.readouterr().out


def test_predict_pads_the_last_batch_and_drops_the_padding():
    x = keras.Input((3,), name="x")
    model = keras.Model({"x": x}, keras.layers.Dense(2)(x))
    inputs = {"x": np.arange(30, dtype="float32").reshape(10, 3)}
    out = fitting.predict(model, inputs, batch_size=4)
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(model(inputs)), rtol=1e-5, atol=1e-5)


def test_a_stage_with_other_parameters_in_the_same_folder_is_refused(tmp_path):
    fitting.Stage(tmp_path / "stage", {"teacher_steps": 30, "seed": 1})
    fitting.Stage(tmp_path / "stage", {"teacher_steps": 30, "seed": 1})  # the same: resumed or reused
    with pytest.raises(ParameterError, match=r"other parameters \(teacher_steps: 30 there, 60 now\)"):
        fitting.Stage(tmp_path / "stage", {"teacher_steps": 60, "seed": 1})


def test_a_full_disk_during_a_checkpoint_loses_nothing_written_before(tmp_path, reference, monkeypatch):
    import errno

    real = np.savez
    calls = []

    def savez(handle, **arrays):
        calls.append(1)
        if len(calls) == 2:  # the second checkpoint: the disk fills up half-way
            handle.write(b"PK\x03\x04 partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(handle, **arrays)

    monkeypatch.setattr(np, "savez", savez)
    with pytest.raises(OSError, match="No space left"):
        fitting.fit_resumable(fresh_model(), make_dataset, 12, 4, tmp_path, verbose=0)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ckpt-4.json", "ckpt-4.npz"]
    monkeypatch.setattr(np, "savez", real)  # space freed: the same command again
    resumed = fresh_model(seed=3)
    fitting.fit_resumable(resumed, make_dataset, 12, 4, tmp_path, verbose=0)
    for got, want in zip(weights(resumed), reference[0], strict=True):
        np.testing.assert_array_equal(got, want)


def test_gradient_accumulation_checkpoints_and_logs_updates(tmp_path):
    # 2 micro-batches of 2 per update: 6 updates of 4 examples, as a resumed run and as an uninterrupted one
    def accumulating(seed):
        model = fresh_model(seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-2, gradient_accumulation_steps=2), run_eagerly=True,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        keras.utils.set_random_seed(1)
        return model

    def halves():
        return make_dataset().unbatch().batch(2)

    straight = accumulating(1)
    records = fitting.fit_resumable(straight, halves, 6, 2, tmp_path / "a", verbose=0)
    assert [r["step"] for r in records] == list(range(1, 7))
    assert int(keras.ops.convert_to_numpy(straight.optimizer.iterations)) == 6  # updates
    with pytest.raises(KeyboardInterrupt):
        fitting.fit_resumable(accumulating(1), halves, 6, 2, tmp_path / "b", verbose=0, callbacks=[StopAt(1)])
    resumed = accumulating(8)
    fitting.fit_resumable(resumed, halves, 6, 2, tmp_path / "b", verbose=0)
    for got, want in zip(weights(resumed), weights(straight), strict=True):
        np.testing.assert_array_equal(got, want)
