"""Report files of a benchmark run: report.json, report.md, report.html and outputs/SYSTEM.jsonl.

report.json says how every number was made: score signatures, the benchmark config, package
versions, the git commit, data file hashes and the pipeline config hash with model provenance.
report.html is self-contained (the figures of ``eval.plots`` inline, no scripts or external links), so
it can be mailed or opened offline. Each file has one writer here; report.md and report.html show the
same score cells (``_score_cell``).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clsum.eval import plots
from clsum.versions import package_versions

if TYPE_CHECKING:
    from clsum.eval.harness import Report, SystemResult
    from clsum.eval.metrics import Score

REPO = Path(__file__).resolve().parents[1]


def write_report(report: Report, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    data = report_dict(report)
    (run_dir / "report.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    write_outputs(report, run_dir / "outputs")
    (run_dir / "report.md").write_text(markdown(report, data), encoding="utf-8")
    (run_dir / "report.html").write_text(html_report(report, data), encoding="utf-8")


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
            name: {metric: s.to_dict() for metric, s in r.scores.items()}
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


def write_outputs(report: Report, folder: Path) -> None:
    """One JSONL line per segment: id, output, per-segment scores and what the system noted."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, result in report.systems.items():
        per_segment = {m: s.per_segment or [] for m, s in result.scores.items()}
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


def _score_cell(score: Score | None) -> tuple[str, str | None]:
    """A table cell of report.md and report.html: the score, and its 95% interval when it has one."""
    if score is None:
        return "", None
    ci = f"[{score.ci[0]:.2f}, {score.ci[1]:.2f}]" if score.score is not None and score.ci else None
    return _fmt(score.score), ci


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
            text, ci = _score_cell(result.scores.get(m))
            cells.append(f"{text} {ci}" if ci else text)
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


# -- HTML ----------------------------------------------------------------------------------------


def html_report(report: Report, data: dict[str, Any]) -> str:
    """The score table as HTML, then the plots, images inline."""
    e = html.escape
    metrics = _metrics(report)
    head = "".join(f"<th>{e(m)}</th>" for m in metrics)
    rows = []
    for name, result in report.systems.items():
        cells = []
        for m in metrics:
            text, ci = _score_cell(result.scores.get(m))
            cells.append(f"<td>{e(text)}{f' <small>{ci}</small>' if ci else ''}</td>")
        rows.append(f"<tr><th>{e(name)}</th>{''.join(cells)}</tr>")
    figures = [
        f'<figure><img alt="{e(m)}: {e(title)}" src="{uri}">'
        f"<figcaption>{e(m)}: {e(title)}</figcaption></figure>"
        for m in metrics
        for title, uri in plots.figures(report, m)
    ]
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
<h2>Plots</h2>{"".join(figures) or "<p>No scores to plot.</p>"}
<h2>Signatures</h2><ul>{signatures}</ul>
<h2>Provenance</h2><pre>{e(meta)}</pre>
</body></html>
"""
