"""A training stage's progress bar, read from the run's ``metrics.jsonl`` as epochs end.

Ray Train runs the epochs in its workers; the driver only waits. The run directory is on this
machine (the demo builds locally), and rank 0 appends one line per finished epoch, so the driver
follows that file in a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.5


def _epochs_done(metrics: Path) -> int:
    try:
        return sum(1 for line in metrics.read_text().splitlines() if line.strip())
    except OSError:
        return 0


@contextmanager
def epoch_bar(run_dir: Path, epochs: int, desc: str) -> Iterator[None]:
    """Show ``desc`` with an epoch counter while the block runs (training into ``run_dir``)."""
    from tqdm import tqdm

    from pose_search.run_layout import METRICS_FILE

    metrics = Path(run_dir) / METRICS_FILE
    bar = tqdm(total=epochs, initial=min(_epochs_done(metrics), epochs), unit="epoch", desc=desc, leave=False)
    stop = threading.Event()

    def update() -> None:
        done = min(_epochs_done(metrics), epochs)
        if done != bar.n:
            bar.n = done
            bar.refresh()

    def follow() -> None:
        while not stop.wait(POLL_SECONDS):
            update()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        update()  # the last epoch, when training ended between two polls
        bar.close()
