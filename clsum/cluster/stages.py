"""What runs on the Ray workers: the local engine's stages over one document batch per row. An
error that concerns every document (``ClsumError``: a model that cannot load) is reported once in
the row, not raised (Ray would retry it and print its own traceback): the driver raises it."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from clsum.config import Config
from clsum.errors import ClsumError
from clsum.pipeline.ingest import Source
from clsum.pipeline.runtime import configure_process
from clsum.pipeline.write import OutputStore
from clsum.record import Record
from clsum.runner import PREPARE_STAGES, EngineReport, Pipeline, StageFn, StageName, record_key, written_order


class Row(TypedDict, total=False):
    """A batch between the steps of the plan (Ray Data rows are dicts); the bytes are pickles."""

    name: str  # its block file's name: names sort in input order
    identity: str  # the run's identity, which the read task keys the documents with
    # Before the read step, a part of a folder's Source (read on the node) or the records of a JSONL
    # file (read by the driver); after it, the records.
    records: bytes
    report: bytes  # Report
    written: bytes  # after the write step: what the driver counts of each record


def batch_row(name: str, identity: str, documents: Source | list[Record]) -> Row:
    return {"name": name, "identity": identity, "records": pickle.dumps(documents)}


def split_row(row: Row) -> list[Row]:
    """One row per document of a batch's row, named so that blocks still sort in input order."""
    documents: Source | list[Record] = pickle.loads(row["records"])
    singles: Iterable[Source | list[Record]] = (
        documents.parts(1) if isinstance(documents, Source) else [[r] for r in documents]
    )
    return [batch_row(f"{row['name']}-{i:05d}", row["identity"], d) for i, d in enumerate(singles)]


def batch_records(row: Row) -> list[Record]:
    """The documents of an input row, read (a source part) and keyed."""
    documents: Source | list[Record] = pickle.loads(row["records"])
    records = list(documents.records()) if isinstance(documents, Source) else documents
    for record in records:
        record.key = record_key(row["identity"], record)
    return records


Stages = Mapping[StageName, StageFn] | None


@dataclass
class Report(EngineReport):
    """What a batch's trip through the workers tells the driver besides its records."""

    fatal: tuple[str, str] | None = None  # (ClsumError subclass name, message)

    def fail(self, exc: ClsumError) -> None:
        self.fatal = (type(exc).__name__, str(exc))


def tokenizer_config(config: Config) -> Config:
    """The config for what only counts tokens (segmentation, the summarizer check): transformers on
    CPU, which loads tokenizers and nothing else, on any node, whatever device the models run on.
    Token counts do not depend on the backend, so neither do the stages' results."""
    return dataclasses.replace(config, device="cpu", backend="transformers", compute_type="auto")


# The read tasks' pipeline and its config: Ray reuses its worker processes, so the tokenizers
# segmentation needs are loaded once per process and configuration, not once per batch.
_prepared: list[tuple[Config, Pipeline]] = []


def prepare(row: Row, config: Config, stages: Stages = None) -> Row:
    """Read the batch (a part of a folder's source; JSONL records come read), key, clean, detect
    and segment it."""
    report = Report()
    records = batch_records(row)
    try:
        records = _prepare_pipeline(config, stages).process_isolated(records, until=PREPARE_STAGES[-1])
    except ClsumError as exc:
        report.fail(exc)
    return result_row(row["name"], records, report)


def _prepare_pipeline(config: Config, stages: Stages) -> Pipeline:
    if stages:  # tests' own stage functions: nothing worth keeping
        return Pipeline(tokenizer_config(config), stages)
    if not _prepared or _prepared[0][0] != config:  # a new run's configuration replaces the last
        _prepared[:] = [(config, Pipeline(tokenizer_config(config)))]
    return _prepared[0][1]


class ModelStage:
    """A pool actor that runs one model stage; its pipeline loads that stage's models once, on the
    first batch that needs them, and keeps them (and its translation cache) for the whole run."""

    stage: StageName

    def __init__(self, config: Config, threads: int, stages: Stages = None) -> None:
        # This actor's process is its own entry point: it sets its inference threads itself.
        configure_process(threads)
        self.pipeline: Pipeline | ClsumError
        try:
            self.pipeline = Pipeline(dataclasses.replace(config, threads=threads), stages)
        except ClsumError as exc:  # e.g. device cuda on a node without one: reported with the first batch
            self.pipeline = exc

    def __call__(self, row: Row) -> Row:
        report: Report = pickle.loads(row["report"])
        if report.fatal is None and isinstance(self.pipeline, ClsumError):
            report.fail(self.pipeline)
        if report.fatal is not None or isinstance(self.pipeline, ClsumError):
            return {**row, "report": pickle.dumps(report)}
        records: list[Record] = pickle.loads(row["records"])
        cache = self.pipeline.translation_cache
        hits, misses = cache.hits, cache.misses
        try:
            records = self.pipeline.process_isolated(records, until=self.stage, start=self.stage)
        except ClsumError as exc:
            report.fail(exc)
        report.models.update(self.pipeline.models.generation())
        report.devices.add(self.pipeline.device)
        report.cache.update(hits=cache.hits - hits, misses=cache.misses - misses)  # 0, 0 in summarize
        return result_row(row["name"], records, report)


class Translate(ModelStage):
    stage = "translate"


class Summarize(ModelStage):
    stage = "summarize"


def write(row: Row, output: str) -> Row:
    """Make the batch durable as one block file. What goes back to the driver is what it counts
    (each record's id, error and warnings), not the texts."""
    report: Report = pickle.loads(row["report"])
    written: list[Record] = []
    if report.fatal is None:
        records: list[Record] = written_order(pickle.loads(row["records"]))
        try:
            OutputStore(Path(output)).write_block(row["name"], records)
        except ClsumError as exc:  # OutputError: the driver stops the run with it
            report.fail(exc)
        else:
            written = [Record(id=r.id, error=r.error, warnings=r.warnings) for r in records]
    return {"name": row["name"], "written": pickle.dumps(written), "report": pickle.dumps(report)}


def result_row(name: str, records: list[Record], report: Report) -> Row:
    return {"name": name, "records": pickle.dumps(records), "report": pickle.dumps(report)}
