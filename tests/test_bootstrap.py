"""eval.bootstrap: resampling counts, intervals and paired tests on hand-made statistics."""

from __future__ import annotations

import numpy as np
import pytest

from clsum.eval import bootstrap


def _mean(n: int) -> bootstrap.Compute:
    return lambda sums: float(sums[0] / n)


def test_resample_counts_draw_n_segments_per_resample_reproducibly() -> None:
    counts = bootstrap.resample_counts(7, 50, seed=1)
    assert counts.shape == (50, 7)
    assert (counts.sum(axis=1) == 7).all()
    assert (counts == bootstrap.resample_counts(7, 50, seed=1)).all()
    assert (counts != bootstrap.resample_counts(7, 50, seed=2)).any()


def test_resample_counts_match_sacrebleu_style_index_draws() -> None:
    idx = np.random.default_rng(3).choice(5, size=(4, 5), replace=True)
    counts = bootstrap.resample_counts(5, 4, seed=3)
    for row, draws in zip(counts, idx, strict=True):
        assert row.tolist() == np.bincount(draws, minlength=5).tolist()


def test_confidence_interval_brackets_the_mean() -> None:
    values = np.arange(100, dtype=float)[:, None]
    low, high = bootstrap.confidence_interval(values, _mean(100), 500, seed=0)
    assert low < 49.5 < high
    assert high - low < 20  # sd of the mean is ~2.9, so the 95% interval is ~11 wide
    constant = bootstrap.confidence_interval(np.full((10, 1), 3.0), _mean(10), 100, seed=0)
    assert constant == pytest.approx((3.0, 3.0))


@pytest.mark.parametrize("method", list(bootstrap.TESTS))
def test_paired_tests(method: str) -> None:
    test = bootstrap.TESTS[method]
    a = np.zeros((40, 1))
    b = np.ones((40, 1))
    result = test(a, b, _mean(40), 200, 0)
    assert result.delta == 1.0
    # Never below 1/(trials+1); the two-sided percentile bootstrap doubles its smaller tail.
    smallest = 2 / 201 if method == "paired-bootstrap" else 1 / 201
    assert result.p_value == pytest.approx(smallest)
    same = test(a, a, _mean(40), 200, 0)
    assert same.delta == 0.0 and same.p_value == 1.0


def test_noise_is_not_significant() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(60, 1))
    b = a + rng.normal(scale=0.01, size=(60, 1))
    for test in bootstrap.TESTS.values():
        assert test(a, b, _mean(60), 300, 1).p_value > 0.05
