"""The clsum system on the ray engine, in its child: N translate + N summarize actors on a Ray
instance on this machine; setup, timed run and peak memory (PSS, which counts shared pages once)
as BENCHMARKS.md ("The ray engine on one machine") describes them."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from clsum.bench import RAY_SYSTEMS
from clsum.bench.job import Job, SystemResult, write_input

SAMPLE_S = 0.5


def run_ray_system(job: Job) -> SystemResult:
    from clsum.cluster import run_on_ray
    from clsum.cluster.connect import connected
    from clsum.config import load_config

    n = RAY_SYSTEMS[job.system]
    cpus = job.threads / (2 * n)
    pools = [f"ray.translate_actors={n}", f"ray.summarize_actors={n}", f"ray.cpus_per_actor={cpus}"]
    pools.append(f"ray.task_cpus={cpus / 2}")  # unlike the actors', so the read step stays in tasks
    config = load_config(job.clsum_config, [*job.clsum_overrides, *pools])
    memory = _PeakPss()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clsum-bench-ray-") as tmp, connected(""), memory:
        warm_up = write_input([job.warm_up_doc()], Path(tmp) / "warm-up.jsonl")
        run_on_ray(config, warm_up, Path(tmp) / "warm-up")
        setup_s = time.perf_counter() - start
        source = write_input(job.docs, Path(tmp) / "docs.jsonl")
        start = time.perf_counter()
        run_on_ray(config, source, Path(tmp) / "out")
        result = SystemResult.from_output(job, time.perf_counter() - start, setup_s, Path(tmp) / "out")
    result.peak_rss_bytes = memory.peak  # the whole Ray instance's PSS, not this process's RSS
    result.memory_measure = f"peak sum of PSS over this process and its descendants, every {SAMPLE_S} s"
    return result


class _PeakPss:
    """The peak PSS of this process and its descendants, sampled on a thread while in ``with``."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="clsum-bench-pss", daemon=True)

    def __enter__(self) -> _PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(SAMPLE_S):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.Error, AttributeError):  # gone since listed, or no PSS on this OS
                    continue
            self.peak = max(self.peak, total)
