"""``clsum bench``: naive transformers loop vs plain CTranslate2 loop vs clsum, one run, same inputs."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import click

from clsum.bench import measure
from clsum.bench.baselines import settings_from
from clsum.bench.inputs import Doc, load_raw, prepare, raw_lines
from clsum.bench.models import SUMMARY_TOKENS, BenchModel, forced_translation_length, resolve
from clsum.bench.report import summarize_results, table
from clsum.bench.systems import SYSTEMS, Job, run_in_child
from clsum.cli.common import config_options, handle_errors, setup_logging
from clsum.config import Config, load_config
from clsum.errors import ConfigError

log = logging.getLogger(__name__)

QUICK_LIMIT = 2  # per language: naive costs ~1 min/article on 2 cores, so this fits in 10 minutes
DEFAULT_LIMIT = 8  # per language: ~10 minutes on 2 cores (the naive loop is most of it)


@click.command("bench")
@click.argument("folder", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--langs", default="de,nl", show_default=True, help="Source languages to benchmark.")
@click.option(
    "--limit", type=int, help=f"Documents per language (default {DEFAULT_LIMIT}, --quick {QUICK_LIMIT})."
)
@click.option(
    "--quick", is_flag=True, help=f"{QUICK_LIMIT} documents per language: about 10 minutes on 2 cores."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("clsum-bench.json"),
    show_default=True,
    help="Where to write the full results.",
)
@click.option("--systems", default=",".join(SYSTEMS), show_default=True, help="Systems to run, in order.")
@click.option(
    "--threads", type=int, help="CPU threads for every system (default: config threads, else all cores)."
)
@click.option(
    "--force-lengths/--no-force-lengths",
    default=None,
    help="Force min_length = max_length (default: only for random stand-in models).",
)
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a cProfile summary of each system's timed run into this folder.",
)
@config_options
@handle_errors
def bench_command(
    folder: Path | None,
    langs: str,
    limit: int | None,
    quick: bool,
    json_path: Path,
    systems: str,
    threads: int | None,
    force_lengths: bool | None,
    profile_dir: Path | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
    verbose: int,
) -> None:
    """Benchmark clsum against a naive transformers loop and a plain CTranslate2 int8 loop.

    Uses NTREX German and Dutch documents from the data root (or the documents in FOLDER), the
    configured models when they are in the cache and random models of the same architecture
    otherwise. Prints a table, writes JSON; the last line is the speedup summary.
    """
    setup_logging(verbose)
    chosen = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SYSTEMS))
    if unknown or not chosen:
        raise click.BadParameter(f"unknown system(s) {unknown}; available: {', '.join(SYSTEMS)}")
    config = load_config(config_path, overrides)
    lang_list = [x.strip() for x in langs.split(",") if x.strip()]
    missing = [x for x in lang_list if x not in config.translation.models]
    if missing:
        raise ConfigError(f"no translation model configured for {', '.join(missing)}")
    n_threads = threads or config.threads or len(os.sched_getaffinity(0))
    command = " ".join(["clsum", *sys.argv[1:]])
    report = run_bench(
        config,
        folder,
        lang_list,
        limit or (QUICK_LIMIT if quick else DEFAULT_LIMIT),
        chosen,
        n_threads,
        force_lengths,
        profile_dir,
        config_path,
        list(overrides),
        command,
    )
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(table(report))
    click.echo(f"full results: {json_path}")
    click.echo(report["summary_line"])


def run_bench(
    config: Config,
    folder: Path | None,
    langs: list[str],
    limit: int,
    systems: list[str],
    threads: int,
    force_lengths: bool | None,
    profile_dir: Path | None,
    config_path: Path | None,
    overrides: list[str],
    command: str,
) -> dict[str, Any]:
    started = time.perf_counter()
    records = load_raw(folder, langs, limit)
    t0 = time.perf_counter()
    translators = {
        lang: resolve(config.translation.models[lang], partial(_tokenizer_text, folder, records, lang))
        for lang in langs
    }
    summarizer = resolve(
        config.summarization.model,
        lambda: [x for lang in langs for x in _tokenizer_text(folder, records, lang)],
    )
    build_s = time.perf_counter() - t0
    docs = prepare(records, {lang: m.path for lang, m in translators.items()}, langs)
    log.info("benchmarking %d documents (%s)", len(docs), ", ".join(sorted({d.lang for d in docs})))
    forced = (
        force_lengths
        if force_lengths is not None
        else any(m.random for m in [*translators.values(), summarizer])
    )
    lengths, summary_length, length_overrides = _forced_lengths(translators, summarizer, docs)
    job_base = _job_settings(config, translators, summarizer, (lengths, summary_length) if forced else None)
    clsum_overrides = (
        overrides + _model_overrides(translators, summarizer) + (length_overrides if forced else [])
    )
    t0 = time.perf_counter()
    ct2_dirs = _convert(systems, translators, summarizer, config, clsum_overrides, config_path)
    convert_s = time.perf_counter() - t0
    peak = _in_child(measure.matmul_peak, threads)
    results: dict[str, dict[str, Any]] = {}
    for system in systems:
        log.info("running %s on %d documents with %d threads", system, len(docs), threads)
        job = Job(
            system=system,
            docs=docs,
            threads=threads,
            ct2_dirs=ct2_dirs,
            clsum_config=(str(config_path) if config_path else None),
            clsum_overrides=clsum_overrides,
            profile_dir=str(profile_dir) if profile_dir else None,
            **job_base,
        )
        results[system] = run_in_child(job)
    from clsum.versions import package_versions

    report = summarize_results(results, docs, translators, summarizer, job_base, peak)
    report.update(
        command=command,
        threads=threads,
        forced_lengths=forced,
        forced_output_tokens={"translation": lengths, "summary": summary_length} if forced else None,
        models={
            "translation": {lang: m.to_dict() for lang, m in translators.items()},
            "summarization": summarizer.to_dict(),
        },
        seconds_building_models=round(build_s, 1),
        seconds_converting_ct2=round(convert_s, 1),
        seconds_total=round(time.perf_counter() - started, 1),
        inputs={
            "folder": str(folder) if folder else "NTREX-128 (data root)",
            "documents": len(docs),
            "langs": langs,
            "limit_per_lang": limit,
        },
        machine={"cpu": _cpu_name(), "cores": os.cpu_count(), "platform": platform.platform()},
        versions=package_versions(),
        clsum_overrides=clsum_overrides,
    )
    return report


def _tokenizer_text(folder: Path | None, records: list[Any], lang: str) -> list[str]:
    """Training text for a random model's tokenizer: all of NTREX for the language when available."""
    if folder is None:
        return raw_lines(load_raw(None, [lang], None), lang)
    return raw_lines(records, lang) or [line for r in records for line in r.raw.splitlines()]


