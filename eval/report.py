"""Report files of a benchmark run: report.json, report.md, report.html and outputs/SYSTEM.jsonl.

report.json says how every number was made: score signatures, the benchmark config, package
versions, the git commit, data file hashes and the pipeline config hash with model provenance.
report.html is self-contained (plots are base64 PNGs, no scripts or external links), so it can be
mailed or opened offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clsum.versions import package_versions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from clsum.eval.harness import Report, SystemResult

REPO = Path(__file__).resolve().parents[1]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_hash(repo: Path = REPO) -> str | None:
    """HEAD of the repository the code runs from, ``+dirty`` with uncommitted changes; None if none."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if status.strip() else head


# -- JSON ----------------------------------------------------------------------------------------


def _score_entry(score: Any) -> dict[str, Any]:
    return dict(score.to_dict())  # keeps "skipped" and its reason: a skipped metric is never a 0


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, tuple):
        return list(value)
    return value


def ci_bounds(ci: Any) -> tuple[float, float] | None:
    """(low, high) from whatever shape the metrics engine gives: a pair, a dict or an object."""
    ci = _jsonable(ci)
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    if isinstance(ci, dict):
        for low, high in (("low", "high"), ("lo", "hi"), ("lower", "upper")):
            if isinstance(ci.get(low), (int, float)) and isinstance(ci.get(high), (int, float)):
                return float(ci[low]), float(ci[high])
    return None


def _models(result: SystemResult) -> dict[str, str]:
    seen: dict[str, str] = {}
    for info in result.info:
        seen.update(info.get("models", {}))
    return seen


def reassembly(result: SystemResult) -> dict[str, int] | None:
    """Input lines vs. paragraphs that came out: NTREX lines must all survive clean and segment."""
    infos = [i for i in result.info if "lines" in i]
    if not infos:
        return None
    return {
        "documents": len(infos),
        "lines_in": sum(i["lines"] for i in infos),
        "paragraphs_out": sum(i["paragraphs"] for i in infos),
        "documents_changed": sum(
            1 for i in infos if i["lines"] != i["paragraphs"] or i.get("error") or i.get("title_untranslated")
        ),
        "items_removed_by_clean": sum(len(i.get("removed", [])) for i in infos),
    }


def report_dict(report: Report) -> dict[str, Any]:
    ds = report.dataset
    models: dict[str, str] = {}
    for result in report.systems.values():
        models.update(_models(result))
    return {
        "benchmark": report.benchmark.to_dict(),
        "systems": {
            name: {metric: _score_entry(s) for metric, s in r.scores.items()}
            for name, r in report.systems.items()
        },
        "system_info": {
            name: {
                "type": r.type,
                "kind": r.kind,
                "params": r.params,
                "references": r.reference_kind,
                "failed": sum(1 for i in r.info if i.get("error")),
                "seconds": round(r.seconds, 3),
                "reassembly": reassembly(r),
            }
            for name, r in report.systems.items()
        },
        "checks": {name: r.checks for name, r in report.systems.items() if r.checks is not None},
        "dataset": {"name": ds.name, "source_lang": ds.source_lang, "segments": len(ds.segments)},
        "data": ds.files,
        "pipeline": {
            "config_hash": report.config.hash(),
            "config": report.config.to_dict(),
            "models": models,
        },
        "versions": package_versions(),
        "git": git_hash(),
        "started_at": report.started_at,
        "seconds": round(report.seconds, 3),
    }


def _per_segment(result: SystemResult) -> dict[str, list[Any]]:
    return {m: list(getattr(s, "per_segment", None) or []) for m, s in result.scores.items()}


