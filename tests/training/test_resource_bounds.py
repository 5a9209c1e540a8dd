"""A training job the running Ray cluster cannot place fails with a clear error within seconds
(Ray itself would wait for ever), and leaves no run configuration behind."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_more_workers_than_the_cluster_holds_fail_within_seconds(tmp_path, tiny_dataset):
    import ray

    from pose_search.resources import ResourceError
    from training.driver import TrainConfig, fit

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    cpus = ray.cluster_resources().get("CPU", 0)
    workers = min(1024, int(cpus / 0.5) + 1)  # one more than the cluster holds at 0.5 CPU each
    cfg = TrainConfig(task="posevae", run_dir=str(tmp_path / "run"), data=str(tiny_dataset), epochs=1,
                      batch_size=8, workers=workers, cpus_per_worker=0.5)
    start = time.perf_counter()
    with pytest.raises(ResourceError, match=rf"--workers {workers}: the cluster .* holds at most {workers - 1} "):
        fit(cfg)
    assert time.perf_counter() - start < 60
    assert not (tmp_path / "run" / "run.json").exists()
