"""The driver of a ray run: the same plan, resume and outputs as ``Pipeline.run``, on a cluster.

Before Ray is involved, the input is enumerated and keyed and the output folder locked and opened
exactly as a local run does it (``OutputStore.prepare`` skips documents already summarized with
this config, and folds in the finished blocks of a run that was killed). The documents left are cut
into the batches a local run would make, in the same order; each batch becomes one row of a Ray
dataset and, at the end of the plan, one block file named after its place in that order. The final
merge appends the blocks in name order, one row per document, so the output is what a local run
writes.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clsum import errors
from clsum.cluster import lost
from clsum.cluster.connect import connected, import_ray
from clsum.cluster.sizing import Pools, alive_nodes, check_fit, size_pools
from clsum.cluster.stages import Report, Summarize, Translate, prepare, tokenizer_config, write
from clsum.config import Config
from clsum.errors import ClsumError, OutputError, WriteError
from clsum.pipeline.ingest import Source, open_source
from clsum.pipeline.write import OutputStore
from clsum.record import Record
from clsum.runner import (
    Pipeline,
    Progress,
    RunResult,
    StageFn,
    StageName,
    record_key,
    run_ending,
    run_manifest,
    run_stopped,
)

log = logging.getLogger(__name__)


def run_on_ray(
    config: Config,
    source: str | Path | Source,
    output: str | Path,
    *,
    lang: str | None = None,
    force: bool = False,
    progress: bool = False,
    stages: Mapping[StageName, StageFn] | None = None,
) -> RunResult:
    """``Pipeline(config).run(source, output, ...)`` on the Ray cluster ``config.ray`` names.

    ``stages`` replaces stage functions by name, as ``Pipeline(config, stages)`` does (tests).
    """
    import_ray()  # without the extra, fail before reading anything
    if isinstance(source, Source):
        documents = source
    else:
        documents = open_source(source, lang=lang, max_bytes=config.input.max_bytes)
    store = OutputStore(Path(output))
    with store.locked():  # one run per output folder, whichever engine
        return _Run(config, documents, store, output, stages).run(force, progress)


class _Run:
    """One run's state on the driver: counts, and what the workers report about models and cache."""

    def __init__(
        self,
        config: Config,
        documents: Source,
        store: OutputStore,
        output: str | Path,
        stages: Mapping[StageName, StageFn] | None,
    ) -> None:
        self.config, self.documents, self.store, self.output = config, documents, store, output
        self.stages = stages
        self.result = RunResult(Path(output), total=len(documents))
        self.started = _now()
        self.report = Report()
        self.pools: Pools | None = None
        self.cluster: dict[str, Any] = {}

    def run(self, force: bool, progress: bool) -> RunResult:
        config_hash = self.config.hash()
        keys = {r.id: record_key(config_hash, r) for r in self.documents.records()}
        done = self.store.prepare(keys, force=force)
        todo = [doc_id for doc_id in keys if doc_id not in done]
        del keys
        self.result.skipped = len(done)
        if done:
            log.info("%d of %d documents already summarized with this config; skipping them",
                     len(done), self.result.total)  # fmt: skip
        if todo:  # tokenizers only: the driver needs no device
            Pipeline(tokenizer_config(self.config), self.stages).check()
        self.store.write_manifest(self._manifest(status="running"))
        bar = Progress()
        try:
            if todo:
                rows = list(_batches(self.documents, done, self.config.doc_batch_size))
                self._execute(rows, bar, progress, len(todo))
        except BaseException as exc:
            bar.close()
            self._finish(run_ending(exc), after_error=True)
            if isinstance(exc, OutputError):
                raise WriteError(f"{exc}; {run_stopped(self.result)}") from exc
            raise
        bar.close()
        try:
            self._finish({"status": "complete"})
        except OutputError as exc:
            raise WriteError(f"{exc}; every document's result is written; rerun to write it again") from exc
        return self.result

    def _execute(self, rows: list[dict[str, Any]], bar: Progress, progress: bool, todo: int) -> None:
        with connected(self.config.ray.address, log_dir=Path(self.output)) as cluster:
            ray = cluster.ray
            self.pools = pools = size_pools(self.config, alive_nodes(ray))
            self.cluster = {"address": ray.get_runtime_context().gcs_address, "nodes": len(ray.nodes())}
            log.info("ray: %s on %d node(s)", self.pools.to_dict(), self.cluster["nodes"])
            check_fit(pools, self.config, ray, own=cluster.own)
            bar.start(progress, todo)  # once Ray's own output goes to its file (connected)

            def plan(batches: list[dict[str, Any]]) -> Any:
                return _plan(ray, self.config, pools, batches, self.output, self.stages)

            for row in lost.execute(ray, plan, rows, self.config, Path(self.output).resolve()):
                self._tally(row, bar)

    def _tally(self, row: dict[str, Any], bar: Progress) -> None:
        report: Report = pickle.loads(row["report"])
        if report.fatal is not None:
            kind, text = report.fatal
            raise getattr(errors, kind, ClsumError)(text)
        self.report.merge(report)
        written: list[Record] = pickle.loads(row["written"])
        self.result.add(written)
        bar.documents_done(len(written))

    def _finish(self, ending: dict[str, str], after_error: bool = False) -> None:
        """Merge the blocks, write the final manifest and summaries.md. After an error this is best
        effort: the error that stopped the run is the one to report."""
        try:
            merged = self.store.merge_blocks()
            log.info("merged %d block files into %s", merged, self.output)
            if after_error:  # blocks written but not yet counted: count the files
                self.result.summarized, self.result.failures = self.store.appended()
                self.result.failed = sum(self.result.failures.values())
            manifest = self._manifest(finished_at=_now(), **ending)
            manifest["counts"]["in_output"] = self.store.counts()
            # Each translate actor has its own cache of this size; hits and misses are summed.
            manifest["translation_cache"] = {**self.report.cache, "size": self.config.translation.cache_size}
            self.store.write_manifest(manifest)
            self.store.write_markdown()
        except OutputError as exc:
            if not after_error:
                raise
            log.debug("after the run stopped: %s", exc)

    def _manifest(self, **status: str) -> dict[str, Any]:
        devices = ", ".join(sorted(self.report.devices))
        manifest = run_manifest(
            self.config, self.documents.root, self.output, self.result, devices, self.report.models,
            started_at=self.started, **status,
        )  # fmt: skip
        manifest["engine"] = {"name": "ray", **self.cluster, **(self.pools.to_dict() if self.pools else {})}
        return manifest


