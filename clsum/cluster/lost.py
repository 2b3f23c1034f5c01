"""Batches whose worker dies (memory exhausted, a crash in native code): ``RETRIES`` more tries (Ray
Data's defaults retry for ever), then its documents one per row, then an error row for a document
lost again (docs/scaling.md, "What happens when")."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from clsum.cluster.stages import Report, Row, batch_records, result_row, split_row, write
from clsum.errors import ClsumError

log = logging.getLogger(__name__)

RETRIES = 2  # more tries of a batch whose worker died (Ray's max_retries / max_task_retries)
# Where Ray Data reports a dropped block (ray/data/_internal/execution/streaming_executor_state.py).
_EXECUTOR_LOG = "ray.data._internal.execution.streaming_executor_state"
_OPERATOR = re.compile(r'operator "([^"]*)"')
_STEP = re.compile(r"Map\((\w+)\)")  # "Map(Translate)"; fused steps: "Map(prepare)->Map(Translate)"

# Exceptions that mean the process was lost, not that code raised (ray.exceptions).
_DEATHS = {"RayActorError", "WorkerCrashedError", "OutOfMemoryError", "NodeDiedError", "ObjectLostError"}
DIED = f"the Ray worker died {RETRIES + 1} times on it (out of memory, a crash in native code, or killed)"

RELEASE_S = 60.0  # how long the actors of a pass may take to end before the next pass starts
Plan = Callable[[list[Row]], Any]  # rows -> a Ray dataset whose rows are write()'s


def execute(ray: Any, plan: Plan, rows: list[Row], output: Path) -> Iterator[Row]:
    """The rows ``write`` returns for every batch of ``rows``, the lost batches' one per document."""
    from ray.data import DataContext

    DataContext.get_current().max_errored_blocks = -1  # a dropped batch is retried below instead
    lost, dropped = yield from _one_pass(ray, plan, rows)
    if not lost:
        return
    if len(lost) == len(rows) > 1:  # not one document's doing: stop with the cause
        raise ClsumError(f"the Ray job lost every batch ({dropped.where()}: {dropped.why()})")
    log.warning(
        "%d batch(es) lost in %s (%s); retrying their documents one by one",
        len(lost), dropped.where(), dropped.why(),
    )  # fmt: skip
    singles = [single for row in lost for single in split_row(row)]
    _end_model_actors(ray)
    lost, dropped = yield from _one_pass(ray, plan, singles)
    for row in lost:
        yield _error_row(row, dropped.where(), dropped.why(), output)


def _one_pass(ray: Any, plan: Plan, rows: list[Row]) -> Generator[Row, None, tuple[list[Row], _Dropped]]:
    """Yield what comes back; return the rows that did not, and where and why Ray Data dropped them."""
    seen: set[str] = set()
    dropped = _Dropped()
    logger = logging.getLogger(_EXECUTOR_LOG)
    logger.addHandler(dropped)
    try:
        for row in plan(rows).iter_rows():
            seen.add(row["name"])
            yield row
    except ray.exceptions.RayError as exc:  # not a document's failure: those are rows
        raise ClsumError(f"the Ray job failed: {root_cause(exc)}") from exc
    finally:
        logger.removeHandler(dropped)
    return [row for row in rows if row["name"] not in seen], dropped


def _end_model_actors(ray: Any) -> None:
    """End this job's model actors and wait until they are gone (at most ``RELEASE_S``). An actor
    that was restarting when its pool let go of it comes back ALIVE with no handle (seen: the one a
    poison batch killed) and keeps its CPUs from the next pass's pools; Ray has no public call to
    end an actor without a handle, hence its private ones."""
    from ray._private import state, worker

    job = ray.get_runtime_context().get_job_id()
    core = worker.global_worker.core_worker  # type: ignore[attr-defined]  # set by ray.init
    deadline = time.monotonic() + RELEASE_S
    while left := [
        actor_id
        for actor_id, actor in state.actors(job_id=ray.JobID.from_hex(job)).items()
        if actor["ActorClassName"].startswith("MapWorker(") and actor["State"] != "DEAD"
    ]:
        if time.monotonic() > deadline:
            raise ClsumError(f"{len(left)} Ray actor(s) of the last pass did not end within {RELEASE_S:g} s")
        for actor_id in left:
            core.kill_actor(ray.ActorID.from_hex(actor_id), True)  # True: no restart
        time.sleep(0.5)


class _Dropped(logging.Handler):
    """Collects the steps (stages) in which Ray Data dropped a block, and why (Ray Data logs each
    with the exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.stages: set[str] = set()
        self.causes: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        found = _OPERATOR.search(record.getMessage())
        steps = _STEP.findall(found.group(1)) if found else []
        if not steps:
            return
        self.stages.add(steps[-1].lower())  # the stage (Map(Translate): translate); of fused steps the last
        exc = record.exc_info[1] if record.exc_info else None
        died = exc is None or bool({c.__name__ for c in type(exc).__mro__} & _DEATHS)
        self.causes.add(DIED if died or not isinstance(exc, Exception) else root_cause(exc))

    def where(self) -> str:
        """The one stage the blocks were dropped in ("worker" when it was not one)."""
        return next(iter(self.stages)) if len(self.stages) == 1 else "worker"

    def why(self) -> str:
        return next(iter(self.causes)) if len(self.causes) == 1 else DIED


def _error_row(row: Row, stage: str, why: str, output: Path) -> Row:
    """The document of ``row`` as an error record, made durable as its block on this node."""
    records = batch_records(row)
    for record in records:
        if record.ok:
            record.fail(stage, why)
    return write(result_row(row["name"], records, Report()), str(output))


def root_cause(exc: Exception) -> str:
    """The line naming the exception that started it, from the remote traceback Ray's error carries
    (Ray Data adds its own exception and advice after it)."""
    text = str(exc).split("The above exception was the direct cause of the following exception")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
