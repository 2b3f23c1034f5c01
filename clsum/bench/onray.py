"""The clsum system on the ray engine, in its child: N translate + N summarize actors on a Ray
instance on this machine; setup, timed run and peak memory (PSS, which counts shared pages once)
as BENCHMARKS.md ("The ray engine on one machine") describes them."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
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
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clsum-bench-ray-") as tmp, connected(""), _peak_pss() as peak:
        warm_up = write_input([job.warm_up_doc()], Path(tmp) / "warm-up.jsonl")
        run_on_ray(config, warm_up, Path(tmp) / "warm-up")
        setup_s = time.perf_counter() - start
        source = write_input(job.docs, Path(tmp) / "docs.jsonl")
        start = time.perf_counter()
        run_on_ray(config, source, Path(tmp) / "out")
        result = SystemResult.from_output(job, time.perf_counter() - start, setup_s, Path(tmp) / "out")
    result.peak_rss_bytes = peak[0]  # the whole Ray instance's PSS, not this process's RSS
    result.memory_measure = f"peak sum of PSS over this process and its descendants, every {SAMPLE_S} s"
    return result


@contextlib.contextmanager
def _peak_pss() -> Iterator[list[int]]:
    """``[peak]``: the peak PSS of this process and its descendants, sampled while in ``with``."""
    import psutil

    peak, stop, me = [0], threading.Event(), psutil.Process()

    def sample() -> None:
        while not stop.wait(SAMPLE_S):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.Error, AttributeError):  # gone since listed, or no PSS on this OS
                    continue
            peak[0] = max(peak[0], total)

    thread = threading.Thread(target=sample, name="clsum-bench-pss", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
