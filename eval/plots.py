"""The figures of report.html, each a PNG ``data:`` URI so the page needs no other file.

Figures are built with matplotlib's object API (``Figure``, never pyplot), so drawing them selects
no backend and leaves no global figure state behind. A figure with nothing to draw is None.
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from clsum.eval.harness import Report


def figures(report: Report, metric: str) -> list[tuple[str, str]]:
    """(title, data URI) of every figure there is data for, in the order the page shows them."""
    drawn = (
        ("systems side by side", bar_chart(report, metric)),
        ("per-document scores", distribution(report, metric)),
        ("score vs. source length", versus_length(report, metric)),
    )
    return [(title, uri) for title, uri in drawn if uri]


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _numbers(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not math.isnan(v)]


def _per_segment(report: Report, name: str, metric: str) -> list[float]:
    score = report.systems[name].scores.get(metric)
    return list(score.per_segment or []) if score is not None else []


def bar_chart(report: Report, metric: str) -> str | None:
    from matplotlib.figure import Figure

    scored = [(n, r.scores[metric]) for n, r in report.systems.items() if metric in r.scores]
    bars = [(n, s.score, s.ci) for n, s in scored if s.score is not None]
    if not bars:
        return None
    fig = Figure(figsize=(max(4.0, 1.2 * len(bars)), 3.2))
    ax = fig.subplots()
    errors = [[0.0, 0.0] for _ in bars]
    for i, (_, value, ci) in enumerate(bars):
        if ci:
            errors[i] = [max(0.0, value - ci[0]), max(0.0, ci[1] - value)]
    ax.bar([n for n, _, _ in bars], [v for _, v, _ in bars], yerr=list(zip(*errors, strict=True)), capsize=4)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: systems side by side (95% CI)")
    ax.tick_params(axis="x", rotation=20)
    return _png(fig)


def distribution(report: Report, metric: str) -> str | None:
    from matplotlib.figure import Figure

    series = {n: _numbers(_per_segment(report, n, metric)) for n in report.systems}
    series = {n: v for n, v in series.items() if v}
    if not series:
        return None
    fig = Figure(figsize=(max(4.0, 1.2 * len(series)), 3.2))
    ax = fig.subplots()
    ax.boxplot(list(series.values()), showmeans=True)
    ax.set_xticks(range(1, len(series) + 1), list(series), rotation=20)
    ax.set_ylabel(f"per-document {metric}")
    ax.set_title(f"{metric}: per-document distribution")
    return _png(fig)


def versus_length(report: Report, metric: str) -> str | None:
    from matplotlib.figure import Figure

    lengths = [len(s.source.split()) for s in report.dataset.segments]
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    drawn = False
    for name in report.systems:
        values = _per_segment(report, name, metric)
        points = [(x, float(v)) for x, v in zip(lengths, values, strict=False) if isinstance(v, (int, float))]
        if points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            ax.scatter(xs, ys, s=10, alpha=0.6, label=name)
            drawn = True
    if not drawn:
        return None
    ax.set_xlabel("source length (words)")
    ax.set_ylabel(f"per-document {metric}")
    ax.set_title(f"{metric} vs. source length")
    ax.legend(fontsize="small")
    return _png(fig)
