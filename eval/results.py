"""The result types of a benchmark run (``eval.harness`` fills them; ``eval.report`` renders them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from clsum.config import Config
from clsum.eval import data
from clsum.eval.benchmark import BenchmarkConfig
from clsum.eval.checks import ChecksSummary
from clsum.eval.scores import Comparison, Score
from clsum.eval.systems import System
from clsum.versions import clsum_commit, package_versions


@dataclass
class Failure:
    id: str
    stage: str
    message: str


@dataclass
class SystemResult:
    system: System  # what ran: its name, type, params and what it noted per document (``info``)
    outputs: list[str]
    references: list[str]  # the dataset's, or the system's own (cross-lingual consistency)
    scores: dict[str, Score]  # metric -> score, on the ``scored`` documents only
    seconds: float
    checks: ChecksSummary | None = None  # over the scored summaries (summary systems only)
    scored: list[int] = field(default_factory=list)  # indices of the documents that succeeded
    failures: list[Failure] = field(default_factory=list)
    contrast: dict[str, Score] = field(default_factory=dict)  # vs. another document's reference
    note: str = ""  # the benchmark's note on this system (e.g. tuned on the test set)
    # Scores on ``Report.common``, the documents every scored system succeeded on; empty when that is all.
    common_scores: dict[str, Score] = field(default_factory=dict)
    empty_outputs: int = 0  # scored documents whose output is empty (they score 0)

    @property
    def reference_kind(self) -> str:
        return "dataset" if self.system.references is None else "system"

    @property
    def main_scores(self) -> dict[str, Score]:
        """What the main table and the bar chart show: common-subset scores where they differ."""
        return self.common_scores or self.scores

    @property
    def total(self) -> int:
        return len(self.outputs)

    def per_document(self, metric: str) -> list[float | None]:
        """Per-document scores of ``metric`` in dataset order; None for documents that failed."""
        score = self.scores.get(metric)
        by_index = dict(zip(self.scored, (score.per_segment or []) if score else [], strict=False))
        return [by_index.get(i) for i in range(self.total)]


@dataclass
class Report:
    benchmark: BenchmarkConfig
    dataset: data.Dataset
    config: Config
    systems: dict[str, SystemResult] = field(default_factory=dict)
    seconds: float = 0.0
    started_at: str = ""
    limit: int | None = None  # --limit
    requested: list[str] | None = None  # --systems (None: all)
    models: dict[str, str] = field(default_factory=dict)  # role -> provenance, over every system
    generation: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> effective settings
    common: list[int] = field(default_factory=list)  # documents every system with scores succeeded on
    baseline: str | None = None  # the system the paired comparisons are against (the first scored one)
    # system -> metric -> the paired test of (system - baseline) on the common documents
    comparisons: dict[str, dict[str, Comparison]] = field(default_factory=dict)
    comparison_note: str = ""  # why there are no comparisons, when there are none
    versions: dict[str, str] = field(default_factory=package_versions)
    git: str | None = field(default_factory=clsum_commit)
