"""The calibration study behind ``clsum compare``: false-positive rates on true nulls and power on planted
degradations, for every paired test, on CNN/DM (docs/evaluation.md, Calibration study)."""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from clsum.eval import bootstrap
from clsum.eval.options import BOOTSTRAP_MIN_DIFFERING, DEFAULTS
from clsum.eval.report import Table, md_lines

log = logging.getLogger(__name__)

METRICS = ("bleu", "chrf", "rouge2", "rougeLsum")
TESTS = ("paired-bootstrap", "permutation", "auto")
# (construction, n, k or share): the full grid of docs/evaluation.md.
GRID: tuple[tuple[str, int, float], ...] = (
    *(("coin", n, 0.5) for n in (10, 20, 50, 100, 250, 1000)),
    ("sparse", 20, 4), ("sparse", 50, 5), ("sparse", 50, 10), ("sparse", 250, 8),
    ("sparse", 250, 25), ("sparse", 1000, 50), ("sparse", 1000, 100), ("sparse", 1000, 200),
    *(("power", n, 0.1) for n in (20, 50, 250, 1000)),
)  # fmt: skip


@dataclass(frozen=True)
class Outputs:
    """Per output (lead3, bart, degraded) and metric: per-segment statistics (articles x k)."""

    stats: dict[str, dict[str, np.ndarray]]
    compute: dict[str, bootstrap.Compute]  # for sacrebleu metrics; ROUGE is a mean (depends on n)


@dataclass(frozen=True)
class Row:
    construction: str
    n: int
    size: float  # k (sparse) or the share of documents (coin: A/B coin, power: degraded)
    metric: str
    test: str
    rejections: int
    pairs: int

    @property
    def interval(self) -> tuple[float, float]:
        return clopper_pearson(self.rejections, self.pairs)


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion x / n: the p at which each binomial
    tail is alpha / 2, by bisection (a tail is monotone in p)."""

    def pmf(k: int, p: float) -> float:
        log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        return math.exp(log_comb + k * math.log(p) + (n - k) * math.log1p(-p))

    def solve(ks: range, upper: bool) -> float:
        low, high = 0.0, 1.0
        for _ in range(60):
            p = (low + high) / 2
            low, high = (p, high) if (sum(pmf(k, p) for k in ks) < alpha / 2) == upper else (low, p)
        return (low + high) / 2

    return (
        0.0 if x == 0 else solve(range(x, n + 1), upper=True),
        1.0 if x == n else solve(range(x + 1), upper=False),
    )


def load_outputs() -> Outputs:
    """Statistics of lead-3, BART and degraded outputs of the 250 FRANK articles (needs CLSUM_DATA)."""
    from clsum.eval.data import load_cnndm_frank250
    from clsum.eval.extractive import lead
    from clsum.eval.metrics import statistics

    segments = load_cnndm_frank250().segments
    refs, bart = [s.reference for s in segments], [s.extra["bart"] for s in segments]
    lead3 = ["\n".join(lead(s.source, "en", 3)) for s in segments]
    texts = {"lead3": lead3, "bart": bart, "degraded": bart[1:] + bart[:1]}
    stats = {key: statistics(hyps, refs, list(METRICS)) for key, hyps in texts.items()}
    by_key = {key: {m: s.stats for m, s in value.items()} for key, value in stats.items()}
    return Outputs(by_key, {m: s.compute for m, s in stats["bart"].items()})


def _pair(
    outputs: Outputs, metric: str, construction: str, n: int, size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    articles = len(outputs.stats["bart"][metric])
    docs = rng.choice(articles, size=n, replace=n > articles)
    lead3, bart = outputs.stats["lead3"][metric][docs], outputs.stats["bart"][metric][docs]
    if construction == "coin":
        pick_a, pick_b = rng.random(n) < size, rng.random(n) < size
        return np.where(pick_a[:, None], bart, lead3), np.where(pick_b[:, None], bart, lead3)
    if construction == "sparse":
        a, b = bart.copy(), bart.copy()
        chosen = rng.choice(n, size=int(size), replace=False)
        to_a = rng.random(len(chosen)) < 0.5
        a[chosen[to_a]], b[chosen[~to_a]] = lead3[chosen[to_a]], lead3[chosen[~to_a]]
        return a, b
    degraded = rng.random(n) < size
    return bart, np.where(degraded[:, None], outputs.stats["degraded"][metric][docs], bart)


def _decisions(a: np.ndarray, b: np.ndarray, compute: bootstrap.Compute) -> dict[str, bool]:
    """Each test's 'significant at 0.05', as clsum compare decides it with its defaults."""
    resamples, seed = DEFAULTS.bootstrap, DEFAULTS.seed
    boot = bootstrap.paired_bootstrap(a, b, compute, resamples, seed)
    perm = bootstrap.permutation(a, b, compute, resamples, seed)
    chosen = boot if boot.differing >= BOOTSTRAP_MIN_DIFFERING else perm
    return {
        "paired-bootstrap": boot.p_value < bootstrap.ALPHA,
        "permutation": perm.p_value < bootstrap.ALPHA,
        "auto": chosen.p_value < bootstrap.ALPHA,
    }


def run(outputs: Outputs, grid: tuple[tuple[str, int, float], ...], pairs: int, seed: int) -> Iterator[Row]:
    """Per grid cell and metric: ``pairs`` constructions, every test's rejections."""
    for construction, n, size in grid:
        for metric in METRICS:
            log.info("%s n=%d size=%g %s", construction, n, size, metric)
            rng = np.random.default_rng([seed, n, int(size * 1000), METRICS.index(metric), len(construction)])
            compute = bootstrap.mean_of(n) if metric.startswith("rouge") else outputs.compute[metric]
            counts = dict.fromkeys(TESTS, 0)
            for _ in range(pairs):
                a, b = _pair(outputs, metric, construction, n, size, rng)
                for test, significant in _decisions(a, b, compute).items():
                    counts[test] += significant
            yield from (Row(construction, n, size, metric, t, counts[t], pairs) for t in TESTS)


def _cell(row: Row) -> str:
    low, high = row.interval
    return f"{100 * row.rejections / row.pairs:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def table(rows: list[Row]) -> str:
    """Markdown: one line per construction, n and metric; a column per test (% rejected, 95% CP)."""
    keyed: dict[tuple[str, int, float, str], dict[str, Row]] = {}
    for row in rows:
        keyed.setdefault((row.construction, row.n, row.size, row.metric), {})[row.test] = row
    header = ["null / power", "n", "k or share", "metric", *TESTS]
    cells = [
        [c, str(n), f"{size:g}", m, *(_cell(by[t]) for t in TESTS)] for (c, n, size, m), by in keyed.items()
    ]
    return "\n".join(md_lines(Table(header, cells))).rstrip("\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=400, help="constructions per grid cell")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cells", help="comma-separated indices into GRID (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    grid = tuple(GRID[int(i)] for i in args.cells.split(",")) if args.cells else GRID
    rows = []
    for row in run(load_outputs(), grid, args.pairs, args.seed):
        rows.append(row)
        log.info("  %s: %s", row.test, _cell(row))
    print(f"pairs per cell: {args.pairs}, seed {args.seed}; % significant at 0.05 [Clopper-Pearson 95%]")
    print(table(rows))


if __name__ == "__main__":
    main()
