"""The result types of scoring, a signed ``Score`` and a paired ``Comparison`` (data only, no scoring),
and ``jsonable``, the one JSON form of every other eval result type."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any


@dataclass
class Score:
    metric: str
    score: float | None  # 0-100; None only when skipped
    signature: str
    ci: tuple[float, float] | None
    per_segment: list[float] | None  # 0-100
    skipped: str | None = None  # reason
    details: dict[str, float] = field(default_factory=dict)  # ROUGE: "precision", "recall" (0-100 means)

    @classmethod
    def skip(cls, metric: str, reason: str) -> Score:
        return cls(metric, None, f"{metric}|skipped", None, None, skipped=reason)


@dataclass
class Comparison:
    metric: str
    score_a: float
    score_b: float
    delta: float  # B - A
    p_value: float
    ci: tuple[float, float] | None  # of the delta, from the procedure that gave p; None if it has none
    method: str  # as requested (auto, permutation, ...)
    test: str  # the test that ran (eval.bootstrap.PairedResult.test)
    differing: int  # segments whose statistics for this metric differ
    n: int  # segments compared
    trials: int  # resamples, random swaps or enumerated swaps
    caveat: str | None  # why this decision is outside the calibrated range, if it is
    signature: str


def jsonable(value: object) -> Any:
    """``json.dumps``' ``default``, the JSON form of every eval result type: a score as its value,
    signature, CI and why it was skipped; a comparison without its metric (the key it is under);
    another dataclass as its fields with those that are None left out (an optional fact not noted,
    e.g. a document's error); anything else (a path) as text."""
    if isinstance(value, Score):
        out = {"score": value.score, "signature": value.signature, "ci": value.ci}
        return out if value.skipped is None else {**out, "skipped": value.skipped}
    if isinstance(value, Comparison):
        return {k: v for k, v in asdict(value).items() if k != "metric"}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in asdict(value).items() if v is not None}
    return str(value)
