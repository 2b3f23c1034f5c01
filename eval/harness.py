"""Run a benchmark: load its data, run each system, score the outputs, and write the report.

Scores come from ``eval.metrics.score`` (signed, with confidence intervals) and summary checks from
``eval.checks``; this module only wires them together and records how every number was made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from clsum.config import Config, load_config
from clsum.errors import ConfigError, InputError
from clsum.eval import data
from clsum.eval.benchmark import BenchmarkConfig
from clsum.eval.systems import RunContext, System, build

log = logging.getLogger(__name__)



@dataclass
class SystemResult:
    name: str
    type: str
    kind: str
    params: dict[str, Any]
    outputs: list[str]
    references: list[str]
    scores: dict[str, Any]  # metric -> eval.metrics.Score
    info: list[dict[str, Any]]
    seconds: float
    reference_kind: str = "dataset"  # or "system" (cross-lingual consistency: its own references)
    checks: dict[str, Any] | None = None  # eval.checks aggregate, for summaries


@dataclass
class Report:
    benchmark: BenchmarkConfig
    dataset: data.Dataset
    config: Config
    systems: dict[str, SystemResult] = field(default_factory=dict)
    seconds: float = 0.0
    started_at: str = ""


# -- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubSet:
    """Where a benchmark lives on the Hugging Face hub, for users who are online (``source: datasets``)."""

    repo: str
    config: str  # formatted with lang and the FLORES codes
    source: str  # source text field (formatted the same way)
    reference: str
    id: str | None = None


HUB_SETS = {
    "wikilingua": HubSet("GEM/wiki_lingua", "{lang}_en", "source", "target", "gem_id"),
    "flores": HubSet("facebook/flores", "{code}-eng_Latn", "sentence_{code}", "sentence_eng_Latn", "id"),
    # The full CNN/DM test set (11,490 articles): the published tables' own data.
    "cnndm": HubSet("abisee/cnn_dailymail", "3.0.0", "article", "highlights", "id"),
}


def _from_hub(name: str, lang: str, split: str) -> data.Dataset:
    hub = HUB_SETS[name]
    fields = {"lang": lang, "code": data.FLORES_CODES.get(lang, lang)}
    config = hub.config.format(**fields)
    hint = f"dataset {name} with source: datasets needs the optional 'datasets' package and internet access"
    try:
        import datasets  # optional: only users who are online have it
    except ImportError as exc:
        raise InputError(f"{hint}: pip install 'clsum[online]' (the package is not installed)") from exc
    try:
        rows = datasets.load_dataset(hub.repo, config, split=split)
    except Exception as exc:  # network, hub or script errors all mean the same to the user
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{hint} (loading {hub.repo} {config} failed: {first})") from exc
    source, reference = hub.source.format(**fields), hub.reference.format(**fields)
    segments = [
        data.Segment(str(row.get(hub.id, i) if hub.id else i), row[source], row[reference])
        for i, row in enumerate(rows)
    ]
    files = {f"hf:{hub.repo}/{config}/{split}": str(getattr(rows, "_fingerprint", "unknown"))}
    return data.Dataset(name if lang == "en" else f"{name}-{lang}-en", lang, segments, files)


def _local(loader: Callable[[str], data.Dataset]) -> Callable[[str, str], data.Dataset]:
    return lambda lang, split: loader(lang)


def _wmt19(lang: str, split: str) -> data.Dataset:
    if lang != "de":
        raise ConfigError(f"wmt19 is German-English only, got dataset.lang {lang!r}")
    return data.load_wmt19_de_en()


LOADERS: dict[str, Callable[[str, str], data.Dataset]] = {
    "flores": _local(data.load_flores),
    "ntrex": _local(data.load_ntrex_documents),
    "wmt19": _wmt19,
    "cnndm-frank250": lambda lang, split: data.load_cnndm_frank250(),
}
ONLINE_ONLY = {"wikilingua", "cnndm"}


def load_data(cfg: BenchmarkConfig, limit: int | None = None) -> data.Dataset:
    ds = cfg.dataset
    if ds.name in ONLINE_ONLY and ds.source != "datasets":
        raise ConfigError(f"dataset {ds.name} has no local copy; set dataset.source: datasets")
    if ds.source == "datasets" and ds.name not in HUB_SETS:
        online = ", ".join(sorted(HUB_SETS))
        raise ConfigError(f"dataset {ds.name} is read from the data root only (online: {online})")
    if (
        ds.name == "flores"
        and ds.lang not in data.FLORES_CODES
        or ds.name == "ntrex"
        and ds.lang not in data.NTREX_CODES
    ):
        raise ConfigError(f"dataset {ds.name} has no language {ds.lang!r}")
    if ds.source == "datasets":
        dataset = _from_hub(ds.name, ds.lang, ds.split)
    else:
        dataset = LOADERS[ds.name](ds.lang, ds.split)
    n = min(x for x in (limit, ds.limit, len(dataset.segments)) if x is not None)
    dataset.segments = dataset.segments[:n]
    log.info("%s: %d segments from %s", dataset.name, n, ", ".join(dataset.files))
    return dataset


# -- pipeline config -----------------------------------------------------------------------------


def pipeline_config(
    cfg: BenchmarkConfig, config_path: Path | None = None, overrides: tuple[str, ...] | list[str] = ()
) -> Config:
    """The benchmark's ``pipeline:`` section, then ``--config`` (replaces its file) and ``--set``."""
    path: Path | None = config_path
    if path is None and cfg.pipeline.config:
        path = Path(cfg.pipeline.config)
        if not path.is_absolute() and not path.is_file():
            path = Path(str(resources.files("clsum"))) / path  # shipped: configs/...
    return load_config(path, [*cfg.pipeline.set, *overrides])


