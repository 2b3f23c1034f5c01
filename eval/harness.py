"""Run a benchmark: load its data, run each system, score the outputs, and write the report (how
failures, common subsets, contrasts and comparisons work, and why: docs/evaluation.md)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from tqdm import tqdm

from clsum.config import Config, load_config
from clsum.errors import OutputError
from clsum.eval import data
from clsum.eval.benchmark import BenchmarkConfig
from clsum.eval.checks import ChecksSummary, check
from clsum.eval.metrics import CHEAP_METRICS, compare, score
from clsum.eval.options import ScoreOptions
from clsum.eval.report import write_report
from clsum.eval.results import Failure, Report, SystemResult
from clsum.eval.scores import Score
from clsum.eval.systems import RunContext, System, build
from clsum.pipeline.lock import FolderLock

log = logging.getLogger(__name__)


def load_data(cfg: BenchmarkConfig, limit: int | None = None) -> data.Dataset:
    """The benchmark's dataset, cut to its first ``limit`` or ``dataset.limit`` segments (the fewer)."""
    ds = cfg.dataset
    dataset = data.load(ds.name, ds.lang, ds.source, ds.split)
    n = min(x for x in (limit, ds.limit, len(dataset.segments)) if x is not None)
    dataset.segments = dataset.segments[:n]
    log.info("%s: %d segments from %s", dataset.name, n, ", ".join(dataset.files))
    for what in ("source", "reference"):
        empty = sum(1 for s in dataset.segments if not getattr(s, what).strip())
        if empty:
            log.warning("%s: %d of %d %s texts are empty", dataset.name, empty, n, what)
    return dataset


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


def contrast(
    outputs: list[str], refs: list[str], metrics: list[str], cfg: BenchmarkConfig
) -> dict[str, Score]:
    """Each output against the next document's reference: what the score is worth without content
    (a system that says the same for every input scores as high here; docs/evaluation.md)."""
    if len(outputs) < 2:
        return {m: Score.skip(m, "a contrast needs at least 2 documents") for m in metrics}
    return score(outputs, refs[1:] + refs[:1], metrics, cfg.score)


def run_system(
    system: System, metrics: list[str], dataset: data.Dataset, ctx: RunContext, cfg: BenchmarkConfig
) -> SystemResult:
    start = time.perf_counter()
    outputs = system.run(dataset.segments, ctx)
    seconds = time.perf_counter() - start
    refs = system.references if system.references is not None else [s.reference for s in dataset.segments]
    failed = {
        i: Failure(segment.id, info.error.stage, info.error.message)
        for i, (segment, info) in enumerate(zip(dataset.segments, system.info, strict=False))
        if info.error
    }
    scored = [i for i in range(len(outputs)) if i not in failed]
    if failed:
        first = next(iter(failed.values()))
        log.warning(
            "%s: %d of %d documents failed (first: %s in %s: %s); scoring the %d that succeeded",
            system.name, len(failed), len(outputs), first.id, first.stage, first.message, len(scored),
        )  # fmt: skip
    kept_outputs, kept_refs = [outputs[i] for i in scored], [refs[i] for i in scored]
    empty = sum(1 for text in kept_outputs if not text.strip())
    if empty:
        log.warning("%s: %d of %d outputs are empty (scored as they are: 0)", system.name, empty, len(scored))
    if scored:
        scores = score(kept_outputs, kept_refs, metrics, cfg.score)
    else:
        scores = {m: Score.skip(m, f"all {len(outputs)} documents failed") for m in metrics}
    failures = list(failed.values())
    result = SystemResult(
        system, outputs, refs, scores, seconds, scored=scored, failures=failures, empty_outputs=empty
    )
    if system.references is not None and scored:
        result.contrast = contrast(kept_outputs, kept_refs, metrics, cfg)
    if system.kind == "summary":  # the reference-free checks of every summary that was made
        sources, lang = [s.source for s in dataset.segments], dataset.source_lang
        english = [i.translation for i in system.info] or [None] * len(outputs)  # what was summarized
        checked = [check(sources[i], outputs[i], lang, english[i]) for i in scored]
        result.checks = ChecksSummary.of(checked)
    return result


def score_common(report: Report, options: ScoreOptions) -> None:
    """Score every system on the documents all scored systems succeeded on, where that differs (so a
    system that failed on the long documents is not compared on the easy ones only), then compare each
    system with the first scored one there, with ``clsum compare``'s test."""
    scored = [r for r in report.systems.values() if r.scored]
    report.common = sorted(set.intersection(*(set(r.scored) for r in scored))) if scored else []
    if scored and not report.common:
        log.warning("no document was scored for every system; each system is scored on its own documents")
    on_common = {r.system.name: _on_common(r, report.common) for r in scored}
    for result in scored:
        if report.common and len(report.common) < len(result.scored):
            result.common_scores = score(*on_common[result.system.name], list(result.scores), options)
    if len(scored) < 2 or not report.common:
        report.comparison_note = "paired comparisons need two systems scored on common documents"
        return
    if options.bootstrap < 1:
        report.comparison_note = "no paired comparisons: bootstrap is 0 (no resamples or random swaps)"
        return
    base = scored[0]
    report.baseline = base.system.name
    outputs, refs = on_common[base.system.name]
    for result in scored[1:]:
        their_outputs, their_refs = on_common[result.system.name]
        metrics = [m for m in result.scores if m in base.scores and m in CHEAP_METRICS]
        # Scored against other references (its own English-side summaries): not paired.
        if their_refs == refs and metrics:
            report.comparisons[result.system.name] = compare(
                outputs, their_outputs, refs, metrics, options, "auto"
            )


def _on_common(result: SystemResult, common: list[int]) -> tuple[list[str], list[str]]:
    return [result.outputs[i] for i in common], [result.references[i] for i in common]


def run_benchmark(
    cfg: BenchmarkConfig,
    run_dir: str | Path,
    systems: list[str] | None = None,
    limit: int | None = None,
    config: Config | None = None,
    progress: bool = False,
) -> Report:
    """Run ``systems`` (default: all) of a benchmark and write the report files into ``run_dir``.

    Data and models are loaded first (a failure there leaves no run folder); then the run holds
    ``run_dir``'s lock until its reports are written, so a second run into it fails at once."""
    chosen = [cfg.system(name) for name in systems] if systems else cfg.systems
    started, start = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter()
    dataset = load_data(cfg, limit)
    config = config or pipeline_config(cfg)
    ctx = RunContext(dataset.source_lang, config, progress=progress)
    report = Report(cfg, dataset, config, started_at=started, limit=limit, requested=systems)
    built = [(sc, build(sc.name, sc.type, sc.params)) for sc in chosen]
    # Every model any chosen system needs, before the first system runs.
    ctx.prepare(list(dict.fromkeys(run for _, system in built for run in system.runs(dataset.source_lang))))
    try:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create run folder {run_dir}: {exc.strerror or exc}") from exc
    with FolderLock(Path(run_dir)):
        for sc, system in tqdm(built, desc="systems", unit="system", disable=not progress):
            log.info("running %s (%s) on %d segments", sc.name, sc.type, len(dataset.segments))
            report.systems[sc.name] = run_system(system, sc.metrics or cfg.metrics, dataset, ctx, cfg)
            report.systems[sc.name].note = sc.note
        score_common(report, cfg.score)
        report.models, report.generation = ctx.models, ctx.generation_settings()
        report.seconds = time.perf_counter() - start
        write_report(report, Path(run_dir))
    return report
