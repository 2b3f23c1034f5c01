"""Which function runs which benchmarked system, in its child: the local systems (``systems``) and
clsum on the ray engine (``raysystem``), which builds on the local ones (no import cycle)."""

from __future__ import annotations

from typing import Any

from clsum.bench.raysystem import run_ray_system
from clsum.bench.systems import RAY_SYSTEMS, Job, baseline_runner, clsum_runner, peak_rss_bytes


def run_system(job: Job) -> dict[str, Any]:
    """One system over every document (in a child: ``run_in_child(threads, run_system, job)``)."""
    import torch

    runner = {"naive": baseline_runner, "ctranslate2-plain": baseline_runner, "clsum": clsum_runner}
    runner.update(dict.fromkeys(RAY_SYSTEMS, run_ray_system))
    result = runner[job.system](job)
    result.setdefault("peak_rss_bytes", peak_rss_bytes())
    result["torch_threads"] = torch.get_num_threads()
    return result
