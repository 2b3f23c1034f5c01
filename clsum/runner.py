"""The runner: a pipeline built from a config runs its stages over records, texts or a folder."""

from __future__ import annotations

import hashlib
import itertools
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from clsum.config import Config, unknown
from clsum.errors import ClsumError, OutputError, Terminated, WriteError
from clsum.pipeline.clean import clean
from clsum.pipeline.detect import detect
from clsum.pipeline.ingest import Source, open_source, text_record
from clsum.pipeline.runtime import (
    Models,
    Output,
    configured_models,
    resolve_device,
    run_facts,
    seed_everything,
)
from clsum.pipeline.runtime.hub import ModelRef
from clsum.pipeline.runtime.hub import identity as hub_identity
from clsum.pipeline.runtime.models import ModelSummary
from clsum.pipeline.segment import segment
from clsum.pipeline.summarize import check_summarization, summarize
from clsum.pipeline.tcache import TranslationCache
from clsum.pipeline.translate import translate
from clsum.pipeline.write import OutputStore, read_manifest
from clsum.record import Record
from clsum.versions import package_versions

log = logging.getLogger(__name__)
_T = TypeVar("_T")

StageName = Literal["clean", "detect", "segment", "translate", "summarize"]
STAGES: tuple[StageName, ...] = get_args(StageName)
# Stages that run on the background thread while the previous batch is in inference.
PREPARE_STAGES = STAGES[: STAGES.index("segment") + 1]

# A stage function fills its own fields in every record of a batch that has no error yet; a document
# it cannot process gets an error (``Record.fail``), and an exception concerns the whole batch.
StageFn = Callable[[list[Record]], object]


@dataclass(frozen=True)
class Stage:
    run: StageFn
    # Settings only a model can judge (a prefix that fills the summarizer's input): checked once
    # before any document, so a bad configuration is one error, not a failure per document.
    check: Callable[[], None] = lambda: None


@dataclass
class RunResult:
    output: Path
    total: int = 0  # documents in the input
    summarized: int = 0  # done in this run
    skipped: int = 0  # already done by an earlier run with the same content and config
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # stage -> count
    warned: int = 0  # documents done in this run with degenerate outputs (Record.warnings)
    # "stage kind" (e.g. "translate max_length") -> documents of this run with outputs so flagged
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def add(self, written: Iterable[Record]) -> None:
        """Count (and log the failures of) records just written."""
        for record in written:
            if record.error is not None:
                self.failed += 1
                self.failures[record.error.stage] += 1
                log.warning("%s: %s failed: %s", record.id, record.error.stage, record.error.message)
            else:
                self.summarized += 1
                self.warned += bool(record.warnings)
                self.warnings.update(f"{w.stage} {w.kind}" for w in record.warnings)  # documents, not outputs


class Progress:
    """Bars for documents and for sentences (unique texts to translate), disabled until ``start``
    shows them for one run (the CLI enables them on a terminal without --quiet)."""

    def __init__(self) -> None:
        self.start(False, 0)

    def start(self, enabled: bool, documents: int) -> None:
        from tqdm import tqdm  # a disabled bar does nothing

        self.docs = tqdm(total=documents, desc="documents", unit="doc", position=0, disable=not enabled)
        self.sents = tqdm(total=0, desc="sentences", unit="sent", position=1, disable=not enabled)

    def add_sentences(self, n: int) -> None:
        self.sents.total = (self.sents.total or 0) + n
        self.sents.refresh()

    def sentences_done(self, n: int) -> None:
        self.sents.update(n)

    def documents_done(self, n: int) -> None:
        self.docs.update(n)

    def close(self) -> None:
        self.docs.close()
        self.sents.close()


