"""Seeded resampling over segments: bootstrap confidence intervals and paired significance tests.

A metric is per-segment statistics ``stats`` (segments x k) and a ``compute`` from rows of their
column sums to corpus scores, so resampling is one matrix product. Which test ``auto`` picks, and
why: docs/evaluation.md (Comparing systems, Calibration study).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from clsum.eval.options import BOOTSTRAP_MIN_DIFFERING, EXACT_MAX_DIFFERING
from clsum.eval.scores import Score

Compute = Callable[[np.ndarray], np.ndarray]  # rows of summed statistics -> each row's corpus score
ALPHA = 0.05  # 95% intervals
_TOLERANCE = 1e-9  # sums in another order differ in the last bits; an equal |delta| is a hit


@dataclass
class Stats:
    """A score with what resampling needs: per-segment statistics and the corpus function of their sums."""

    score: Score
    stats: np.ndarray
    compute: Compute


@dataclass(frozen=True)
class PairedResult:
    delta: float  # score(B) - score(A) on the full data
    p_value: float
    ci: tuple[float, float] | None  # 95% interval of the delta from the same procedure, or None
    differing: int  # segments whose statistics differ between A and B
    test: str  # the test that ran: "paired-bootstrap", "permutation-exact" or "permutation-mc"
    trials: int  # resamples, random swaps, or 2^k enumerated swaps


def mean_of(n: int) -> Compute:
    """``compute`` for a metric that is the mean of one per-segment value (ROUGE, BERTScore)."""
    return lambda sums: sums[:, 0] / n


def differing(stats_a: np.ndarray, stats_b: np.ndarray) -> np.ndarray:
    """Boolean mask of the segments whose statistics differ."""
    return np.any(stats_a != stats_b, axis=1)


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n): how often each segment is drawn in each resample (same draws as rng.choice)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=(resamples, n), replace=True)
    offsets = (np.arange(resamples) * n)[:, None]
    return np.bincount((idx + offsets).ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)


def _interval(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(low), float(high)


def confidence_interval(
    stats: np.ndarray, compute: Compute, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the corpus score."""
    counts = resample_counts(len(stats), resamples, seed)
    return _interval(compute(counts @ stats))


def _delta(stats_a: np.ndarray, stats_b: np.ndarray, compute: Compute) -> float:
    score_a, score_b = compute(np.stack([stats_a.sum(0), stats_b.sum(0)]))
    return float(score_b - score_a)


def paired_bootstrap(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    compute: Compute,
    resamples: int,
    seed: int,
    folded: bool = False,
) -> PairedResult:
    """Paired percentile bootstrap (both systems on the same resampled segments): p = 2 x the resampled
    deltas' tail beyond 0 (the smaller tail), with their interval. ``folded``: sacrebleu's
    ``_paired_bs_test``, deltas folded before comparing them with |delta| (anti-conservative; no
    interval, the bootstrap's would contradict its p)."""
    counts = resample_counts(len(stats_a), resamples, seed)
    deltas = compute(counts @ stats_b) - compute(counts @ stats_a)
    delta, k = _delta(stats_a, stats_b, compute), int(differing(stats_a, stats_b).sum())
    if folded:
        centred = np.abs(deltas) - np.abs(deltas).mean()
        p = (np.sum(centred >= abs(delta)) + 1) / (resamples + 1)
        return PairedResult(delta, float(p), None, k, "sacrebleu-paired-bootstrap", resamples)
    p = min(1.0, 2 * (min(np.sum(deltas <= 0), np.sum(deltas >= 0)) + 1) / (resamples + 1))
    return PairedResult(delta, float(p), _interval(deltas), k, "paired-bootstrap", resamples)


def permutation(
    stats_a: np.ndarray, stats_b: np.ndarray, compute: Compute, trials: int, seed: int
) -> PairedResult:
    """Paired permutation (sign-flip) test over the differing segments: exact for few, else Monte Carlo."""
    delta = _delta(stats_a, stats_b, compute)
    mask = differing(stats_a, stats_b)
    k = int(mask.sum())
    if k == 0:
        return PairedResult(delta, 1.0, None, 0, "permutation-exact", 1)
    same = stats_a[~mask].sum(0)
    diff_a, diff_b = stats_a[mask], stats_b[mask]
    exact = k <= EXACT_MAX_DIFFERING
    if exact:  # every assignment of k swaps, as 0/1 rows
        swap = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(np.float64)
    else:
        swap = np.random.default_rng(seed).integers(2, size=(trials, k)).astype(np.float64)
    shuffled_a = same + (1 - swap) @ diff_a + swap @ diff_b
    shuffled_b = same + swap @ diff_a + (1 - swap) @ diff_b
    swapped = np.abs(compute(shuffled_b) - compute(shuffled_a))
    hits = int(np.sum(swapped >= abs(delta) - _TOLERANCE))
    if exact:  # the identity is one of the 2^k rows, so hits >= 1
        return PairedResult(delta, hits / len(swap), None, k, "permutation-exact", len(swap))
    return PairedResult(delta, (hits + 1) / (trials + 1), None, k, "permutation-mc", trials)


def auto(
    stats_a: np.ndarray, stats_b: np.ndarray, compute: Compute, resamples: int, seed: int
) -> PairedResult:
    """The paired bootstrap where it is calibrated (enough differing segments), else the permutation test."""
    if int(differing(stats_a, stats_b).sum()) >= BOOTSTRAP_MIN_DIFFERING:
        return paired_bootstrap(stats_a, stats_b, compute, resamples, seed)
    return permutation(stats_a, stats_b, compute, resamples, seed)


# Method name (as in 'clsum compare --method' and signatures' test:) -> the test.
TESTS: dict[str, Callable[[np.ndarray, np.ndarray, Compute, int, int], PairedResult]] = {
    "auto": auto,
    "permutation": permutation,
    "paired-bootstrap": paired_bootstrap,
    "ar": permutation,
    "sacrebleu-paired-bootstrap": partial(paired_bootstrap, folded=True),
}


def caveat(result: PairedResult) -> str | None:
    """One line when this result's decision is outside the range where its test is calibrated."""
    if result.test == "paired-bootstrap" and result.differing < BOOTSTRAP_MIN_DIFFERING:
        return (
            f"only {result.differing} segments differ: the paired bootstrap is calibrated from "
            f"{BOOTSTRAP_MIN_DIFFERING} on (use --method auto or permutation)"
        )
    if result.test.startswith("permutation") and 0 < result.differing < 6:
        return (
            f"only {result.differing} segments differ: the smallest possible p is "
            f"{2 / 2**result.differing:.3g}, so no difference can be significant at {ALPHA}"
        )
    if result.test == "sacrebleu-paired-bootstrap":
        return "sacrebleu's folded bootstrap is anti-conservative (about 12% false positives at 0.05)"
    return None
