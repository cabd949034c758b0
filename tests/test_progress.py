"""Progress in a notebook or a log: a few plain lines per loop, never one per step."""

import io
from unittest import mock

from arlm.progress import LINES, Progress


def test_a_long_loop_prints_a_few_lines_with_figures_and_time_left():
    out = io.StringIO()
    with Progress(total=1000, desc="iberta", stream=out) as progress:
        for step in range(1000):
            progress.update(1, loss=9.0 - step / 1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == LINES + 1 and "\r" not in out.getvalue()
    assert lines[0].startswith("iberta: 1/1,000 (0%) loss 9")
    assert lines[-1].startswith("iberta: 1,000/1,000 (100%)") and "left" not in lines[-1]
    assert "left]" in lines[1]


def test_the_time_left_is_measured_after_the_first_step_which_also_compiles():
    out, clock = io.StringIO(), [0.0]
    with mock.patch("arlm.progress.time.perf_counter", lambda: clock[0]):
        progress = Progress(total=100, desc="iberta", stream=out)
        clock[0] = 100.0  # the first step traces and compiles
        progress.update(1)
        for _ in range(24):
            clock[0] += 1.0  # then 1 s a step
            progress.update(1)
    first, second = out.getvalue().splitlines()
    assert first == "iberta: 1/100 (1%) [1m40s]"
    assert second == "iberta: 25/100 (25%) [2m04s, 1m15s left]"


def test_a_loop_of_unknown_length_prints_its_count_at_the_end():
    out = io.StringIO()
    progress = Progress(desc="pretraining instances", unit="instances", stream=out)
    progress.update(500, shards=1)
    progress.update(700, shards=2)
    progress.close()
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith("pretraining instances: 1,200 instances shards 2 [")


def test_a_resumed_loop_starts_at_its_step_and_disable_prints_nothing():
    out = io.StringIO()
    with Progress(total=10, desc="kt", initial=6, stream=out) as progress:
        progress.update(1)
    assert out.getvalue().startswith("kt: 7/10 (70%)")
    quiet = io.StringIO()
    with Progress(total=10, stream=quiet, disable=True) as progress:
        progress.update(10)
    assert quiet.getvalue() == ""
