"""eval.bootstrap: resampling counts, intervals and paired tests on hand-made statistics."""

from __future__ import annotations

import numpy as np
import pytest

from clsum.eval import bootstrap
from clsum.eval.options import BOOTSTRAP_MIN_DIFFERING, EXACT_MAX_DIFFERING


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
    low, high = bootstrap.confidence_interval(values, bootstrap.mean_of(100), 500, seed=0)
    assert low < 49.5 < high
    assert high - low < 20  # sd of the mean is ~2.9, so the 95% interval is ~11 wide
    constant = bootstrap.confidence_interval(np.full((10, 1), 3.0), bootstrap.mean_of(10), 100, seed=0)
    assert constant == pytest.approx((3.0, 3.0))


@pytest.mark.parametrize("method", list(bootstrap.TESTS))
def test_paired_tests(method: str) -> None:
    test = bootstrap.TESTS[method]
    a = np.zeros((40, 1))
    b = np.ones((40, 1))
    result = test(a, b, bootstrap.mean_of(40), 200, 0)
    assert result.delta == 1.0
    # Never below 1/(trials+1); the two-sided percentile bootstrap doubles its smaller tail.
    smallest = 2 / 201 if method == "paired-bootstrap" else 1 / 201
    assert result.p_value == pytest.approx(smallest)
    same = test(a, a, bootstrap.mean_of(40), 200, 0)
    assert same.delta == 0.0 and same.p_value == 1.0


def test_noise_is_not_significant() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(60, 1))
    b = a + rng.normal(scale=0.01, size=(60, 1))
    for test in bootstrap.TESTS.values():
        assert test(a, b, bootstrap.mean_of(60), 300, 1).p_value > 0.05


def test_permutation_is_exact_for_few_differing_segments() -> None:
    """All 2^k swaps of the differing segments; identical segments are left out of the count."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 1))
    b = a.copy()
    b[:6, 0] += np.array([1.0, 0.5, 2.0, -0.3, 0.8, 1.2])
    result = bootstrap.permutation(a, b, bootstrap.mean_of(30), 1000, 0)
    assert (result.test, result.differing, result.trials, result.ci) == ("permutation-exact", 6, 64, None)
    d = (b - a)[:6, 0]
    signs = np.array([[1 - 2 * ((i >> j) & 1) for j in range(6)] for i in range(64)])
    brute = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)
    assert result.p_value == pytest.approx(brute)


def test_permutation_is_monte_carlo_above_the_exact_limit() -> None:
    k = EXACT_MAX_DIFFERING + 1
    a, b = np.zeros((k + 5, 1)), np.zeros((k + 5, 1))
    b[:k] = 1.0
    result = bootstrap.permutation(a, b, bootstrap.mean_of(k + 5), 500, 3)
    assert (result.test, result.trials, result.differing) == ("permutation-mc", 500, k)
    assert result.p_value == pytest.approx(1 / 501)


def test_auto_uses_the_bootstrap_only_where_it_is_calibrated() -> None:
    rng = np.random.default_rng(1)
    for k, expected in (
        (BOOTSTRAP_MIN_DIFFERING - 1, "permutation-mc"),
        (BOOTSTRAP_MIN_DIFFERING, "paired-bootstrap"),
    ):
        a = rng.normal(size=(k + 10, 1))
        b = a.copy()
        b[:k] += rng.normal(size=(k, 1))
        result = bootstrap.auto(a, b, bootstrap.mean_of(k + 10), 200, 0)
        assert result.test == expected and result.differing == k
        assert (result.ci is None) == (expected != "paired-bootstrap")
        assert bootstrap.caveat(result) is None


def test_caveats_name_what_is_uncalibrated() -> None:
    a, b = np.zeros((20, 1)), np.zeros((20, 1))
    b[:4] = 1.0
    boot = bootstrap.paired_bootstrap(a, b, bootstrap.mean_of(20), 200, 0)
    assert "only 4 segments differ: the paired bootstrap is calibrated from" in str(bootstrap.caveat(boot))
    perm = bootstrap.permutation(a, b, bootstrap.mean_of(20), 200, 0)
    assert "smallest possible p is 0.125" in str(bootstrap.caveat(perm))
