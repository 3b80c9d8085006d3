"""Step progress within an epoch, for `run` and `train`.

On a terminal, a transient bar. Elsewhere (a log file, a pipe: a Slurm job) a bar is
invisible and an epoch on a CPU takes many minutes, so one plain line about once a minute.
"""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

INTERVAL_S = 60.0


@contextlib.contextmanager
def step_progress(console: Console, epoch: int, epochs: int, steps: int, images_per_step: int,
                  interval_s: float = INTERVAL_S, clock=time.monotonic):
    """Yields advance(), to call after each step of epoch `epoch` (0-based) of `epochs`."""
    if console.is_terminal:
        columns = (TextColumn(f"epoch {epoch + 1}/{epochs}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("steps", total=steps)
            yield lambda *_: bar.advance(task)
        return
    start = last = clock()
    done = 0

    def advance(*_):
        nonlocal done, last
        done += 1
        now = clock()
        if now - last < interval_s or done >= steps or now <= start:
            return
        last = now
        per_step = (now - start) / done
        epoch_left = (steps - done) * per_step
        run_left = epoch_left + (epochs - epoch - 1) * steps * per_step  # evaluation time not counted
        console.print(f"  epoch {epoch + 1}/{epochs}  step {done}/{steps}  {images_per_step / per_step:.1f} images/s  "
                      f"ETA epoch {duration(epoch_left)}, run {duration(run_left)}")

    yield advance


def duration(seconds: float) -> str:
    """45s, 12m05s, 3h07m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
