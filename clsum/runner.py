"""The runner: build a pipeline from a config and run its stages over records, texts or a folder.

It is what ``from clsum import Pipeline`` gives; see the package docstring for an example.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Literal, get_args

from clsum.config import Config, unknown
from clsum.errors import ClsumError, OutputError, Terminated, WriteError
from clsum.pipeline.clean import clean
from clsum.pipeline.detect import detect
from clsum.pipeline.ingest import Source, open_source, text_record
from clsum.pipeline.runtime import (
    Models,
    Output,
    backend_options,
    generation_overrides,
    resolve_device,
    run_facts,
    seed_everything,
)
from clsum.pipeline.segment import segment
from clsum.pipeline.summarize import check_summarization, summarize
from clsum.pipeline.tcache import TranslationCache
from clsum.pipeline.translate import translate
from clsum.pipeline.write import OutputStore
from clsum.record import Record
from clsum.versions import package_versions

log = logging.getLogger(__name__)

StageName = Literal["clean", "detect", "segment", "translate", "summarize"]
STAGES: tuple[StageName, ...] = get_args(StageName)
# Stages that run on the background thread while the previous batch is in inference.
PREPARE_STAGES = STAGES[: STAGES.index("segment") + 1]

# A stage function fills its own fields in every record of a batch that has no error yet; a document
# it cannot process gets an error (``Record.fail``), and an exception concerns the whole batch.
StageFn = Callable[[list[Record]], object]


def _nothing_to_check() -> None:
    return None


@dataclass(frozen=True)
class Stage:
    run: StageFn
    # Settings only a model can judge (a prefix that fills the summarizer's input): checked once
    # before any document, so a bad configuration is one error, not a failure per document.
    check: Callable[[], None] = _nothing_to_check


@dataclass
class RunResult:
    output: Path
    total: int = 0  # documents in the input
    summarized: int = 0  # done in this run
    skipped: int = 0  # already done by an earlier run with the same content and config
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # stage -> count
    warned: int = 0  # documents done in this run with degenerate outputs (Record.warnings)
    # "stage kind" (e.g. "translate max_length") -> outputs flagged, over the documents of this run
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def add(self, written: Iterable[Record]) -> None:
        """Count (and log the failures of) records just written."""
        for record in written:
            if record.ok:
                self.summarized += 1
                self.count_warnings(record)
            else:
                assert record.error is not None
                self.failed += 1
                self.failures[record.error.stage] = self.failures.get(record.error.stage, 0) + 1
                log.warning("%s: %s failed: %s", record.id, record.error.stage, record.error.message)

    def count_warnings(self, record: Record) -> None:
        if record.warnings:
            self.warned += 1
        for w in record.warnings:
            key = f"{w.stage} {w.kind}"
            self.warnings[key] = self.warnings.get(key, 0) + w.count


class Progress:
    """Bars for documents and for sentences (unique texts to translate).

    A pipeline has one for its lifetime; ``start`` shows the bars for one run when ``enabled``
    (the CLI enables them on a terminal without --quiet), ``close`` ends them.
    """

    def __init__(self) -> None:
        self._docs: Any = None
        self._sents: Any = None

    def start(self, enabled: bool, documents: int) -> None:
        if enabled:
            from tqdm import tqdm

            self._docs = tqdm(total=documents, desc="documents", unit="doc", position=0)
            self._sents = tqdm(total=0, desc="sentences", unit="sent", position=1)

    def add_sentences(self, n: int) -> None:
        if self._sents is not None:
            self._sents.total = (self._sents.total or 0) + n
            self._sents.refresh()

    def sentences_done(self, n: int) -> None:
        if self._sents is not None:
            self._sents.update(n)

    def documents_done(self, n: int) -> None:
        if self._docs is not None:
            self._docs.update(n)

    def close(self) -> None:
        for bar in (self._docs, self._sents):
            if bar is not None:
                bar.close()
        self._docs = self._sents = None


def record_key(config_hash: str, record: Record) -> str:
    """What a stored summary must match to be reused: content, language hint and config."""
    parts = [config_hash, record.id, record.lang_hint or "", record.raw]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def default_stages(
    config: Config, models: Models, cache: TranslationCache[Output], progress: Progress
) -> dict[StageName, Stage]:
    """The stage list, built once per pipeline: each stage bound to the settings it reads."""
    tc, sc = config.translation, config.summarization
    return {
        "clean": Stage(clean),
        "detect": Stage(partial(detect, languages=config.languages)),
        "segment": Stage(
            partial(
                segment,
                models=models,
                max_input_tokens=tc.max_input_tokens,
                max_tokens=config.input.max_tokens,
            )
        ),
        "translate": Stage(partial(translate, models=models, config=tc, progress=progress, cache=cache)),
        "summarize": Stage(
            partial(summarize, models=models, config=sc, max_tokens=config.input.max_tokens),
            partial(check_summarization, models, sc),
        ),
    }


_BOUND = ("config", "device", "models", "translation_cache", "progress", "stages")


class Pipeline:
    """The stages in order over batches of records, and runs over folders that resume.

    ``stages`` replaces stage functions by name (tests pass fakes; the others stay as configured).
    """

    def __init__(
        self,
        config: Config,
        stages: Mapping[StageName, StageFn] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.models = Models(
            config.translation.models,
            config.summarization.model,
            self.device,
            backend_options(config),
            generation_overrides(config),
        )
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
        """Run the stages from ``start`` up to and including ``until`` over a batch.

        Evaluation stops early; ``run`` prepares batches (clean to segment) on a background thread
        and continues them from translate. Per-document timings are each stage's time shared among
        the documents it processed.
        """
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
        """Like ``process``, but an unexpected crash is pinned on the one document that causes it.

        Configuration and model errors (ClsumError) concern every document and propagate.
        """
        _stage_range(start, until)
        pristine = copy.deepcopy(records)
        try:
            return self.process(records, until, start)
        except ClsumError:
            raise
        except Exception as exc:
            if len(records) == 1:
                log.debug("%s failed in %s", records[0].id, self._stage, exc_info=True)
                pristine[0].fail(self._stage, f"{type(exc).__name__}: {exc}")
                return pristine
            log.warning("a batch failed in %s (%s); retrying its documents one by one", self._stage, exc)
            return [r for rec in pristine for r in self.process_isolated([rec], until, start)]

    def summarize_texts(
        self, texts: list[str], lang: str | None = None, until: StageName = "summarize"
    ) -> list[Record]:
        """Summarize plain strings (or stop after stage ``until``); records come back in order.

        Each text is read like a file's contents: mojibake repaired, control characters dropped.
        """
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
        """Summarize every document under ``source`` into ``output``, resuming earlier runs.

        ``source`` is a path, or a ``Source`` already opened with its ``lang`` and ``max_bytes``
        (``open_source``).
        The run holds ``output``'s lock: another run into it raises ``OutputError`` at once.

        Memory stays flat however many documents there are: the input is enumerated first (names
        only), then read once to compute each document's key (text dropped right away) so finished
        documents can be skipped, then read again batch by batch for processing. The next batch is
        read, cleaned, detected and segmented on a background thread while this one is in inference
        (``prefetch``).
        """
        if isinstance(source, Source):
            documents = source
        else:
            documents = open_source(source, lang=lang, max_bytes=self.config.input.max_bytes)
        store = OutputStore(Path(output))
        with store.locked():  # before any document is read: a second run into ``output`` fails at once
            return self._run(documents, store, output, force, progress)

    def _run(
        self, documents: Source, store: OutputStore, output: str | Path, force: bool, progress: bool
    ) -> RunResult:
        source = documents.root
        config_hash = self.config.hash()
        keys = {r.id: record_key(config_hash, r) for r in documents.records()}
        done = store.prepare(keys, force=force)
        del keys
        result = RunResult(Path(output), total=len(documents), skipped=len(done))
        if result.skipped:
            log.info(
                "%d of %d documents already summarized with this config; skipping them",
                result.skipped,
                result.total,
            )
        if result.total > result.skipped:
            self.check()
        started = _now()
        cache_start = (self.translation_cache.hits, self.translation_cache.misses)
        store.write_manifest(self._manifest(source, output, result, status="running", started_at=started))
        self.progress.start(progress, result.total - result.skipped)
        finish = partial(self._finish, store, source, output, result, started, cache_start)
        try:
            todo = documents.records(skip=done)
            for batch in self._prepared(_batches(todo, self.config.doc_batch_size), config_hash):
                self._run_batch(batch, store, result)
        except BaseException as exc:
            finish(run_ending(exc), after_error=True)
            if isinstance(exc, OutputError):
                raise WriteError(f"{exc}; {run_stopped(result)}") from exc
            raise
        try:
            finish({"status": "complete"})
        except OutputError as exc:
            raise WriteError(f"{exc}; every document's result is written; rerun to write it again") from exc
        return result

    def _finish(
        self,
        store: OutputStore,
        source: str | Path,
        output: str | Path,
        result: RunResult,
        started: str,
        cache_start: tuple[int, int],
        ending: dict[str, str],
        after_error: bool = False,
    ) -> None:
        """Write the final manifest and summaries.md. After an error they are best effort: the
        error that stopped the run is the one to report (on a full disk these may fail too)."""
        self.progress.close()
        try:
            if after_error:  # the last batch may be on disk but not yet counted: count the files
                result.summarized, result.failures = store.appended()
                result.failed = sum(result.failures.values())
            manifest = self._manifest(
                source, output, result, started_at=started, finished_at=_now(), **ending
            )
            manifest["counts"]["in_output"] = store.counts()
            manifest["translation_cache"] = self._cache_stats(cache_start)
            store.write_manifest(manifest)
            store.write_markdown()
        except OutputError as exc:
            if not after_error:
                raise
            log.debug("after the run stopped: %s", exc)

    def _prepared(self, batches: Iterator[list[Record]], config_hash: str) -> Iterator[list[Record]]:
        """Batches read, keyed, cleaned, detected and segmented; with ``prefetch`` the next batch is
        prepared on one background thread while the caller runs inference on the current one.

        Exceptions from the thread are raised here, in the caller's thread, by ``Future.result``.
        """
        if not self.config.prefetch:
            yield from (self._prepare(batch, config_hash) for batch in batches)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clsum-prefetch") as pool:
            # The thread alone advances ``batches`` (file reading happens there too).
            future = pool.submit(self._prepare_next, batches, config_hash)
            while (batch := future.result()) is not None:
                future = pool.submit(self._prepare_next, batches, config_hash)
                yield batch

    def _prepare_next(self, batches: Iterator[list[Record]], config_hash: str) -> list[Record] | None:
        batch = next(batches, None)
        return None if batch is None else self._prepare(batch, config_hash)

    def _prepare(self, batch: list[Record], config_hash: str) -> list[Record]:
        for record in batch:
            record.key = record_key(config_hash, record)
        return _in_place(batch, lambda ok: self.process_isolated(ok, until=PREPARE_STAGES[-1]))

    def _run_batch(self, batch: list[Record], store: OutputStore, result: RunResult) -> None:
        first = STAGES[len(PREPARE_STAGES)]
        processed = _in_place(batch, lambda ok: self.process_isolated(ok, start=first))
        ordered = written_order(processed)
        store.append(ordered)
        result.add(ordered)
        self.progress.documents_done(len(batch))

    def _cache_stats(self, start: tuple[int, int]) -> dict[str, int]:
        cache = self.translation_cache
        stats = {"hits": cache.hits - start[0], "misses": cache.misses - start[1], "size": cache.size}
        log.info(
            "translation cache: %d hits, %d misses (sentences per batch already deduplicated)",
            stats["hits"],
            stats["misses"],
        )
        return stats

    def _manifest(
        self, source: str | Path, output: str | Path, result: RunResult, **status: str
    ) -> dict[str, Any]:
        models = self.models
        return run_manifest(
            self.config, source, output, result, self.device,
            RunModels(models.provenance(), models.backends(), models.generation()), **status,
        )  # fmt: skip


@dataclass
class RunModels:
    """What a run's manifest says about its models: provenance, backend and precision, generation
    settings (each keyed as ``Models`` keys them)."""

    provenance: dict[str, str] = field(default_factory=dict)
    backends: dict[str, dict[str, str]] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=dict)

    def update(self, other: RunModels) -> None:
        self.provenance.update(other.provenance)
        self.backends.update(other.backends)
        self.generation.update(other.generation)


def run_manifest(
    config: Config,
    source: str | Path,
    output: str | Path,
    result: RunResult,
    device: str,
    models: RunModels,
    **status: str,
) -> dict[str, Any]:
    """What ``manifest.json`` says about a run, whichever engine ran it."""
    return {
        **status,
        "input": str(Path(source).resolve()),
        "output": str(Path(output).resolve()),
        "config": config.to_dict(),
        "config_hash": config.hash(),
        "seed": config.seed,
        "device": device,
        "models": models.provenance,
        "backends": models.backends,  # backend + compute_type per model spec
        "runtime": run_facts(models.backends, config.threads, device),  # CPU ISA, workers, batches
        # per role: model, backend, precision, and each generation setting with its origin
        "generation": models.generation,
        "packages": package_versions(),
        "counts": {
            "input": result.total,
            "summarized": result.summarized,
            "skipped": result.skipped,
            "failed": result.failed,
            "failed_by_stage": result.failures,
            "with_warnings": result.warned,
            "warnings": result.warnings,  # "stage kind" -> outputs flagged (Record.warnings)
        },
    }


def written_order(batch: list[Record]) -> list[Record]:
    """The order a processed batch goes to the output: ingest errors first, then the rest in input
    order (the order a one-pass run writes)."""
    return [r for r in batch if _failed_in(r, "ingest")] + [r for r in batch if not _failed_in(r, "ingest")]


def _in_place(batch: list[Record], process: Callable[[list[Record]], list[Record]]) -> list[Record]:
    """``process`` the records without an error; each result goes back in its record's place."""
    ok = [r.ok for r in batch]
    results = iter(process([r for r in batch if r.ok]))
    return [next(results) if was_ok else record for record, was_ok in zip(batch, ok, strict=True)]


def run_ending(exc: BaseException) -> dict[str, str]:
    """The manifest's status for a run stopped by ``exc``."""
    if isinstance(exc, Terminated):
        return {"status": "interrupted", "reason": "SIGTERM"}
    if isinstance(exc, KeyboardInterrupt):
        return {"status": "interrupted", "reason": "SIGINT (Ctrl-C)"}
    return {"status": "failed", "error": str(exc) or type(exc).__name__}


def run_stopped(result: RunResult) -> str:
    done = result.summarized + result.failed
    return (
        f"the run stopped after {done} of {result.total - result.skipped} documents (their results are "
        "intact); fix the cause and rerun the same command to resume"
    )


def _failed_in(record: Record, stage: str) -> bool:
    return record.error is not None and record.error.stage == stage


def _stage_range(start: StageName, until: StageName) -> tuple[StageName, ...]:
    for name in (start, until):
        if name not in STAGES:
            raise ValueError(unknown("stage", name, STAGES))
    return STAGES[STAGES.index(start) : STAGES.index(until) + 1]


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