def _batches(documents: Source, done: set[str], size: int) -> Iterator[dict[str, Any]]:
    """The rows of the dataset: the documents to do in input order, ``size`` at a time, each row
    named ``<run>-<index>`` so that block names sort in this order, within a run and across runs.

    A folder's (or a file's) rows carry a part of the source, and the read tasks read its files on
    the nodes; a JSONL file is read here, and its rows carry the records.
    """
    run = f"{time.time_ns():020d}"
    names = (f"{run}-{index:09d}" for index in itertools.count())
    if documents.kind != "jsonl":
        for part in documents.parts(size, skip=done):
            yield {"name": next(names), "source": pickle.dumps(part)}
        return
    batch = []
    for record in documents.records(skip=done):
        batch.append(record)
        if len(batch) == size:
            yield {"name": next(names), "records": pickle.dumps(batch)}
            batch = []
    if batch:
        yield {"name": next(names), "records": pickle.dumps(batch)}


def _plan(
    ray: Any,
    config: Config,
    pools: Pools,
    rows: list[dict[str, Any]],
    output: str | Path,
    stages: Any,
) -> Any:
    """Read tasks, the two actor pools, write tasks: one Ray block per row, so each batch moves on
    as soon as its step is done.

    The read tasks reserve ``ray.task_cpus`` and the actors ``ray.cpus_per_actor``: with different
    reservations Ray Data keeps them apart instead of running the read step inside the translate
    actors. The write tasks run on this node, where the output folder is (no shared filesystem
    needed for outputs), and reserve no CPU: a head node often declares none.
    """
    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().enable_progress_bars = False  # clsum draws its own
    if not pools.gpus and pools.cpus == config.ray.task_cpus:
        log.info(
            "ray.task_cpus equals ray.cpus_per_actor: Ray Data runs the read step in the translate actors"
        )
    here = {f"node:{ray.util.get_node_ip_address()}": 0.001}  # every node has its node:<ip> resource

    def pool(size: int) -> dict[str, Any]:
        return {
            "fn_constructor_kwargs": {"config": config, "threads": pools.threads, "stages": stages},
            "compute": ActorPoolStrategy(size=size),
            "num_cpus": pools.cpus,
            "num_gpus": pools.gpus or None,
            "memory": pools.memory,
            **lost.actor_args(),
        }

    with lost.retry_args_allowed():  # Ray 2.60 warns that these arguments go in Ray 2.64
        return (
            ray.data.from_items(rows, override_num_blocks=len(rows))
            .map(
                prepare,
                fn_kwargs={"config": config, "stages": stages},
                num_cpus=config.ray.task_cpus,
                **lost.task_args(),
            )
            .map(Translate, **pool(pools.translate))
            .map(Summarize, **pool(pools.summarize))
            .map(
                write,
                fn_kwargs={"output": str(Path(output).resolve())},
                num_cpus=0,
                resources=here,
                **lost.task_args(),
            )
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
