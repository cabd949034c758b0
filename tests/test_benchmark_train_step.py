"""benchmarks/train_step.py at a toy shape (one block, batch 2, small peak matmuls, no PyTorch side), in this
process: on a CPU with bfloat16 units both precisions, the goals and the per-op profile; on one without, float32
only, said so."""

import importlib
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
CPUS = {"amx": "flags\t\t: fpu avx512f amx_bf16 amx_tile\n", "laptop": "flags\t\t: fpu sse4_2 avx2 fma\n"}


def run(tmp_path, monkeypatch, capsys, cpu, *args):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    train_step = importlib.import_module("train_step")
    (tmp_path / cpu).write_text(CPUS[cpu])
    assert train_step.main(["--layers", "1", "--batch", "2", "--rounds", "1", "--steps", "1", "--peak-size", "256",
                            "--skip-reference", "--cpuinfo", str(tmp_path / cpu), *args]) == 0
    return capsys.readouterr().out


def test_both_precisions_with_goals_and_profile_on_a_bfloat16_cpu(tmp_path, monkeypatch, capsys):
    out = run(tmp_path, monkeypatch, capsys, "amx", "--profile")
    assert "bfloat16 units: amx_bf16, amx_tile" in out
    assert "arlm  float32" in out and "arlm  mixed_bfloat16" in out
    assert "goal 2, arlm bfloat16 >= 30% of the bfloat16 matmul peak" in out
    assert "PyTorch reference NOT measured: skipped" in out
    assert "encoder blocks: matmul" in out  # the profile, grouped


def test_float32_only_on_a_cpu_without_bfloat16_units(tmp_path, monkeypatch, capsys):
    out = run(tmp_path, monkeypatch, capsys, "laptop")
    assert "NONE: this CPU emulates bfloat16, so only float32 is timed" in out
    assert "arlm  float32" in out and "mixed_bfloat16" not in out and "goal" not in out
