"""One progress indicator per loop: a tqdm bar in a terminal, a few plain lines in a notebook or a log.

A notebook executed by papermill keeps every redraw of a text bar in its outputs, and a widget bar needs
JavaScript that the offline book does not ship. So where standard output is not a terminal, a loop prints at
most ``LINES + 1`` short lines (at every ``1 / LINES`` of the way and at the end), each with the elapsed time,
the time left and the loop's latest figures. The time left is measured from the first update on: a training
loop's first step also traces and compiles, which would inflate it many times over.

>>> with Progress(total=3, desc="shards") as progress:     # doctest: +SKIP
...     for shard in shards:
...         progress.update(1, words=f"{n:,}")
"""

import sys
import time

LINES = 4


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else (
        f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s")


class Progress:
    """Progress of a loop of ``total`` items (None: unknown), labelled ``desc``.

    Args:
        total: number of items (or steps) in the loop, or None.
        desc: the label printed before the figures.
        initial: items already done (a resumed loop).
        unit: what an item is, for the rate.
        disable: print nothing.
        stream: where to print (default: standard output); a terminal gets a tqdm bar.
    """

    def __init__(self, total=None, desc="", initial=0, unit="it", disable=False, stream=None):
        self.total, self.desc, self.unit, self.disable = total, desc, unit, disable
        self.stream = stream or sys.stdout
        self.done = initial
        self.started = time.perf_counter()
        self.figures = {}
        self._first = None  # (time, items done) at the first update, where the rate is measured from
        self._bar = None
        self._next_line = 0
        if not disable and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, initial=initial, unit=unit, file=self.stream, leave=True,
                             dynamic_ncols=True)

    def update(self, n=1, **figures):
        """``n`` more items done; ``figures`` (e.g. ``loss=...``) are shown with the progress."""
        self.done += n
        self.figures.update(figures)
        if self._first is None:
            self._first = (time.perf_counter(), self.done)
        if self.disable:
            return
        if self._bar is not None:
            self._bar.set_postfix({k: _short(v) for k, v in self.figures.items()}, refresh=False)
            self._bar.update(n)
        elif self.total and self.done >= self._next_line * self.total / LINES and self.done < self.total:
            self._line()
            self._next_line = int(self.done * LINES / self.total) + 1

    def _line(self):
        now = time.perf_counter()
        elapsed = now - self.started
        parts = [f"{self.desc}:" if self.desc else ""]
        if self.total:
            parts.append(f"{self.done:,}/{self.total:,} ({100 * self.done / self.total:.0f}%)")
        else:
            parts.append(f"{self.done:,} {self.unit}")
        parts += [f"{key} {_short(value)}" for key, value in self.figures.items()]
        parts.append(f"[{_duration(elapsed)}")
        since, done_then = self._first or (now, self.done)
        if self.total and self.done > done_then and self.done < self.total:
            rate = (now - since) / (self.done - done_then)
            parts[-1] += f", {_duration(rate * (self.total - self.done))} left]"
        else:
            parts[-1] += "]"
        print(" ".join(part for part in parts if part), file=self.stream, flush=True)

    def close(self):
        if self.disable:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._line()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
