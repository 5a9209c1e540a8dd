"""What ``pose-search demo`` prints: its stages and progress bars, not the libraries' chatter.

Without ``--verbose``, the build starts Ray itself, with the lines of its actors (Ray Train's
controller and workers, Ray Data's tasks) kept in their log files instead of copied to the
terminal, Ray Data's INFO log off, and INFO lines of every library (ours too: the stages say
what happens) below the threshold. Warnings and errors still show.
"""

from __future__ import annotations

import logging
import os
import warnings


def quiet_build() -> None:
    """Call before the build starts anything (Ray, a body model)."""
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("ray", "ray.data", "ray.train", "faiss"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # lance warns, when imported, that it is not fork-safe: advice for code that forks after importing
    # it; the build's own children are spawned (data generation) or started by Ray's raylet
    warnings.filterwarnings("ignore", message="lance is not fork-safe")
    # Ray Data sets its loggers' level from this when it configures them (its progress bars stay:
    # on a terminal they are the index stage's progress; elsewhere they are INFO lines)
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    import ray
    from ray.data import DataContext

    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING, configure_logging=False,
                 log_to_driver=False)
    ctx = DataContext.get_current()
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
