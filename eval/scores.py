"""The result types of scoring: a signed ``Score`` and a paired ``Comparison`` (data only, no scoring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Score:
    metric: str
    score: float | None  # 0-100; None only when skipped
    signature: str
    ci: tuple[float, float] | None
    per_segment: list[float] | None  # 0-100
    skipped: str | None = None  # reason
    # ROUGE: "precision", "recall" (0-100 means) and "per_segment_precision"/"per_segment_recall";
    # sacrebleu metrics: "sacrebleu_signature" (verbatim).
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": self.score,
            "signature": self.signature,
            "ci": list(self.ci) if self.ci is not None else None,
        }
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out


@dataclass
class Comparison:
    metric: str
    score_a: float
    score_b: float
    delta: float  # B - A
    p_value: float
    ci: tuple[float, float] | None  # of the delta, from the procedure that gave p; None if it has none
    method: str  # as requested (auto, permutation, ...)
    signature: str
    test: str = ""  # the test that ran (eval.bootstrap.PairedResult.test)
    differing: int = 0  # segments whose statistics for this metric differ
    n: int = 0  # segments compared
    trials: int = 0  # resamples, random swaps or enumerated swaps
    caveat: str | None = None  # why this decision is outside the calibrated range, if it is

    def to_dict(self) -> dict[str, Any]:
        return {
            "score_a": self.score_a,
            "score_b": self.score_b,
            "delta": self.delta,
            "p_value": self.p_value,
            "ci": list(self.ci) if self.ci is not None else None,
            "method": self.method,
            "test": self.test,
            "differing": self.differing,
            "n": self.n,
            "trials": self.trials,
            "caveat": self.caveat,
            "signature": self.signature,
        }
