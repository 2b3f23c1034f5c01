"""``clsum bench --invariance``: do speed-only settings change any output? (docs/reproducibility.md)

The clsum system runs the same documents with the bench's models (random stand-ins in the published
architectures when the real ones are not cached: tiny models are too small to show int8 effects)
once per variant of the speed-only settings, each in its own child, and every translation and
summary is compared token for token with the first variant's.
"""

from __future__ import annotations

import dataclasses
import logging

from clsum.bench.job import Job
from clsum.bench.local import run_in_child, run_system
from clsum.bench.report import Differing, InvarianceReport

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


def run_variants(job: Job) -> InvarianceReport:
    """Every variant over ``job``'s documents; the outputs of each compared with the first's."""
    outputs = {}
    for name, system, sets in VARIANTS:
        threads = next((int(s.split("=")[1]) for s in sets if s.startswith("threads=")), job.threads)
        variant = dataclasses.replace(
            job, system=system, threads=threads, clsum_overrides=[*job.clsum_overrides, *sets]
        )
        log.info("invariance: %s on %d documents", name, len(job.docs))
        outputs[name] = run_in_child(threads, run_system, variant).outputs()
    first = VARIANTS[0][0]
    differing = {name: Differing.between(outputs[first], docs) for name, docs in outputs.items()}
    return InvarianceReport(first, len(job.docs), differing, outputs)
