"""Run a benchmark: load its data, run each system, score the outputs, and write the report.

Scores come from ``eval.metrics.score`` (signed, with confidence intervals) and summary checks from
``eval.checks``; this module only wires them together and records how every number was made.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clsum.config import Config, load_config
from clsum.eval import data
from clsum.eval.benchmark import BenchmarkConfig
from clsum.eval.options import ScoreOptions
from clsum.eval.systems import RunContext, System, build

if TYPE_CHECKING:
    from clsum.eval.metrics import Score

log = logging.getLogger(__name__)


@dataclass
class SystemResult:
    name: str
    type: str
    kind: str
    params: dict[str, Any]
    outputs: list[str]
    references: list[str]
    scores: dict[str, Score]  # metric -> score
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


def load_data(cfg: BenchmarkConfig, limit: int | None = None) -> data.Dataset:
    """The benchmark's dataset, cut to its first ``limit`` or ``dataset.limit`` segments (the fewer)."""
    ds = cfg.dataset
    dataset = data.load(ds.name, ds.lang, ds.source, ds.split)
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


def _score(outputs: list[str], refs: list[str], metrics: list[str], cfg: BenchmarkConfig) -> dict[str, Score]:
    from clsum.eval.metrics import score

    return score(outputs, refs, metrics, ScoreOptions(**cfg.score))  # keys checked when loading


def _checks(system: System, dataset: data.Dataset, outputs: list[str]) -> dict[str, Any]:
    """Faithfulness checks (numbers, names, ...) over every summary, aggregated."""
    from clsum.eval.checks import aggregate, check

    return aggregate(
        [
            check(seg.source, out, dataset.source_lang, system.translation_for(i))
            for i, (seg, out) in enumerate(zip(dataset.segments, outputs, strict=True))
        ]
    )


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
    from clsum.eval.report import write_report

    chosen = [cfg.system(name) for name in systems] if systems else cfg.systems
    started, start = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
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