def _forced_lengths(
    translators: dict[str, BenchModel], summarizer: BenchModel, docs: list[Doc]
) -> tuple[dict[str, int], int, list[str]]:
    """Generated tokens per output when lengths are forced, and the clsum overrides that force them.

    Random stand-ins carry their own lengths (per language, in their generation_config, which clsum
    reads too). Other models get one translation length for every language, from these documents,
    and the summary length capped by the summarizer's positions, passed to clsum as config values.
    """
    from transformers import AutoConfig, AutoTokenizer

    counts = []
    for lang, m in translators.items():
        units = [u for d in docs if d.lang == lang for u in d.units]
        counts += [len(x) for x in AutoTokenizer.from_pretrained(m.path)(units, verbose=False)["input_ids"]]
    common = forced_translation_length(counts)
    lengths = {
        lang: (m.forced_length if m.random and m.forced_length else common) for lang, m in translators.items()
    }
    positions = int(getattr(AutoConfig.from_pretrained(summarizer.path), "max_position_embeddings", 1024))
    summary = summarizer.forced_length or min(SUMMARY_TOKENS, positions - 2)
    overrides = []
    if any(not m.random for m in translators.values()):
        overrides += [f"translation.min_length={common + 1}", f"translation.max_length={common + 1}"]
    if not summarizer.random:
        overrides += [f"summarization.min_length={summary + 1}", f"summarization.max_length={summary + 1}"]
    return lengths, summary, overrides


def _job_settings(
    config: Config,
    translators: dict[str, BenchModel],
    summarizer: BenchModel,
    forced: tuple[dict[str, int], int] | None,
) -> dict[str, Any]:
    """Decoding settings for the baselines: the model's generation_config, the config on top,
    and (transformers' counting, +1 for the decoder start token) the forced lengths."""
    tc, sc = config.translation, config.summarization
    translation = {}
    for lang, m in translators.items():
        length = forced[0][lang] + 1 if forced else None
        translation[lang] = settings_from(
            m.path, tc.num_beams, length or tc.max_length, length or tc.min_length
        )
    s_len = forced[1] + 1 if forced else None
    summarization = settings_from(
        summarizer.path, sc.num_beams, s_len or sc.max_length, s_len or sc.min_length
    )
    return {
        "translators": {lang: m.path for lang, m in translators.items()},
        "summarizer": summarizer.path,
        "translation": translation,
        "summarization": summarization,
    }


def _model_overrides(translators: dict[str, BenchModel], summarizer: BenchModel) -> list[str]:
    """Random stand-ins live in the bench cache: point clsum at the same directories."""
    out = [f"translation.models.{lang}={m.path}" for lang, m in translators.items() if m.random]
    return out + ([f"summarization.model={summarizer.path}"] if summarizer.random else [])


def _convert(
    systems: list[str],
    translators: dict[str, BenchModel],
    summarizer: BenchModel,
    config: Config,
    clsum_overrides: list[str],
    config_path: Path | None,
) -> dict[str, str]:
    """CTranslate2 conversions, done before any timed child so no system's RSS includes one."""
    from clsum.pipeline.runtime.backends import Options
    from clsum.pipeline.runtime.backends import resolve as resolve_backend
    from clsum.pipeline.runtime.ct2cache import ct2_model_dir

    models = [*translators.values(), summarizer]
    spec = {m.path: (m.path if m.random else m.spec) for m in models}
    dirs: dict[str, str] = {}
    if "ctranslate2-plain" in systems:
        dirs = {m.path: str(ct2_model_dir(spec[m.path], "int8")) for m in models}
    if "clsum" in systems:
        clsum_config = load_config(config_path, clsum_overrides)
        backend, compute = resolve_backend(
            Options(clsum_config.backend, clsum_config.compute_type, clsum_config.threads), "cpu"
        )
        if backend == "ctranslate2":
            for m in models:
                ct2_model_dir(spec[m.path], compute)
    return dirs


def _in_child(func: Any, *args: Any) -> Any:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(func, args)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
