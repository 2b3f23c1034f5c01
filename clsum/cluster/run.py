"""The driver of a ray run: ``RunSession`` (keys, resume, outputs) as in a local run; Ray Data runs
the batches, each one row and one block file whose name sorts in input order, so the merged output
is what a local run writes (docs/scaling.md, "What runs where")."""

from __future__ import annotations

import logging
import pickle
import time
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from clsum import errors
from clsum.cluster import lost
from clsum.cluster.connect import connected, import_ray
from clsum.cluster.sizing import Pools, alive_nodes, check_fit, size_pools
from clsum.cluster.stages import (
    Report,
    Row,
    Stages,
    Summarize,
    Translate,
    batch_row,
    prepare,
    tokenizer_config,
    write,
)
from clsum.config import Config
from clsum.errors import ClsumError
from clsum.pipeline.ingest import Source
from clsum.record import Record
from clsum.runner import Engine, EngineReport, Pipeline, Progress, RunResult, RunSession, batches

log = logging.getLogger(__name__)


def run_on_ray(
    config: Config,
    source: str | Path | Source,
    output: str | Path,
    *,
    lang: str | None = None,
    force: bool = False,
    progress: bool = False,
    stages: Stages = None,
) -> RunResult:
    """``Pipeline(config).run(source, output, ...)`` on the Ray cluster ``config.ray`` names: the
    same ``RunSession``, with this engine executing the batches. ``stages`` as in ``Pipeline``."""
    import_ray()  # without the extra, fail before reading anything
    return RunSession(config, source, output, RayEngine(config, stages), lang).run(force, progress)


class RayEngine(Engine):
    """The batches as rows of a Ray dataset; what the workers report about models and cache."""

    def __init__(self, config: Config, stages: Stages) -> None:
        self.config, self.stages = config, stages
        self.progress = Progress()
        self.report = EngineReport(engine={"name": "ray"})

    def check(self) -> None:  # tokenizers only: the driver needs no device
        Pipeline(tokenizer_config(self.config), self.stages).check()

    def execute(self, session: RunSession, done: set[str]) -> None:
        rows = list(_batches(session.documents, done, self.config.doc_batch_size, session.identity))
        with connected(self.config.ray.address, log_dir=session.output) as (ray, own):
            pools = size_pools(self.config, alive_nodes(ray))
            address, nodes = ray.get_runtime_context().gcs_address, len(ray.nodes())
            self.report.engine = {"name": "ray", "address": address, "nodes": nodes, **pools.to_dict()}
            log.info("ray: %s on %d node(s)", pools.to_dict(), nodes)
            check_fit(pools, self.config, ray, own=own)
            out = session.output.resolve()
            for row in lost.execute(ray, partial(self._plan, ray, pools, out), rows, out):
                report: Report = pickle.loads(row["report"])
                if report.fatal is not None:
                    kind, text = report.fatal
                    raise getattr(errors, kind, ClsumError)(text)
                self.report.merge(report)
                session.written(pickle.loads(row["written"]))

    def _plan(self, ray: Any, pools: Pools, output: Path, rows: list[Row]) -> Any:
        """Read tasks, the two actor pools, write tasks: one Ray block per row, so each batch moves
        on as soon as its step is done. The write tasks run on this node, where the output folder
        is, and reserve no CPU: a head node often declares none."""
        from ray.data import ActorPoolStrategy, DataContext

        DataContext.get_current().enable_progress_bars = False  # clsum draws its own
        if not pools.gpus and pools.cpus == self.config.ray.task_cpus:
            log.info(
                "ray.task_cpus equals ray.cpus_per_actor: Ray Data runs the read step in the translate actors"
            )
        here = {f"node:{ray.util.get_node_ip_address()}": 0.001}  # every node has its node:<ip> resource
        settings = {"config": self.config, "stages": self.stages}
        pool = {
            "fn_constructor_kwargs": {**settings, "threads": pools.threads},
            "num_cpus": pools.cpus,
            "num_gpus": pools.gpus or None,
            "memory": pools.memory,
            # An actor that dies is restarted (it reloads its models); its batch is tried again.
            "max_task_retries": lost.RETRIES,
        }
        # Ray 2.60 deprecates the retry arguments (to go in 2.64, with no replacement named yet).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            return (
                ray.data.from_items(rows, override_num_blocks=len(rows))
                .map(
                    prepare,
                    fn_kwargs=settings,
                    num_cpus=self.config.ray.task_cpus,
                    max_retries=lost.RETRIES,
                )
                .map(Translate, compute=ActorPoolStrategy(size=pools.translate), **pool)
                .map(Summarize, compute=ActorPoolStrategy(size=pools.summarize), **pool)
                .map(
                    write,
                    fn_kwargs={"output": str(output)},
                    num_cpus=0,
                    resources=here,
                    max_retries=lost.RETRIES,
                )
            )


def _batches(documents: Source, done: set[str], size: int, identity: str) -> Iterator[Row]:
    """The documents to do, ``size`` at a time, in rows named ``<run>-<index>``: block names sort in
    input order, within a run and across runs. A folder's rows carry a part of the source (read on
    the nodes); a JSONL file is read here (docs/scaling.md, "What runs where")."""
    run = f"{time.time_ns():020d}"
    parts: Iterator[Source | list[Record]] = (
        batches(documents.records(skip=done), size)
        if documents.kind == "jsonl"
        else documents.parts(size, skip=done)
    )
    for index, part in enumerate(parts):
        yield batch_row(f"{run}-{index:09d}", identity, part)
