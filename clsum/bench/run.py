"""``clsum bench`` from options to report: what the systems share (models, CTranslate2 conversions,
documents, decoding settings) is made here before any timed child starts, then one child per system."""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from clsum.bench import RAY_SYSTEMS, measure
from clsum.bench.baselines import decoding
from clsum.bench.job import Doc, Job
from clsum.bench.local import run_in_child, run_system
from clsum.bench.report import BenchReport, Context, Differing, Inputs, InvarianceReport, Machine
from clsum.bench.standins.models import BenchModels, forced_lengths, resolve_models
from clsum.config import Config, load_config
from clsum.errors import ConfigError, InputError
from clsum.pipeline.runtime.backends.ctranslate2 import usable_cpus
from clsum.pipeline.runtime.models import proc_field
from clsum.record import Record
from clsum.runner import Pipeline
from clsum.versions import package_versions

log = logging.getLogger(__name__)


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
    invariance: bool = False  # compare the outputs of speed-only variants instead (``run_variants``)


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

    records = _load_raw(options.folder, options.langs, options.limit)
    text = partial(_training_text, options.folder, records)
    start = time.perf_counter()
    models = resolve_models(config, options.langs, text)
    build_s = time.perf_counter() - start
    pipeline = _pipeline(options, models)
    start = time.perf_counter()
    ct2_dirs = _convert(pipeline, models, options.systems)
    convert_s = time.perf_counter() - start
    docs = _documents(pipeline, records, options.langs)
    log.info("benchmarking %d documents (%s)", len(docs), ", ".join(sorted({d.lang for d in docs})))
    # each model's config: the architectures for the FLOPs, the summarizer's positions
    configs = {m.path: AutoConfig.from_pretrained(m.path) for m in models.all()}
    forced = (
        options.force_lengths if options.force_lengths is not None else any(m.random for m in models.all())
    )
    positions = int(getattr(configs[models.summarization.path], "max_position_embeddings", 1024))
    lengths = forced_lengths(models, [n for d in docs for n in d.unit_tokens], positions) if forced else None
    overrides = [*options.overrides, *models.overrides(), *(lengths.overrides() if lengths else [])]
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
    """The pipeline the clsum system runs, in this process; on transformers when the clsum system is
    not run (segmenting needs only the tokenizers; CTranslate2 would convert every model it loads)."""
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


def _load_raw(folder: Path | None, langs: list[str], limit: int | None) -> list[Record]:
    """NTREX documents (first ``limit`` per language), or every document under ``folder``."""
    if folder is not None:
        from clsum.pipeline.ingest import ingest

        records = [r for r in ingest(folder) if r.ok]
        return records[: limit * len(langs)] if limit else records
    from clsum.eval.data import load_ntrex_documents

    # One NTREX line per paragraph: the lines are the article's sentences/paragraphs.
    return [
        Record(id=f"ntrex-{lang}-{seg.id}", raw=seg.source.replace("\n", "\n\n"), lang_hint=lang)
        for lang in langs
        for seg in load_ntrex_documents(lang).segments[: limit or None]
    ]


def _documents(pipeline: Pipeline, records: list[Record], langs: list[str]) -> list[Doc]:
    """Clean, detect and segment ``records`` with ``pipeline``; the documents in ``langs``, with
    their units' token counts from the pipeline's own translator tokenizers."""
    pipeline.process(records, until="detect")
    # Segmenting loads the language's translator: only for the languages benchmarked.
    kept = [r for r in records if r.ok and r.lang in langs]
    pipeline.process(kept, start="segment", until="segment")
    docs = [Doc(r.id, r.lang or "", r.raw, r.title, r.sentences) for r in kept if r.ok and r.sentences]
    if not docs:
        raise InputError(f"bench: no usable documents in {', '.join(langs)}")
    for doc in docs:
        doc.unit_tokens = pipeline.models.translator(doc.lang).count_tokens(doc.units)
    return docs


def _training_text(folder: Path | None, records: list[Record], lang: str) -> list[str]:
    """Training text for a random model's tokenizer: the non-empty lines of the documents of ``lang``,
    all of NTREX's when benchmarking NTREX (else any document's lines when none is in ``lang``)."""
    if folder is None:
        records = _load_raw(None, [lang], None)
    lines = (line.strip() for r in records if (r.lang_hint or r.lang) == lang for line in r.raw.splitlines())
    return [line for line in lines if line] or [line for r in records for line in r.raw.splitlines()]


# --invariance (BENCHMARKS.md, "Invariance"): (name, system, --set values), the first the reference:
# threads, document batches, generate() batches, the cache, prefetching, the engine and its actors.
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
        variant = replace(job, system=system, threads=threads, clsum_overrides=[*job.clsum_overrides, *sets])
        log.info("invariance: %s on %d documents", name, len(job.docs))
        outputs[name] = run_in_child(threads, run_system, variant).outputs()
    first = VARIANTS[0][0]
    differing = {name: Differing.between(outputs[first], docs) for name, docs in outputs.items()}
    return InvarianceReport(first, len(job.docs), differing, outputs)