def record_key(identity: str, record: Record) -> str:
    """What a stored summary must match to be reused: the run's ``identity`` (``run_identity``), the
    document's id, language hint and input digest (its bytes and the decoder version)."""
    parts = [identity, record.id, record.lang_hint or "", record.digest or ""]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def run_identity(config: Config) -> str:
    """The config's hash and what its models are: a local model directory by its content hash (so
    changed files at the same path redo what the old ones made), a hub model by the commit its
    revision resolves to in the cache (a newer snapshot redoes what the old one made)."""
    specs = sorted({spec for _, spec, _ in configured_models(config)})
    return "\x00".join([config.hash(), *(f"{spec}={hub_identity(ModelRef(spec))}" for spec in specs)])


def default_stages(
    config: Config, models: Models, cache: TranslationCache[Output], progress: Progress
) -> dict[StageName, Stage]:
    """The stage list, built once per pipeline: each stage bound to the settings it reads."""
    tc, sc, max_tokens = config.translation, config.summarization, config.input.max_tokens
    return {
        "clean": Stage(clean),
        "detect": Stage(partial(detect, languages=config.languages)),
        "segment": Stage(
            partial(segment, models=models, max_input_tokens=tc.max_input_tokens, max_tokens=max_tokens)
        ),
        "translate": Stage(
            partial(translate, models=models, config=tc, progress=progress, cache=cache),
            partial(models.check_translators, config.languages),
        ),
        "summarize": Stage(
            partial(summarize, models=models, config=sc, max_tokens=max_tokens),
            partial(check_summarization, models, sc),
        ),
    }


_BOUND = ("config", "device", "models", "translation_cache", "progress", "stages")