def write_outputs(report: Report, folder: Path) -> None:
    """One JSONL line per segment: id, output, per-segment scores and what the system noted."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, result in report.systems.items():
        per_segment = _per_segment(result)
        with (folder / f"{_filename(name)}.jsonl").open("w", encoding="utf-8") as out:
            for i, (seg, output) in enumerate(zip(report.dataset.segments, result.outputs, strict=True)):
                row: dict[str, Any] = {"id": seg.id, "output": output}
                if result.reference_kind == "system":
                    row["reference"] = result.references[i]
                row["scores"] = {m: v[i] for m, v in per_segment.items() if i < len(v)}
                info = (
                    {k: v for k, v in result.info[i].items() if k != "models"} if i < len(result.info) else {}
                )
                if info:
                    row["info"] = info
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _filename(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


# -- Markdown ------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _metrics(report: Report) -> list[str]:
    return list(dict.fromkeys(m for r in report.systems.values() for m in r.scores))


def markdown(report: Report, data: dict[str, Any]) -> str:
    metrics = _metrics(report)
    lines = [
        f"# {report.benchmark.name}",
        "",
        report.benchmark.description.strip(),
        "",
        f"Dataset `{data['dataset']['name']}` ({data['dataset']['segments']} segments, source "
        f"`{data['dataset']['source_lang']}`); git `{data['git']}`; "
        f"pipeline config `{data['pipeline']['config_hash']}`.",
        "",
        "| system | " + " | ".join(metrics) + " |",
        "| --- | " + " | ".join("---:" for _ in metrics) + " |",
    ]
    for name, result in report.systems.items():
        cells = []
        for m in metrics:
            s = result.scores.get(m)
            bounds = ci_bounds(s.ci) if s is not None and s.score is not None else None
            text = _fmt(s.score) if s is not None else ""
            cells.append(f"{text} [{bounds[0]:.2f}, {bounds[1]:.2f}]" if bounds else text)
        marker = " (vs. own English-side summary)" if result.reference_kind == "system" else ""
        lines.append(f"| {name}{marker} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Brackets: 95% confidence intervals as the metrics engine reports them.",
        "",
        "## Signatures",
        "",
    ]
    for name, result in report.systems.items():
        for m, s in result.scores.items():
            lines.append(f"- {name} {m}: `{s.signature}`")
    if data["checks"]:
        lines += ["", "## Summary checks", ""]
        for name, checks in data["checks"].items():
            lines.append(f"- {name}: `{json.dumps(checks, ensure_ascii=False, default=str)}`")
    kept = {n: i["reassembly"] for n, i in data["system_info"].items() if i["reassembly"]}
    if kept:
        lines += ["", "## Reassembly (input lines vs. paragraphs out)", ""]
        lines += [
            f"- {n}: {r['lines_in']} lines in, {r['paragraphs_out']} paragraphs out; "
            f"{r['documents_changed']} of {r['documents']} documents changed, "
            f"{r['items_removed_by_clean']} items removed by clean"
            for n, r in kept.items()
        ]
    lines += ["", "## Data", ""] + [f"- `{path}` sha256:{digest}" for path, digest in data["data"].items()]
    failed = {n: i["failed"] for n, i in data["system_info"].items() if i["failed"]}
    if failed:
        lines += ["", "## Failures", ""] + [
            f"- {n}: {k} documents failed (see outputs/)" for n, k in failed.items()
        ]
    return "\n".join(lines) + "\n"


# -- HTML with embedded plots --------------------------------------------------------------------


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _numbers(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not math.isnan(v)]


def bar_chart(report: Report, metric: str) -> str | None:
    from matplotlib.figure import Figure

    rows = [(n, r.scores[metric]) for n, r in report.systems.items() if metric in r.scores]
    rows = [(n, s) for n, s in rows if s.score is not None]
    if not rows:
        return None
    fig = Figure(figsize=(max(4.0, 1.2 * len(rows)), 3.2))
    ax = fig.subplots()
    errors = [[0.0, 0.0] for _ in rows]
    for i, (_, s) in enumerate(rows):
        bounds = ci_bounds(s.ci)
        if bounds:
            errors[i] = [max(0.0, s.score - bounds[0]), max(0.0, bounds[1] - s.score)]
    ax.bar([n for n, _ in rows], [s.score for _, s in rows], yerr=list(zip(*errors, strict=True)), capsize=4)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: systems side by side (95% CI)")
    ax.tick_params(axis="x", rotation=20)
    return _png(fig)


def distribution(report: Report, metric: str) -> str | None:
    from matplotlib.figure import Figure

    series = {n: _numbers(_per_segment(r).get(metric, [])) for n, r in report.systems.items()}
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
    for name, result in report.systems.items():
        values = _per_segment(result).get(metric, [])
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


def html_report(report: Report, data: dict[str, Any]) -> str:
    """The Markdown tables as HTML, then the plots, images inline."""
    e = html.escape
    metrics = _metrics(report)
    head = "".join(f"<th>{e(m)}</th>" for m in metrics)
    rows = []
    for name, result in report.systems.items():
        cells = []
        for m in metrics:
            s = result.scores.get(m)
            bounds = ci_bounds(s.ci) if s is not None else None
            ci = f" <small>[{bounds[0]:.2f}, {bounds[1]:.2f}]</small>" if bounds else ""
            cells.append(f"<td>{e(_fmt(s.score)) if s is not None else ''}{ci}</td>")
        rows.append(f"<tr><th>{e(name)}</th>{''.join(cells)}</tr>")
    plots = []
    for m in metrics:
        for title, uri in (
            ("systems side by side", bar_chart(report, m)),
            ("per-document scores", distribution(report, m)),
            ("score vs. source length", versus_length(report, m)),
        ):
            if uri:
                plots.append(
                    f'<figure><img alt="{e(m)}: {e(title)}" src="{uri}">'
                    f"<figcaption>{e(m)}: {e(title)}</figcaption></figure>"
                )
    signatures = "".join(
        f"<li>{e(n)} {e(m)}: <code>{e(str(s.signature))}</code></li>"
        for n, r in report.systems.items()
        for m, s in r.scores.items()
    )
    meta = json.dumps(
        {k: data[k] for k in ("dataset", "data", "git", "versions")}, indent=1, ensure_ascii=False
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(report.benchmark.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
figure{{display:inline-block;margin:8px}}</style>
</head><body>
<h1>{e(report.benchmark.name)}</h1>
<p>{e(report.benchmark.description)}</p>
<table><tr><th>system</th>{head}</tr>{"".join(rows)}</table>
<h2>Plots</h2>{"".join(plots) or "<p>No scores to plot.</p>"}
<h2>Signatures</h2><ul>{signatures}</ul>
<h2>Provenance</h2><pre>{e(meta)}</pre>
</body></html>
"""


def write_report(report: Report, run_dir: Path) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    data = report_dict(report)
    (run_dir / "report.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    write_outputs(report, run_dir / "outputs")
    (run_dir / "report.md").write_text(markdown(report, data), encoding="utf-8")
    (run_dir / "report.html").write_text(html_report(report, data), encoding="utf-8")
    return data
