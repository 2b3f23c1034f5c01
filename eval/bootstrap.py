"""Seeded resampling over segments: bootstrap confidence intervals and paired significance tests.

Every metric is expressed the same way: per-segment statistics ``stats`` (segments x k) and a
``compute`` function from their column sums to the corpus score. sacrebleu metrics use their sufficient
statistics; ROUGE (a mean of per-segment scores) uses one column and a mean. A resample is then a
matrix of per-segment counts, so resampled sums are one matrix product.

The tests follow sacrebleu's ``significance`` module (Koehn 2004 paired bootstrap with centred deltas;
approximate randomization swapping each segment's outputs with probability 1/2) and its p-value
``(hits + 1) / (trials + 1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Compute = Callable[[np.ndarray], float]
ALPHA = 0.05  # 95% intervals


@dataclass(frozen=True)
class PairedResult:
    delta: float  # score(B) - score(A) on the full data
    p_value: float
    ci: tuple[float, float]  # bootstrap interval of the delta


def mean_of(n: int) -> Compute:
    """``compute`` for a metric that is the mean of one per-segment value (ROUGE, BERTScore)."""

    def compute(sums: np.ndarray) -> float:
        return float(sums[0] / n)

    return compute


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n): how often each segment is drawn in each resample (same draws as rng.choice)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=(resamples, n), replace=True)
    counts = np.zeros((resamples, n), dtype=np.float64)
    np.add.at(counts, (np.arange(resamples)[:, None], idx), 1.0)
    return counts


def _scores(sums: np.ndarray, compute: Compute) -> np.ndarray:
    return np.array([compute(row) for row in sums])


def _interval(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(low), float(high)


def confidence_interval(
    stats: np.ndarray, compute: Compute, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the corpus score."""
    counts = resample_counts(len(stats), resamples, seed)
    return _interval(_scores(counts @ stats, compute))


def paired_bootstrap(
    stats_a: np.ndarray, stats_b: np.ndarray, compute: Compute, resamples: int, seed: int
) -> PairedResult:
    """Paired bootstrap: both systems on the same resampled segments (sacrebleu's ``_paired_bs_test``)."""
    delta = compute(stats_b.sum(0)) - compute(stats_a.sum(0))
    counts = resample_counts(len(stats_a), resamples, seed)
    deltas = _scores(counts @ stats_b, compute) - _scores(counts @ stats_a, compute)
    centred = np.abs(deltas) - np.abs(deltas).mean()  # null hypothesis: no difference
    p = (np.sum(centred >= abs(delta)) + 1) / (resamples + 1)
    return PairedResult(delta, float(p), _interval(deltas))


def approximate_randomization(
    stats_a: np.ndarray, stats_b: np.ndarray, compute: Compute, trials: int, seed: int
) -> PairedResult:
    """Approximate randomization; the delta's interval still comes from a paired bootstrap."""
    delta = compute(stats_b.sum(0)) - compute(stats_a.sum(0))
    rng = np.random.default_rng(seed)
    swap = rng.integers(2, size=(trials, len(stats_a))).astype(np.float64)
    shuffled_a = (1 - swap) @ stats_a + swap @ stats_b
    shuffled_b = swap @ stats_a + (1 - swap) @ stats_b
    trial_deltas = np.abs(_scores(shuffled_b, compute) - _scores(shuffled_a, compute))
    p = (np.sum(trial_deltas >= abs(delta)) + 1) / (trials + 1)
    return PairedResult(delta, float(p), paired_bootstrap(stats_a, stats_b, compute, trials, seed).ci)