class Pipeline:
    """The stages in order over batches of records, and runs over folders that resume. ``stages``
    replaces stage functions by name (tests pass fakes; the others stay as configured)."""

    def __init__(
        self,
        config: Config,
        stages: Mapping[StageName, StageFn] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.models = Models(config, self.device)
        # Lives as long as the pipeline: a sentence seen in any earlier batch is not translated again.
        self.translation_cache = TranslationCache[Output](config.translation.cache_size)
        self.progress = progress or Progress()
        self.stages = default_stages(config, self.models, self.translation_cache, self.progress)
        self.stages.update({name: Stage(fn) for name, fn in (stages or {}).items()})
        self._local = threading.local()  # the stage each thread is in, to blame a crash on it

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _BOUND and name in self.__dict__:  # the stages hold these: a new one reaches none
            raise AttributeError(f"Pipeline.{name} is bound by its stages and cannot be replaced")
        super().__setattr__(name, value)

    def check(self, until: StageName = "summarize") -> None:
        """Check the settings of every stage up to ``until`` (raises ConfigError)."""
        for name in _stage_range("clean", until):
            self.stages[name].check()

    # -- processing --------------------------------------------------------------------------

    @property
    def _stage(self) -> str:
        return getattr(self._local, "stage", "clean")

    def process(
        self, records: list[Record], until: StageName = "summarize", start: StageName = "clean"
    ) -> list[Record]:
        """Run the stages from ``start`` up to and including ``until`` over a batch. Per-document
        timings are each stage's time shared among the documents it processed."""
        names = _stage_range(start, until)
        if "translate" in names or "summarize" in names:
            seed_everything(self.config.seed)  # not from the prefetch thread: the generator is global
        for name in names:
            self._local.stage = name
            active = [r for r in records if r.ok]
            if not active:
                break
            began = time.perf_counter()
            self.stages[name].run(records)
            share = (time.perf_counter() - began) / len(active)
            for record in active:
                record.timings[name] = share
        return records

    def process_isolated(
        self, records: list[Record], until: StageName = "summarize", start: StageName = "clean"
    ) -> list[Record]:
        """Like ``process``, but an unexpected crash is pinned on the one document that causes it;
        configuration and model errors (ClsumError) concern every document and propagate."""
        _stage_range(start, until)
        pristine = [record.snapshot() for record in records] if len(records) > 1 else records
        try:
            return self.process(records, until, start)
        except ClsumError:
            raise
        except Exception as exc:
            if len(records) == 1:  # its own record: what the stages left of it is dropped with the error
                log.debug("%s failed in %s", records[0].id, self._stage, exc_info=True)
                return [records[0].fail(self._stage, f"{type(exc).__name__}: {exc}")]
            log.warning("a batch failed in %s (%s); retrying its documents one by one", self._stage, exc)
            return [r for rec in pristine for r in self.process_isolated([rec], until, start)]

    def summarize_texts(
        self, texts: list[str], lang: str | None = None, until: StageName = "summarize"
    ) -> list[Record]:
        """Summarize plain strings (or stop after stage ``until``); records come back in order.
        Each text is read like a file's contents: mojibake repaired, control characters dropped."""
        max_bytes = self.config.input.max_bytes
        records = [text_record(str(i), t, lang, max_bytes) for i, t in enumerate(texts)]
        if any(r.ok for r in records):
            self.check(until)
        return self.process_isolated(records, until=until)

    # -- runs over files ----------------------------------------------------------------------

    def run(
        self,
        source: str | Path | Source,
        output: str | Path,
        *,
        lang: str | None = None,
        force: bool = False,
        progress: bool = False,
    ) -> RunResult:
        """Summarize every document under ``source`` (a path, or an opened ``Source``) into
        ``output``, resuming earlier runs: a ``RunSession`` whose batches this process executes."""
        return RunSession(self.config, source, output, LocalEngine(self), lang).run(force, progress)


@dataclass
class EngineReport:
    """What the manifest says about an engine, as far as the run got."""

    devices: set[str] = field(default_factory=set)
    models: dict[str, ModelSummary] = field(default_factory=dict)  # per role (``Models.generation``)
    cache: Counter[str] = field(default_factory=lambda: Counter(hits=0, misses=0))  # translation cache
    engine: dict[str, object] | None = None  # a cluster engine's name, address, nodes and pools

    def merge(self, other: EngineReport) -> None:
        self.devices |= other.devices
        self.models.update(other.models)
        self.cache.update(other.cache)  # summed: on Ray each translate actor has its own cache


class Engine(ABC):
    """How a run's batches are executed (in this process, or on a cluster). ``RunSession`` does
    everything else: lock, keys, resume, manifest, counts, and what happens after an error."""

    progress: Progress  # the bars the session starts and closes, and the engine's stages advance
    report: EngineReport

    @abstractmethod
    def check(self) -> None:
        """Check the settings against the models before the first document (raises ConfigError)."""

    @abstractmethod
    def execute(self, session: RunSession, done: set[str]) -> None:
        """Run the documents whose ids are not in ``done`` (in input order) into ``session.store``,
        calling ``session.written`` with each batch once it is durable."""


class LocalEngine(Engine):
    """Batches in this process; with ``prefetch``, the next one prepared on a background thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline, self.progress = pipeline, pipeline.progress
        cache = pipeline.translation_cache
        self._cache_start = (cache.hits, cache.misses)

    def check(self) -> None:
        self.pipeline.check()

    def execute(self, session: RunSession, done: set[str]) -> None:
        pipeline = self.pipeline
        todo = batches(session.documents.records(skip=done), pipeline.config.doc_batch_size)

        def prepare_next() -> list[Record] | None:
            """The next batch read, keyed and prepared; with ``prefetch`` on the one thread that
            advances ``todo`` (``ahead``)."""
            if (batch := next(todo, None)) is None:
                return None
            return pipeline.process_isolated(session.keyed(batch), PREPARE_STAGES[-1])

        for batch in ahead(prepare_next) if pipeline.config.prefetch else iter(prepare_next, None):
            written = written_order(pipeline.process_isolated(batch, start=STAGES[len(PREPARE_STAGES)]))
            session.store.append(written)
            session.written(written)

    @property
    def report(self) -> EngineReport:  # type: ignore[override]  # as far as the run got
        cache, (hits, misses) = self.pipeline.translation_cache, self._cache_start
        used = Counter(hits=cache.hits - hits, misses=cache.misses - misses)
        return EngineReport({self.pipeline.device}, self.pipeline.models.generation(), used)


class RunSession:
    """One run of any engine over ``source`` into ``output``: the run protocol in one place.

    Lock, keys (without decoding: each document is decoded once, by the engine), resume, a "running"
    manifest, the engine's batches counted as written, and the ending, also after an error or a
    signal (docs/outputs.md).
    """

    def __init__(
        self,
        config: Config,
        source: str | Path | Source,
        output: str | Path,
        engine: Engine,
        lang: str | None,
    ) -> None:
        self.config, self.output, self.engine = config, Path(output), engine
        self.documents = (
            source
            if isinstance(source, Source)
            else open_source(source, lang=lang, max_bytes=config.input.max_bytes)
        )
        self.store = OutputStore(self.output)
        self.result = RunResult(self.output, total=len(self.documents))
        self.identity = run_identity(config)
        self.started = ""
        self._previous: dict[str, str] | None = None

    def run(self, force: bool = False, progress: bool = False) -> RunResult:
        with self.store.locked():  # before any document is read
            return self._run(force, progress)

    def keyed(self, batch: list[Record]) -> list[Record]:
        for record in batch:
            record.key = record_key(self.identity, record)
        return batch

    def written(self, records: list[Record]) -> None:
        """Count (and log the failures of) a batch the engine has made durable."""
        self.result.add(records)
        self.engine.progress.documents_done(len(records))

    def _run(self, force: bool, progress: bool) -> RunResult:
        self._previous = self._previous_run()
        keys = {r.id: record_key(self.identity, r) for r in self.documents.records(decoded=False)}
        done = self.store.prepare(keys, force=force)
        todo = len(keys) - len(done)
        result = self.result
        result.skipped = len(done)
        if done:
            log.info("%d of %d documents already summarized with this config; skipping them",
                     len(done), result.total)  # fmt: skip
        if todo:
            self.engine.check()
        self.started = _now()
        self.store.write_manifest(self._manifest(status="running"))
        try:
            if todo:
                self.engine.progress.start(progress, todo)
                self.engine.execute(self, done)
        except BaseException as exc:
            self._finish(run_ending(exc), after_error=True)
            if isinstance(exc, OutputError):
                far = f"{result.summarized + result.failed} of {result.total - result.skipped} documents"
                raise WriteError(
                    f"{exc}; the run stopped after {far} (their results are intact); fix the cause and "
                    "rerun the same command to resume"
                ) from exc
            raise
        try:
            self._finish({"status": "complete"})
        except OutputError as exc:
            raise WriteError(f"{exc}; every document's result is written; rerun to write it again") from exc
        return result

    def _previous_run(self) -> dict[str, str] | None:
        """How the last run into this folder ended. One still "running" here, where this run holds
        the lock, was killed (``kill -9``, a second signal) before it could write its ending."""
        previous = read_manifest(self.output) or {}
        if "status" not in previous:
            return None
        ended: dict[str, str] = {
            k: str(previous[k]) for k in ("status", "started_at", "finished_at") if k in previous
        }
        if ended["status"] == "running":
            ended["status"] = "interrupted"
            log.warning(
                "the last run into %s (started %s) was interrupted before it finished; resuming it",
                self.output,
                ended.get("started_at", "at an unknown time"),
            )
        return ended

    def _finish(self, ending: dict[str, str], after_error: bool = False) -> None:
        """Write the final manifest and summaries.md. After an error they are best effort: the
        error that stopped the run is the one to report (on a full disk these may fail too)."""
        self.engine.progress.close()
        result = self.result
        try:
            if merged := self.store.merge_blocks():  # the blocks of a cluster's batches
                log.info("merged %d block files into %s", merged, self.output)
            if after_error:  # the last batch may be on disk but not yet counted: count the files
                result.summarized, result.failures = self.store.appended()
                result.failed = sum(result.failures.values())
            in_output = self.store.compact()
            manifest = self._manifest(finished_at=_now(), **ending)
            manifest["counts"]["in_output"] = in_output
            self.store.write_manifest(manifest)
            self.store.write_markdown()
        except OutputError as exc:
            if not after_error:
                raise
            log.debug("after the run stopped: %s", exc)

    def _manifest(self, **status: str) -> dict[str, Any]:
        """What ``manifest.json`` says about the run, whichever engine ran it."""
        config, result, report = self.config, self.result, self.engine.report
        models = report.models.values()
        # backend + compute_type per model spec
        backends = {m["model"]: {"backend": m["backend"], "compute_type": m["compute_type"]} for m in models}
        device = ", ".join(sorted(report.devices))
        return {
            "started_at": self.started,
            **status,
            "input": str(Path(self.documents.root).resolve()),
            "output": str(self.output.resolve()),
            "config": config.to_dict(),
            "config_hash": config.hash(),
            "seed": config.seed,
            "device": device,
            "models": {m["model"]: m["provenance"] for m in models},
            "backends": backends,
            "runtime": run_facts(backends, config.threads, device),  # CPU ISA, workers, batches
            # per role: model, backend, precision, and each generation setting with its origin
            "generation": report.models,
            "packages": package_versions(),
            "counts": {
                "input": result.total,
                "summarized": result.summarized,
                "skipped": result.skipped,
                "failed": result.failed,
                "failed_by_stage": result.failures,
                "with_warnings": result.warned,
                "warnings": result.warnings,  # "stage kind" -> documents flagged (Record.warnings)
            },
            "model_identity": self.identity,
            "previous_run": self._previous,
            **({"engine": report.engine} if report.engine else {}),
            "translation_cache": {**report.cache, "size": config.translation.cache_size},
        }


def written_order(batch: list[Record]) -> list[Record]:
    """The order a processed batch goes to the output: ingest errors first, then the rest in input
    order (the order a one-pass run writes)."""
    return sorted(batch, key=lambda r: r.error is None or r.error.stage != "ingest")  # stable


def run_ending(exc: BaseException) -> dict[str, str]:
    """The manifest's status for a run stopped by ``exc``."""
    if isinstance(exc, Terminated):
        return {"status": "interrupted", "reason": "SIGTERM"}
    if isinstance(exc, KeyboardInterrupt):
        return {"status": "interrupted", "reason": "SIGINT (Ctrl-C)"}
    return {"status": "failed", "error": str(exc) or type(exc).__name__}


def _stage_range(start: StageName, until: StageName) -> tuple[StageName, ...]:
    for name in (start, until):
        if name not in STAGES:
            raise ValueError(unknown("stage", name, STAGES))
    return STAGES[STAGES.index(start) : STAGES.index(until) + 1]


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """``records`` in lists of ``size`` (the last one shorter)."""
    todo = iter(records)
    while batch := list(itertools.islice(todo, size)):
        yield batch


def ahead(make: Callable[[], _T | None]) -> Iterator[_T]:
    """What ``make`` returns until it returns None, each made on a background thread while the
    caller works on the previous one (one ahead at most); the thread's exception is raised here.
    The thread is a daemon, never joined: it may be blocked reading a document, and a signal must
    stop the run at once. Once the caller stops, it ends after the item it is making."""
    requests: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: make one more; False: stop
    results: queue.SimpleQueue[tuple[_T | None, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        while requests.get():
            try:
                item = make()
            except BaseException as exc:  # raised in the caller's thread
                results.put((None, exc))
                return
            results.put((item, None))
            if item is None:
                return

    threading.Thread(target=work, name="clsum-prefetch", daemon=True).start()
    requests.put(True)
    try:
        while True:
            item, exc = results.get()
            if exc is not None:
                raise exc
            if item is None:
                return
            requests.put(True)
            yield item
    finally:
        requests.put(False)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
