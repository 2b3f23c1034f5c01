"""``clsum bench`` from options to report: models, inputs and settings once, then one child per system.

Everything the systems share is made in this process before any timed child starts: the models
(random stand-ins built), the CTranslate2 conversions, the documents (cleaned and segmented by the
pipeline clsum runs, whose tokenizers also count their tokens) and the decoding settings.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from clsum.bench import RAY_SYSTEMS, measure
from clsum.bench.baselines import decoding
from clsum.bench.inputs import load_raw, prepare, training_text
from clsum.bench.invariance import run_variants
from clsum.bench.job import Job
from clsum.bench.local import run_in_child, run_system
from clsum.bench.report import BenchReport, Context, Inputs, InvarianceReport, Machine
from clsum.bench.standins.models import BenchModels, clsum_overrides, forced_lengths, resolve_models
from clsum.config import Config, load_config
from clsum.errors import ConfigError
from clsum.pipeline.runtime.backends.ctranslate2 import usable_cpus
from clsum.pipeline.runtime.models import proc_field
from clsum.runner import Pipeline
from clsum.versions import package_versions

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class BenchOptions:
    langs: list[str]
    limit: int  # documents per language (with ``folder``: documents in all)
    systems: list[str]  # names from ``SYSTEMS`` and ``RAY_SYSTEMS``, run in this order
    folder: Path | None = None  # None: NTREX from the data root
    threads: int | None = None  # None: the config's threads, else every core this process may use
    force_lengths: bool | None = None  # None: forced when a model is a random stand-in
    profile_dir: Path | None = None
    config_path: Path | None = None
    overrides: list[str] = field(default_factory=list)  # --set KEY=VALUE
    command: str = "clsum bench"  # as invoked, for the report
    invariance: bool = False  # compare the outputs of speed-only variants instead (``invariance``)


def run_bench(options: BenchOptions) -> BenchReport | InvarianceReport:
    """Run every system in ``options`` and return the report (``report.to_json``: what the CLI writes)."""
    started = time.perf_counter()
    config = load_config(options.config_path, options.overrides)
    missing = [x for x in options.langs if x not in config.translation.models]
    if missing:
        raise ConfigError(f"no translation model configured for {', '.join(missing)}")
    threads = options.threads or config.threads or usable_cpus()
    job, arch, context = _prepare(options, config, threads)
    report: BenchReport | InvarianceReport
    if options.invariance:
        report = run_variants(job)
    else:
        peak = run_in_child(threads, measure.matmul_peak)
        results = {}
        for system in options.systems:
            log.info("running %s on %d documents with %d threads", system, len(job.docs), threads)
            results[system] = run_in_child(threads, run_system, replace(job, system=system))
        report = BenchReport.of(results, job.docs, job.decoding, arch, peak)
    report.context = replace(context, seconds_total=round(time.perf_counter() - started, 1))
    return report


def _prepare(
    options: BenchOptions, config: Config, threads: int
) -> tuple[Job, dict[str, measure.Arch], Context]:
    """The job the systems share, each model's architecture by directory, and the report's context."""
    from transformers import AutoConfig

    records = load_raw(options.folder, options.langs, options.limit)
    text = partial(training_text, options.folder, records)
    models, build_s = _timed(lambda: resolve_models(config, options.langs, text))
    pipeline = _pipeline(options, models)
    ct2_dirs, convert_s = _timed(lambda: _convert(pipeline, models, options.systems))
    docs = prepare(pipeline, records, options.langs)
    log.info("benchmarking %d documents (%s)", len(docs), ", ".join(sorted({d.lang for d in docs})))
    # each model's config.json, read once: architectures for the FLOPs, the summarizer's positions
    configs = {m.path: AutoConfig.from_pretrained(m.path) for m in models.all()}
    forced = (
        options.force_lengths if options.force_lengths is not None else any(m.random for m in models.all())
    )
    positions = int(getattr(configs[models.summarization.path], "max_position_embeddings", 1024))
    lengths = forced_lengths(models, [n for d in docs for n in d.unit_tokens], positions) if forced else None
    overrides = [*options.overrides, *models.overrides(), *(clsum_overrides(lengths) if lengths else [])]
    job = Job(
        system="",
        docs=docs,
        # the baselines decode with the settings clsum's own config gives it
        decoding=decoding(load_config(options.config_path, overrides), models),
        threads=threads,
        ct2_dirs=ct2_dirs,
        clsum_config=str(options.config_path) if options.config_path else None,
        clsum_overrides=overrides,
        profile_dir=str(options.profile_dir) if options.profile_dir else None,
    )
    arch = {path: measure.Arch.from_config(c) for path, c in configs.items()}
    folder = str(options.folder) if options.folder else "NTREX-128 (data root)"
    context = Context(
        command=options.command,
        threads=threads,
        forced_lengths=lengths is not None,
        forced_output_tokens=lengths,
        models=models,
        seconds_building_models=round(build_s, 1),
        seconds_converting_ct2=round(convert_s, 1),
        seconds_total=0.0,  # set when the systems have run
        inputs=Inputs(folder, len(docs), options.langs, options.limit),
        machine=Machine(
            proc_field(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown",
            os.cpu_count(),
            platform.platform(),
        ),
        versions=package_versions(),
        clsum_overrides=overrides,
    )
    return job, arch, context


def _pipeline(options: BenchOptions, models: BenchModels) -> Pipeline:
    """The pipeline the clsum system runs (same config, same models), in this process.

    When the clsum system is not run, on transformers: segmenting needs only the tokenizers, and
    with CTranslate2 the pipeline would convert every model it loads.
    """
    overrides = [*options.overrides, *models.overrides()]
    if not _runs_clsum(options.systems):
        overrides.append("backend=transformers")
    return Pipeline(load_config(options.config_path, overrides))


def _convert(pipeline: Pipeline, models: BenchModels, systems: list[str]) -> dict[str, str]:
    """CTranslate2 conversions, done before any timed child so no system's RSS includes one."""
    from clsum.pipeline.runtime.ct2cache import ct2_model_dir

    if _runs_clsum(systems):  # loading a model converts it when clsum runs it on CTranslate2
        for lang in models.translation:
            pipeline.models.translator(lang)
        pipeline.models.summarizer()
    if "ctranslate2-plain" not in systems:
        return {}
    # keyed as clsum's own conversions: a random stand-in by its directory, another model by its spec
    return {m.path: str(ct2_model_dir(m.path if m.random else m.spec, "int8")) for m in models.all()}


def _runs_clsum(systems: list[str]) -> bool:
    return any(s == "clsum" or s in RAY_SYSTEMS for s in systems)


def _timed(func: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start
