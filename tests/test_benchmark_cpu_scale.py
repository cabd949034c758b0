"""benchmarks/cpu_scale.py: which settings it times on a CPU with and without bfloat16 units, and one run with
every model shrunk (one block, batch 2, short sequences) that estimates every chapter from the committed
edition's times."""

import importlib
from pathlib import Path

import pytest

from arlm.book import edition

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SHAPE = ["num_layers=1", "hidden_size=32", "batch_size=2", "finetune_batch_size=2", "max_seq_length=16",
         "max_predictions_per_seq=2", "finetune_max_seq_length=8", "jit_compile=false"]


@pytest.fixture
def cpu_scale(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("cpu_scale")


@pytest.mark.parametrize("flags", [("amx_tile",), ()])
def test_the_edition_as_it_ran_then_the_current_preset_in_bfloat16_only_on_a_cpu_with_units(cpu_scale, flags):
    from arlm.scales import SCALES

    manifest = edition.read_manifest()
    configs = cpu_scale.settings(manifest, flags, {"teacher_steps": 8000}, {"num_layers": 1})
    (first, ran), *current = configs.items()
    assert first == f"edition ({manifest['precision']['policy']}, as it ran)"
    assert ran.teacher_steps == manifest["preset"]["teacher_steps"] and ran.num_layers == 1
    assert ran.mixed_precision == (manifest["precision"]["policy"] == "mixed_bfloat16")
    assert [(label, cfg.mixed_precision) for label, cfg in current] == [
        ("current cpu preset, bfloat16", True)] * bool(flags) + [("current cpu preset, float32", False)]
    assert all(cfg.teacher_steps == 8000 and cfg.num_layers == 1 for _, cfg in current)
    assert all(cfg.batch_size == SCALES["cpu"]["batch_size"] for _, cfg in current)


def test_estimates_every_chapter_from_the_editions_times(cpu_scale, tmp_path, capsys):
    from arlm import runtime
    from arlm.scales import resolve

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f amx_bf16 amx_tile\n")
    shape = [arg for pair in SHAPE for arg in ("--shape", pair)]
    try:
        assert cpu_scale.main(["--rounds", "1", "--steps", "1", "--cpuinfo", str(cpuinfo),
                               "--set", "teacher_steps=8000", *shape]) == 0
    finally:
        runtime.setup(resolve("tiny"), verbose=False)  # float32 again for the tests that follow
    out = capsys.readouterr().out
    manifest = edition.read_manifest()
    ratio = 8000 / manifest["preset"]["teacher_steps"]
    assert f"teacher tokens {8000 * 2 * 16:,} ({ratio:.1f}x the edition's)" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("0", "total"))}
    assert set(rows) == {*manifest["chapters"], "total"}
    assert all(len(values) == 3 for values in rows.values())  # the edition's, bfloat16, float32
    assert rows["01_corpus"][0] == rows["01_corpus"][1] == rows["01_corpus"][2]  # trains nothing
    assert float(rows["total"][0]) == pytest.approx(manifest["total_seconds"] / 60, abs=0.05)
