"""What a benchmarked system is given (``Job``, its ``Doc``s) and what its child returns."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from clsum.bench.baselines import Decoding
from clsum.errors import ClsumError
from clsum.pipeline.write import SUMMARIES, read_rows


@dataclass
class Doc:
    id: str
    lang: str
    raw: str  # what clsum is given
    title: str | None  # translated separately by clsum (title_en), so by the baselines too
    sentences: list[list[str]]  # per paragraph, as clsum's segment stage leaves them
    unit_tokens: list[int] = field(default_factory=list)  # translator input tokens per unit

    @property
    def units(self) -> list[str]:
        """What a translator gets: the title (if any), then every sentence in order."""
        return ([self.title] if self.title else []) + [s for p in self.sentences for s in p]


@dataclass
class Job:
    system: str
    docs: list[Doc]
    decoding: Decoding  # what the baselines run
    threads: int
    ct2_dirs: dict[str, str] = field(default_factory=dict)  # model directory -> converted directory
    clsum_config: str | None = None
    clsum_overrides: list[str] = field(default_factory=list)
    profile_dir: str | None = None

    def warm_up_doc(self) -> Doc:
        """The shortest document: warms every model up (first calls allocate, pick kernels) cheaply."""
        return min(self.docs, key=lambda d: sum(len(u) for u in d.units))


@dataclass
class Output:
    id: str
    translation: str
    summary: str


@dataclass
class DocResult(Output):
    out_tokens: list[int] = field(default_factory=list)  # decoder steps per translated unit (baselines)
    summary_input_tokens: int = 0  # summarizer input tokens (baselines only)
    summary_tokens: int = 0


@dataclass
class SystemResult:
    """One system's run over every document, as its child measured it."""

    system: str
    seconds: float  # the timed run
    setup_seconds: float  # loading + the warm-up document
    load_seconds: float | None  # loading alone (baselines only)
    stage_seconds: dict[str, float]
    docs: list[DocResult]
    backend: list[str] | None = None  # what clsum's rows say ran each model (clsum systems)
    peak_rss_bytes: int = 0
    memory_measure: str = "the child's VmHWM (largest resident set, model loading included)"
    torch_threads: int | None = None

    def outputs(self) -> list[Output]:
        return [Output(d.id, d.translation, d.summary) for d in self.docs]

    @classmethod
    def from_output(cls, job: Job, seconds: float, setup_s: float, out: Path) -> SystemResult:
        """A clsum run's result from the ``summaries.jsonl`` it wrote into ``out`` (stage seconds: theirs)."""
        rows = {r["id"]: r for r in read_rows(out / SUMMARIES)}
        missing = [d.id for d in job.docs if d.id not in rows]
        if missing:
            raise ClsumError(f"bench: clsum did not summarize {len(missing)} document(s), e.g. {missing[0]}")
        stages: Counter[str] = Counter()
        for row in rows.values():
            stages.update(row["timings"])
        docs = [DocResult(d.id, rows[d.id]["translation"], rows[d.id]["summary"] or "") for d in job.docs]
        backend = sorted({m for r in rows.values() for m in r["models"].values()})
        return cls(job.system, seconds, setup_s, None, dict(stages), docs, backend)


def write_input(docs: list[Doc], path: Path) -> Path:
    """clsum's input: each document's raw text, with its language as a hint (no detection)."""
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "text": d.raw, "lang": d.lang}, ensure_ascii=False) + "\n")
    return path