# -- running and scoring -------------------------------------------------------------------------


def _score(outputs: list[str], refs: list[str], metrics: list[str], cfg: BenchmarkConfig) -> dict[str, Any]:
    from clsum.eval.metrics import ScoreOptions, score

    return score(outputs, refs, metrics, ScoreOptions(**cfg.score))  # keys checked when loading


def _checks(system: System, dataset: data.Dataset, outputs: list[str]) -> dict[str, Any] | None:
    """Faithfulness checks (numbers, names, ...) over every summary, aggregated."""
    from clsum.eval.checks import aggregate, check

    results = [
        check(seg.source, out, dataset.source_lang, system.translation_for(i))
        for i, (seg, out) in enumerate(zip(dataset.segments, outputs, strict=True))
    ]
    summary = aggregate(results)
    return summary if isinstance(summary, dict) else getattr(summary, "to_dict", lambda: summary)()


def run_system(
    system: System, metrics: list[str], dataset: data.Dataset, ctx: RunContext, cfg: BenchmarkConfig
) -> SystemResult:
    start = time.perf_counter()
    outputs = system.run(dataset.segments, ctx)
    seconds = time.perf_counter() - start
    refs = system.references if system.references is not None else [s.reference for s in dataset.segments]
    failed = [i for i in system.info if i.get("error")]
    if failed:
        log.warning(
            "%s: %d of %d documents failed (%s)", system.name, len(failed), len(outputs), failed[0]["error"]
        )
    result = SystemResult(
        name=system.name,
        type=system.type,
        kind=system.kind,
        params=system.params,
        outputs=outputs,
        references=refs,
        scores=_score(outputs, refs, metrics, cfg),
        info=system.info,
        seconds=seconds,
        reference_kind="system" if system.references is not None else "dataset",
    )
    if system.kind == "summary":
        result.checks = _checks(system, dataset, outputs)
    return result


def run_benchmark(
    cfg: BenchmarkConfig,
    run_dir: str | Path,
    systems: list[str] | None = None,
    limit: int | None = None,
    config: Config | None = None,
    progress: bool = False,
) -> Report:
    """Run ``systems`` (default: all) of a benchmark and write the report files into ``run_dir``."""
    from clsum.eval.report import now, write_report

    chosen = [cfg.system(name) for name in systems] if systems else cfg.systems
    started, start = now(), time.perf_counter()
    dataset = load_data(cfg, limit)
    config = config or pipeline_config(cfg)
    ctx = RunContext(dataset.source_lang, config, progress=progress)
    report = Report(cfg, dataset, config, started_at=started)
    from tqdm import tqdm

    for sc in tqdm(chosen, desc="systems", unit="system", disable=not progress):
        log.info("running %s (%s) on %d segments", sc.name, sc.type, len(dataset.segments))
        system = build(sc.name, sc.type, sc.params)
        report.systems[sc.name] = run_system(system, sc.metrics or cfg.metrics, dataset, ctx, cfg)
    report.seconds = time.perf_counter() - start
    write_report(report, Path(run_dir))
    return report
