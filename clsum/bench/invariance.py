"""``clsum bench --invariance``: do speed-only settings change any output? (docs/reproducibility.md)

The clsum system runs the same documents with the bench's models (random stand-ins in the published
architectures when the real ones are not cached: tiny models are too small to show int8 effects)
once per variant of the speed-only settings, each in its own child, and every translation and
summary is compared token for token with the first variant's.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from clsum.bench.dispatch import run_system
from clsum.bench.report import differing
from clsum.bench.systems import Job, run_in_child

log = logging.getLogger(__name__)

# (name, system, --set values): the first is the reference. Threads and workers, document batches,
# generate() batches, the cache, prefetching, the engine and its actor counts.
VARIANTS: list[tuple[str, str, list[str]]] = [
    ("threads=1 doc_batch_size=1", "clsum", ["threads=1", "doc_batch_size=1"]),
    ("threads=2 doc_batch_size=6", "clsum", ["threads=2", "doc_batch_size=6"]),
    (
        "threads=2 batch_size=3/1 batch_tokens=512/2048 cache_size=0 prefetch=false",
        "clsum",
        [
            "threads=2",
            "translation.batch_size=3",
            "summarization.batch_size=1",
            "translation.batch_tokens=512",
            "summarization.batch_tokens=2048",
            "translation.cache_size=0",
            "prefetch=false",
        ],
    ),
    ("engine=ray, 2 actors per stage", "clsum-ray-2x2", ["threads=2"]),
]


def run_variants(job: Job, variants: list[tuple[str, str, list[str]]] = VARIANTS) -> dict[str, Any]:
    """Every variant over ``job``'s documents; the outputs of each compared with the first's."""
    outputs: dict[str, list[dict[str, Any]]] = {}
    for name, system, sets in variants:
        threads = next((int(s.split("=")[1]) for s in sets if s.startswith("threads=")), job.threads)
        variant = dataclasses.replace(
            job, system=system, threads=threads, clsum_overrides=[*job.clsum_overrides, *sets]
        )
        log.info("invariance: %s on %d documents", name, len(job.docs))
        outputs[name] = run_in_child(threads, run_system, variant)["docs"]
    first = variants[0][0]
    return {
        "reference": first,
        "documents": len(job.docs),
        "differing": {name: differing(outputs[first], docs) for name, docs in outputs.items()},
        "outputs": outputs,
    }


def invariance_table(report: dict[str, Any]) -> str:
    n = report["documents"]
    lines = [f"{'variant':76} {'translations':>12} {'summaries':>10}", "-" * 100]
    for name, diff in report["differing"].items():
        lines.append(f"{name:76} {diff['translation']:>7} / {n:<3} {diff['summary']:>5} / {n:<3}")
    lines.append(f"differing from the first variant ({report['reference']}), token for token")
    return "\n".join(lines)
