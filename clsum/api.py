"""The Python API: build a pipeline from a config and run it over records, texts or a folder.

from clsum import Pipeline, load_config
pipe = Pipeline(load_config("configs/cpu-fast.yaml"))
records = pipe.summarize_texts(["Het kabinet heeft ..."])
result = pipe.run("articles/", "out/")
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clsum.config import Config
from clsum.errors import ClsumError
from clsum.versions import package_versions
from pipeline.clean import clean
from pipeline.detect import detect
from pipeline.ingest import ingest
from pipeline.record import Record
from pipeline.runtime import Models, resolve_device, seed_everything
from pipeline.segment import segment
from pipeline.summarize import summarize
from pipeline.translate import translate
from pipeline.write import OutputStore

log = logging.getLogger(__name__)

STAGES = ("clean", "detect", "segment", "translate", "summarize")


@dataclass
class RunResult:
    output: Path
    total: int = 0  # documents in the input
    summarized: int = 0  # done in this run
    skipped: int = 0  # already done by an earlier run with the same content and config
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # stage -> count

    @property
    def ok(self) -> bool:
        return self.failed == 0


class Progress:
    """Bars for documents and for sentences (unique texts to translate).

    Silent unless enabled; the CLI enables them on a terminal without --quiet.
    """

    def __init__(self, enabled: bool, documents: int) -> None:
        self.enabled = enabled
        self._bars: list[Any] = []
        if enabled:
            from tqdm import tqdm

            self.docs = tqdm(total=documents, desc="documents", unit="doc", position=0)
            self.sents = tqdm(total=0, desc="sentences", unit="sent", position=1)
            self._bars = [self.docs, self.sents]

    def add_sentences(self, n: int) -> None:
        if self.enabled:
            self.sents.total = (self.sents.total or 0) + n
            self.sents.refresh()

    def sentences_done(self, n: int) -> None:
        if self.enabled:
            self.sents.update(n)

    def documents_done(self, n: int) -> None:
        if self.enabled:
            self.docs.update(n)

    def close(self) -> None:
        for bar in self._bars:
            bar.close()


def record_key(config_hash: str, record: Record) -> str:
    """What a stored summary must match to be reused: content, language hint and config."""
    parts = [config_hash, record.id, record.lang_hint or "", record.raw]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


class Pipeline:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.models = Models(config.translation.models, config.summarization.model, self.device)
        self._stage = "clean"

    # -- processing --------------------------------------------------------------------------

    def process(
        self, records: list[Record], progress: Progress | None = None, until: str = "summarize"
    ) -> list[Record]:
        """Run the stages up to and including ``until`` over a batch (evaluation stops early).

        Per-document timings are each stage's time shared among the documents it processed.
        """
        if until not in STAGES:
            raise ValueError(f"unknown stage {until!r} (available: {', '.join(STAGES)})")
        progress = progress or Progress(False, 0)
        seed_everything(self.config.seed)
        tc, sc = self.config.translation, self.config.summarization
        stages: dict[str, Callable[[list[Record]], list[Record]]] = {
            "clean": clean,
            "detect": lambda rs: detect(rs, self.config.languages),
            "segment": lambda rs: segment(rs, self.models, tc.max_input_tokens),
            "translate": lambda rs: translate(rs, self.models, tc, progress),
            "summarize": lambda rs: summarize(rs, self.models, sc),
        }
        for name, stage in stages.items():
            self._stage = name
            active = [r for r in records if r.ok]
            if not active:
                break
            start = time.perf_counter()
            stage(records)
            share = (time.perf_counter() - start) / len(active)
            for record in active:
                record.timings[name] = share
            if name == until:
                break
        return records

    def process_isolated(
        self, records: list[Record], progress: Progress | None = None, until: str = "summarize"
    ) -> list[Record]:
        """Like ``process``, but an unexpected crash is pinned on the one document that causes it.

        Configuration and model errors (ClsumError) concern every document and propagate.
        """
        if until not in STAGES:
            raise ValueError(f"unknown stage {until!r} (available: {', '.join(STAGES)})")
        pristine = copy.deepcopy(records)
        try:
            return self.process(records, progress, until)
        except ClsumError:
            raise
        except Exception as exc:
            if len(records) == 1:
                log.debug("%s failed in %s", records[0].id, self._stage, exc_info=True)
                pristine[0].fail(self._stage, f"{type(exc).__name__}: {exc}")
                return pristine
            log.warning("a batch failed in %s (%s); retrying its documents one by one", self._stage, exc)
            return [r for rec in pristine for r in self.process_isolated([rec], progress, until)]

    def summarize_texts(
        self, texts: list[str], lang: str | None = None, until: str = "summarize"
    ) -> list[Record]:
        """Summarize plain strings (or stop after stage ``until``); records come back in order."""
        records = [Record(id=str(i), raw=t, lang_hint=lang) for i, t in enumerate(texts)]
        for record in records:
            if not record.raw.strip():
                record.fail("ingest", "text is empty")
        return self.process_isolated(records, until=until)

    # -- runs over files ----------------------------------------------------------------------

    def run(
        self,
        source: str | Path,
        output: str | Path,
        *,
        lang: str | None = None,
        force: bool = False,
        progress: bool = False,
    ) -> RunResult:
        """Summarize every document under ``source`` into ``output``, resuming earlier runs."""
        records = ingest(source, lang=lang)
        config_hash = self.config.hash()
        for record in records:
            record.key = record_key(config_hash, record)
        store = OutputStore(Path(output))
        done = store.prepare({r.id: r.key or "" for r in records}, force=force)
        todo = [r for r in records if r.id not in done]
        result = RunResult(Path(output), total=len(records), skipped=len(records) - len(todo))
        if result.skipped:
            log.info(
                "%d of %d documents already summarized with this config; skipping them",
                result.skipped,
                len(records),
            )
        started = _now()
        store.write_manifest(self._manifest(source, output, result, status="running", started_at=started))
        bars = Progress(progress, len(todo))
        ending: dict[str, str] = {"status": "failed"}
        try:
            for batch in _batches(todo, self.config.doc_batch_size):
                self._run_batch(batch, store, result, bars)
            ending = {"status": "complete"}
        except KeyboardInterrupt:
            ending = {"status": "interrupted"}
            raise
        except Exception as exc:
            ending = {"status": "failed", "error": str(exc)}
            raise
        finally:
            bars.close()
            manifest = self._manifest(
                source, output, result, started_at=started, finished_at=_now(), **ending
            )
            manifest["counts"]["in_output"] = store.counts()
            store.write_manifest(manifest)
            store.write_markdown()
        return result

    def _run_batch(self, batch: list[Record], store: OutputStore, result: RunResult, bars: Progress) -> None:
        failed_early = [r for r in batch if not r.ok]  # ingest errors: nothing to process
        processed = self.process_isolated([r for r in batch if r.ok], bars)
        store.append(failed_early + processed)
        for record in failed_early + processed:
            if record.ok:
                result.summarized += 1
            else:
                assert record.error is not None
                result.failed += 1
                result.failures[record.error.stage] = result.failures.get(record.error.stage, 0) + 1
                log.warning("%s: %s failed: %s", record.id, record.error.stage, record.error.message)
        bars.documents_done(len(batch))

    def _manifest(
        self, source: str | Path, output: str | Path, result: RunResult, **status: str
    ) -> dict[str, Any]:
        return {
            **status,
            "input": str(Path(source).resolve()),
            "output": str(Path(output).resolve()),
            "config": self.config.to_dict(),
            "config_hash": self.config.hash(),
            "seed": self.config.seed,
            "device": self.device,
            "models": self.models.provenance(),
            "packages": package_versions(),
            "counts": {
                "input": result.total,
                "summarized": result.summarized,
                "skipped": result.skipped,
                "failed": result.failed,
                "failed_by_stage": result.failures,
            },
        }


def _batches(records: list[Record], size: int) -> Iterator[list[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
