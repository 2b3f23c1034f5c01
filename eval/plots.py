"""The figures of report.html, each a PNG ``data:`` URI so the page needs no other file. matplotlib's
object API (``Figure``, never pyplot): drawing selects no backend and leaves no global state behind."""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING

from clsum.eval.options import metric_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from clsum.eval.results import Report


def figures(report: Report, metric: str) -> list[tuple[str, str]]:
    """(title, data URI) of every figure there is data for, in the order the page shows them."""
    label = metric_label(metric)
    drawn = (
        (f"{label}: systems side by side, 95% CI", bar_figure(report, metric)),
        (f"{label}: per-document scores", distribution(report, metric)),
        (f"{label} vs. source length", versus_length(report, metric)),
    )
    return [(title, _png(fig)) for title, fig in drawn if fig is not None]


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _axes(size: tuple[float, float], ylabel: str, title: str) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    ax = fig.subplots()
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig, ax


def bar_figure(report: Report, metric: str) -> Figure | None:
    bars = [
        (f"{n}\nn={r.main_n}", s.score, s.ci)
        for n, r in report.systems.items()
        if (s := r.main_scores.get(metric)) and s.score is not None
    ]
    if not bars:
        return None
    common = any(r.common_scores for r in report.systems.values())
    where = f", common {len(report.common)} documents" if common else ""
    title = f"{metric}: systems side by side (95% CI{where})"
    fig, ax = _axes((max(4.0, 1.2 * len(bars)), 3.2), metric_label(metric), title)
    errors = [[max(0.0, v - ci[0]), max(0.0, ci[1] - v)] if ci else [0.0, 0.0] for _, v, ci in bars]
    drawn = ax.bar(
        [n for n, _, _ in bars], [v for _, v, _ in bars], yerr=list(zip(*errors, strict=True)), capsize=4
    )
    ax.bar_label(drawn, fmt="%.2f", padding=2, fontsize="small")
    top = max(value + err[1] for (_, value, _), err in zip(bars, errors, strict=True))
    ax.set_ylim(0, max(1.0, top * 1.15))  # all zeros would otherwise give an axis of -0.04..0.04
    ax.tick_params(axis="x", rotation=20)
    return fig


def distribution(report: Report, metric: str) -> Figure | None:
    series = {
        f"{n}\nn={len(r.scored)}": [v for v in r.per_document(metric) if v is not None and not math.isnan(v)]
        for n, r in report.systems.items()
    }
    series = {n: v for n, v in series.items() if v}
    if not series:
        return None
    title = f"{metric}: per-document distribution (scored documents; triangle: mean)"
    fig, ax = _axes((max(4.0, 1.2 * len(series)), 3.2), f"per-document {metric_label(metric)}", title)
    ax.boxplot(list(series.values()), showmeans=True)
    ax.set_xticks(range(1, len(series) + 1), list(series), rotation=20)
    return fig


def versus_length(report: Report, metric: str) -> Figure | None:
    lengths = [len(s.source.split()) for s in report.dataset.segments]
    series = {
        name: [(x, float(v)) for x, v in zip(lengths, r.per_document(metric), strict=False) if v is not None]
        for name, r in report.systems.items()
    }
    if not any(series.values()):
        return None
    fig, ax = _axes((5.5, 3.4), f"per-document {metric_label(metric)}", f"{metric} vs. source length")
    for name, points in series.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, ys, s=10, alpha=0.6, label=f"{name} (n={len(points)})")
    ax.set_xlabel("source length (words)")
    ax.legend(fontsize="small")
    return fig
