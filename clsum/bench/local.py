"""Each benchmarked system in a fresh child process, so its peak RSS and load time are its own
(BENCHMARKS.md, "What is measured, and how"); ``run_in_child`` is the one place a child's
process-wide state is set (torch threads, loading bars)."""

from __future__ import annotations

import cProfile
import io
import itertools
import multiprocessing
import pstats
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from clsum.bench import RAY_SYSTEMS
from clsum.bench.baselines import NaiveHF, PlainCT2
from clsum.bench.job import Doc, DocResult, Job, SystemResult, write_input
from clsum.bench.onray import run_ray_system
from clsum.errors import ClsumError
from clsum.pipeline.runtime import configure_process
from clsum.pipeline.runtime.models import proc_field

T = TypeVar("T")


def run_in_child(threads: int, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a fresh spawned interpreter (nothing inherited) with ``threads`` CPU threads."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=configure_process, initargs=(threads,), maxtasksperchild=1) as pool:
        result: T = pool.apply(func, args)
    return result


def run_system(job: Job) -> SystemResult:
    """One system over every document (in a child: ``run_in_child(threads, run_system, job)``)."""
    import torch

    if job.system in RAY_SYSTEMS:
        result = run_ray_system(job)
    else:
        result = (_clsum if job.system == "clsum" else _baseline)(job)
        # VmHWM of its own address space, not ru_maxrss (Linux carries that across fork + exec)
        vmhwm = proc_field(Path("/proc/self/status"), "VmHWM")  # "123456 kB"
        rusage = resource.getrusage(resource.RUSAGE_SELF)
        result.peak_rss_bytes = int(vmhwm.split()[0]) * 1024 if vmhwm else rusage.ru_maxrss * 1024
    result.torch_threads = torch.get_num_threads()
    return result


def _profiled(job: Job, work: Callable[[], T]) -> T:
    if not job.profile_dir:
        return work()
    profiler = cProfile.Profile()
    value: T = profiler.runcall(work)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    Path(job.profile_dir).mkdir(parents=True, exist_ok=True)
    (Path(job.profile_dir) / f"{job.system}.txt").write_text(out.getvalue())
    return value


def _baseline(job: Job) -> SystemResult:
    start = time.perf_counter()

    def make(path: str) -> NaiveHF | PlainCT2:
        return (
            NaiveHF(path) if job.system == "naive" else PlainCT2(path, Path(job.ct2_dirs[path]), job.threads)
        )

    translators = {lang: make(job.decoding.translators[lang]) for lang in sorted({d.lang for d in job.docs})}
    summarizer = make(job.decoding.summarizer)
    load_s = time.perf_counter() - start

    def article(doc: Doc, stages: dict[str, float]) -> DocResult:
        t0 = time.perf_counter()
        english, counts = translators[doc.lang].generate(doc.units, job.decoding.translation[doc.lang])
        t1 = time.perf_counter()
        body = english[1:] if doc.title else english
        sentences = iter(body)
        paragraphs = [" ".join(itertools.islice(sentences, len(p))) for p in doc.sentences]
        text = " ".join(body)
        summaries, summary_counts = summarizer.generate([text], job.decoding.summarization)
        stages["translate"] += t1 - t0
        stages["summarize"] += time.perf_counter() - t1
        n_in = len(summarizer.tokenizer(text, truncation=True)["input_ids"])
        return DocResult(doc.id, "\n\n".join(paragraphs), summaries[0], counts, n_in, summary_counts[0])

    article(job.warm_up_doc(), {"translate": 0.0, "summarize": 0.0})
    setup_s = time.perf_counter() - start
    stages = {"translate": 0.0, "summarize": 0.0}
    start = time.perf_counter()
    docs = _profiled(job, lambda: [article(d, stages) for d in job.docs])
    return SystemResult(job.system, time.perf_counter() - start, setup_s, load_s, stages, docs)


def _clsum(job: Job) -> SystemResult:
    from clsum.config import load_config
    from clsum.pipeline.ingest import ingest
    from clsum.record import Record
    from clsum.runner import Pipeline

    start = time.perf_counter()
    pipe = Pipeline(load_config(job.clsum_config, job.clsum_overrides))
    first = job.warm_up_doc()
    pipe.process([Record(id="warm-up", raw=first.raw, lang_hint=first.lang)])
    forget_warm_up(pipe)
    setup_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="clsum-bench-") as tmp:
        source = write_input(job.docs, Path(tmp) / "docs.jsonl")
        segmented = {r.id: r for r in pipe.process(ingest(source), until="segment")}
        for doc in job.docs:  # clsum must translate exactly the sentences the baselines translate
            record = segmented[doc.id]
            if record.sentences != doc.sentences or (record.title or None) != (doc.title or None):
                raise ClsumError(f"bench: {doc.id}: clsum segments differently from the prepared input")
        start = time.perf_counter()
        _profiled(job, lambda: pipe.run(source, Path(tmp) / "out", force=True))
        return SystemResult.from_output(job, time.perf_counter() - start, setup_s, Path(tmp) / "out")


def forget_warm_up(pipe: Any) -> None:
    """The warm-up document is one of the timed ones: its sentences must not be in clsum's
    translation cache when timing starts (the baselines have no cache to warm up)."""
    pipe.translation_cache.clear()
    if len(pipe.translation_cache):
        raise ClsumError("bench: the translation cache is not empty after the warm-up")
