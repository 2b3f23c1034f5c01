"""Report files of a benchmark run: report.json, report.md, report.html and outputs/SYSTEM.jsonl
(docs/evaluation.md, Report files). report.md and report.html are rendered from one list of blocks
(``blocks``), so they say the same things. report.html's figures are PNG ``data:`` URIs: the page needs
no other file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clsum.eval.checks import CHECKS_SIGNATURE, FLAG_KINDS
from clsum.eval.options import BOOTSTRAP_MIN_DIFFERING, LOWER_IS_BETTER, metric_label
from clsum.eval.scores import jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from clsum.eval.results import Report, SystemResult
    from clsum.eval.scores import Score

log = logging.getLogger(__name__)

OWN_REFERENCE = "†"  # marks scores against the system's own English-side summaries
_SHOWN_FAILURE_IDS = 5


def write_report(report: Report, run_dir: Path) -> None:
    text = json.dumps(report_json(report), indent=2, ensure_ascii=False, default=jsonable)
    (run_dir / "report.json").write_text(text + "\n", encoding="utf-8")
    write_outputs(report, run_dir / "outputs")
    content = blocks(report)
    (run_dir / "report.md").write_text(markdown(report, content), encoding="utf-8")
    (run_dir / "report.html").write_text(html_report(report, content), encoding="utf-8")


# -- JSON ----------------------------------------------------------------------------------------


def reassembly(result: SystemResult) -> dict[str, int] | None:
    """Input lines vs. paragraphs that came out: NTREX lines must all survive clean and segment."""
    infos = [i for i in result.system.info if i.lines is not None]
    if not infos:
        return None
    return {
        "documents": len(infos),
        "lines_in": sum(i.lines or 0 for i in infos),
        "paragraphs_out": sum(i.paragraphs or 0 for i in infos),
        "documents_changed": sum(
            1 for i in infos if i.lines != i.paragraphs or i.error or i.title_untranslated
        ),
        "items_removed_by_clean": sum(len(i.removed or []) for i in infos),
    }


def intervals(report: Report) -> str:
    """What the brackets of every score are."""
    options = report.benchmark.score
    if not options.bootstrap:
        return "no confidence intervals (bootstrap: 0)"
    return (
        f"95% confidence intervals: percentile bootstrap over documents, {options.bootstrap} resamples, "
        f"seed {options.seed}"
    )


def report_json(report: Report) -> dict[str, Any]:
    """report.json, the one serializer of a ``Report``."""
    ds, systems = report.dataset, report.systems
    return {
        "benchmark": asdict(report.benchmark),
        "run": {"limit": report.limit, "systems": report.requested or "all"},
        "intervals": intervals(report),
        "lower_is_better": list(LOWER_IS_BETTER),
        "systems": {name: r.scores for name, r in systems.items()},
        "common": {
            "documents": len(report.common),
            "ids": [ds.segments[i].id for i in report.common],
            "scores": {name: r.common_scores for name, r in systems.items() if r.common_scores},
        },
        "comparisons": {
            "baseline": report.baseline,
            "documents": len(report.common),
            "note": report.comparison_note,
            "systems": report.comparisons,
        },
        "contrast": {name: r.contrast for name, r in systems.items() if r.contrast},
        "system_info": {
            name: {
                "type": r.system.type,
                "kind": r.system.kind,
                "params": asdict(r.system.params),
                "references": r.reference_kind,
                "note": r.note,
                "documents": r.total,
                "scored": len(r.scored),
                "failed": len(r.failures),
                "failures": r.failures,
                "empty_outputs": r.empty_outputs,
                "seconds": round(r.seconds, 3),
                "reassembly": reassembly(r),
            }
            for name, r in systems.items()
        },
        "checks": {name: r.checks for name, r in systems.items() if r.checks is not None},
        "dataset": {"name": ds.name, "source_lang": ds.source_lang, "segments": len(ds.segments)},
        "data": ds.files,
        "pipeline": {
            "config_hash": report.config.hash(),
            "config": report.config.to_dict(),
            "models": report.models,
            "generation": report.generation,
        },
        "versions": report.versions,
        "git": report.git,
        "started_at": report.started_at,
        "seconds": round(report.seconds, 3),
    }


def write_outputs(report: Report, folder: Path) -> None:
    """One JSONL line per segment: id, output, per-segment scores and what the system noted. The
    files of systems an earlier run into this folder had and this one has not are deleted."""
    files = {re.sub(r"[^\w.-]+", "_", name) + ".jsonl": name for name in report.systems}
    stale = sorted(p.name for p in folder.glob("*.jsonl") if p.name not in files) if folder.is_dir() else []
    for file in stale:
        (folder / file).unlink()
    if stale:
        log.warning("removed outputs of an earlier run's systems that this run has not: %s", ", ".join(stale))
    folder.mkdir(parents=True, exist_ok=True)
    for file, name in files.items():
        result = report.systems[name]
        per_document = {m: result.per_document(m) for m in result.scores}
        with (folder / file).open("w", encoding="utf-8") as out:
            for i, (seg, output) in enumerate(zip(report.dataset.segments, result.outputs, strict=True)):
                own = {"reference": result.references[i]} if result.reference_kind == "system" else {}
                scores = {m: v[i] for m, v in per_document.items() if v[i] is not None}
                info = {"info": result.system.info[i]} if i < len(result.system.info) else {}
                row = {"id": seg.id, "output": output, **own, "scores": scores, **info}
                out.write(json.dumps(row, ensure_ascii=False, default=jsonable) + "\n")


# -- one content, two renderings -----------------------------------------------------------------


@dataclass
class Heading:
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Items:
    items: list[str]
    code: bool = False  # every item is code (signatures, hashes)


@dataclass
class Plots:
    """Where report.html puts its figures (report.md has none)."""


Block = Heading | Para | Table | Items | Plots


def _score_cell(score: Score | None) -> str:
    """A table cell: the score and its 95% interval, or why there is no score."""
    if score is None:
        return ""
    if score.score is None:
        return "n/a*" if score.skipped else "n/a"  # the reason is under the table (a long one would widen it)
    if not score.ci:
        return f"{score.score:.2f}"
    if score.ci[0] == score.ci[1]:  # one document, or every resample alike: no interval to show
        return f"{score.score:.2f} [CI n/a]"
    return f"{score.score:.2f} [{score.ci[0]:.2f}, {score.ci[1]:.2f}]"


def _metrics(report: Report) -> list[str]:
    return list(dict.fromkeys(m for r in report.systems.values() for m in r.scores))


def _scored_cell(result: SystemResult, common: int | None = None) -> str:
    if common is not None and result.common_scores:
        return f"{common}/{result.total} common"
    cell = f"{len(result.scored)}/{result.total}"
    return f"{cell}, {len(result.failures)} failed" if result.failures else cell


def _checks_cell(result: SystemResult) -> str:
    checks = result.checks
    if not checks or checks.flags is None:  # no summaries checked
        return ""
    cell = f"{checks.flagged}/{checks.documents} flagged"
    too_short = checks.flags["too_short"]
    return f"{cell}, {too_short} too short" if too_short else cell


def score_table(report: Report) -> Table:
    metrics = _metrics(report)

    def cells(scores: dict[str, Score]) -> list[str]:
        return [_score_cell(scores.get(m)) for m in metrics]

    rows = []
    for name, r in report.systems.items():
        marker = f" {OWN_REFERENCE}" if r.reference_kind == "system" else ""
        label = f"{name}{marker} ({r.note})" if r.note else f"{name}{marker}"
        rows.append([label, *cells(r.main_scores), _scored_cell(r, len(report.common)), _checks_cell(r)])
        if r.common_scores:
            rows.append([f"↳ {name}: every document it succeeded on", *cells(r.scores), _scored_cell(r), ""])
        if r.contrast:
            label = f"↳ {name}: contrast (vs. another document's English-side summary)"
            rows.append([label, *cells(r.contrast), "", ""])
    header = ["system", *(metric_label(m) for m in metrics), "scored", "checks"]
    width = len(header) - (not any(r.checks for r in report.systems.values()))  # checks: where there are
    return Table(header[:width], [row[:width] for row in rows])


def legend(report: Report) -> list[str]:
    """What the table's numbers, brackets and marks mean (only the marks the table uses)."""
    lower = ", ".join(m for m in _metrics(report) if m in LOWER_IS_BETTER)
    direction = f"Higher is better, except {lower} (lower is better)." if lower else "Higher is better."
    lines = [
        f"Scores are 0-100. Brackets: {intervals(report)}. {direction}",
        "scored n/N: each score is computed on the n documents the system succeeded on, of N; failed "
        "documents are left out (never scored as 0) and listed under Failures.",
    ]
    skipped = {
        f"{name} {metric}: {s.skipped}"
        for name, r in report.systems.items()
        for metric, s in [*r.main_scores.items(), *r.contrast.items()]
        if s.score is None and s.skipped
    }
    lines += [f"n/a* {reason}" for reason in sorted(skipped)]
    if any(r.common_scores for r in report.systems.values()):
        lines.append(
            f"common: systems failed on different documents, so each system's row is scored on the "
            f"{len(report.common)} documents every scored system succeeded on (comparable rows); the ↳ row "
            "below it scores the same system on every document it succeeded on."
        )
    if any(s.ci and s.ci[0] == s.ci[1] for r in report.systems.values() for s in r.main_scores.values()):
        lines.append("CI n/a: the interval has zero width (one document, or all resamples alike).")
    if any(r.reference_kind == "system" for r in report.systems.values()):
        lines.append(
            f"{OWN_REFERENCE} Cross-lingual consistency: scored against the same summarizer's summary of "
            "the English original (its own English-side summary), not against human references. The "
            "contrast row scores the same outputs against another document's English-side summary: a "
            "system whose output does not depend on the document scores as high there, so only the gap "
            "between the two rows says the summaries agree on content."
        )
    if any(r.checks for r in report.systems.values()):
        lines.append(
            "checks: summaries flagged by the reference-free checks (see Summary checks); too short = "
            "fewer than 5 words, e.g. empty or degenerate output."
        )
    return lines


CORPUS_NOTE = (
    "BLEU, chrF and TER are corpus-level: one score from n-gram statistics summed over all documents "
    "(not the mean of per-document scores, which the box plots show). ROUGE (and BERTScore) is the mean "
    "of per-document F-measures."
)


def comparison_blocks(report: Report) -> list[Block]:
    """Each system against the baseline, with the test of ``clsum compare`` (its default, auto)."""
    if not report.comparisons:
        note = report.comparison_note or "no system shares the baseline's references"
        return [Heading("Paired comparisons"), Para(f"None: {note}."), Para(CORPUS_NOTE)]
    caveats = sorted(
        {f"{n} {m}: {c.caveat}" for n, r in report.comparisons.items() for m, c in r.items() if c.caveat}
    )
    header = ["system", "metric", "baseline", "system score", "Δ", "95% CI of Δ", "p", "test", "differ"]
    rows = [
        [
            name,
            metric_label(metric),
            f"{c.score_a:.2f}",
            f"{c.score_b:.2f}",
            f"{c.delta:+.2f}",
            f"[{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]" if c.ci and c.ci[0] != c.ci[1] else "n/a",
            f"{c.p_value:.4f}",
            c.test,
            f"{c.differing}/{c.n}",
        ]
        for name, by_metric in report.comparisons.items()
        for metric, c in by_metric.items()
    ]
    return [
        Heading(f"Paired comparisons vs. {report.baseline}"),
        Para(
            f"Δ = system - {report.baseline} on the {len(report.common)} documents both were scored on, "
            "tested as 'clsum compare' does (--method auto): the paired percentile bootstrap, whose 95% CI "
            f"agrees with its p, when at least {BOOTSTRAP_MIN_DIFFERING} documents differ; otherwise the "
            "paired permutation test over the differing documents (exact for few), which has no CI (n/a). "
            "differ: documents whose per-document statistics differ, of n. Calibration: docs/evaluation.md."
        ),
        Table(header, rows),
        *([Items(caveats)] if caveats else []),
        Para(CORPUS_NOTE),
    ]


def failure_blocks(report: Report) -> list[Block]:
    items = []
    for name, result in report.systems.items():
        groups = Counter((f.stage, f.message) for f in result.failures)
        for (stage, message), count in groups.most_common():
            ids = [f.id for f in result.failures if (f.stage, f.message) == (stage, message)]
            shown = ", ".join(ids[:_SHOWN_FAILURE_IDS]) + (" ..." if len(ids) > _SHOWN_FAILURE_IDS else "")
            items.append(
                f"{name}: {count} of {result.total} documents failed in {stage}: {message} ({shown})"
            )
    return [Heading("Failures"), Items(items) if items else Para("None: every system ran on every document.")]


def checks_blocks(report: Report) -> list[Block]:
    checks = {n: r.checks for n, r in report.systems.items() if r.checks and r.checks.documents}
    header = ["system", "summaries", "flagged", *(k.replace("_", " ") for k in FLAG_KINDS)]  # spaces wrap
    header += ["compression", "novel 1-grams", "repeated 3-grams"]
    rows = [
        [
            name,
            str(c.documents),
            f"{c.flagged} ({c.share_flagged:.0%})",
            *(str((c.flags or {})[k]) for k in FLAG_KINDS),
            f"{c.mean_compression:.3f}",
            f"{(c.mean_novel_ngrams or {})['1']:.3f}",
            f"{c.mean_repeated_trigrams:.3f}",
        ]
        for name, c in checks.items()
    ]
    about = (
        "Reference-free checks of each summary against its source (and English translation): flag counts "
        f"per kind and means over the scored summaries; thresholds in {CHECKS_SIGNATURE}."
    )
    return [Heading("Summary checks"), Para(about), Table(header, rows)] if checks else []


def reassembly_blocks(report: Report) -> list[Block]:
    kept = {name: r for name, result in report.systems.items() if (r := reassembly(result))}
    items = [
        f"{n}: {r['lines_in']} lines in, {r['paragraphs_out']} paragraphs out; {r['documents_changed']} of "
        f"{r['documents']} documents changed, {r['items_removed_by_clean']} items removed by clean"
        for n, r in kept.items()
    ]
    return [Heading("Reassembly (input lines vs. paragraphs out)"), Items(items)] if items else []


def blocks(report: Report) -> list[Block]:
    """Everything report.md and report.html say, in order."""
    ds = report.dataset
    return [
        Para(report.benchmark.description.strip()),
        Para(
            f"Dataset {ds.name}: {len(ds.segments)} segments, source language {ds.source_lang}. "
            f"Run with --limit {report.limit or '(none)'} and "
            f"--systems {','.join(report.requested or ['all'])}."
        ),
        score_table(report),
        Items(legend(report)),
        *comparison_blocks(report),
        *failure_blocks(report),
        *checks_blocks(report),
        *reassembly_blocks(report),
        Heading("Plots"),
        Plots(),
        Heading("Provenance"),
        Items(
            [
                f"pipeline config hash {report.config.hash()}",
                f"git {report.git}",
                f"started {report.started_at}, took {round(report.seconds, 3):.1f} s",
                *(f"model for {role}: {prov}" for role, prov in report.models.items()),
                *(
                    f"{role}: {', '.join(f'{k} {v}' for k, v in values.items())}"
                    for role, values in report.generation.items()
                ),
            ]
        ),
        Heading("Data"),
        Items([f"{path} sha256:{digest}" for path, digest in ds.files.items()], code=True),
        Heading("Signatures"),
        Items(
            [f"{n} {m}: {s.signature}" for n, r in report.systems.items() for m, s in r.scores.items()],
            code=True,
        ),
        Heading("Versions"),
        Items([f"{k} {v}" for k, v in report.versions.items()]),
    ]


# -- Markdown ------------------------------------------------------------------------------------


def md_lines(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return [f"## {block.text}", ""]
    if isinstance(block, Para):
        return [block.text, ""] if block.text else []
    if isinstance(block, Table):
        lines = [
            "| " + " | ".join(block.header) + " |",
            "| --- | " + " | ".join("---:" for _ in block.header[1:]) + " |",
        ]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in block.rows]
        return [*lines, ""]
    if isinstance(block, Items):
        return [*(f"- `{i}`" if block.code else f"- {i}" for i in block.items), ""]
    return ["See report.html.", ""]  # Plots


def markdown(report: Report, content: list[Block]) -> str:
    lines = [f"# {report.benchmark.name}", "", *(line for block in content for line in md_lines(block))]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML ----------------------------------------------------------------------------------------

_STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td{white-space:nowrap}td:first-child,th:first-child{text-align:left;white-space:normal}th{background:#f3f3f3}
figure{display:inline-block;margin:8px}code{font-size:90%;word-break:break-all}
"""


def _html_block(block: Block, report: Report) -> str:
    e = html.escape
    if isinstance(block, Heading):
        return f"<h2>{e(block.text)}</h2>"
    if isinstance(block, Para):
        return f"<p>{e(block.text)}</p>" if block.text else ""
    if isinstance(block, Table):
        head = "".join(f"<th>{e(h)}</th>" for h in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table><tr>{head}</tr>{rows}</table>"
    if isinstance(block, Items):
        items = "".join(
            f"<li><code>{e(i)}</code></li>" if block.code else f"<li>{e(i)}</li>" for i in block.items
        )
        return f"<ul>{items}</ul>"
    figures = [
        f'<figure><img alt="{e(title)}" src="{_png(fig)}"><figcaption>{e(title)}</figcaption></figure>'
        for m in _metrics(report)
        for title, fig in _figures(report, m)
        if fig is not None
    ]
    return "".join(figures) or "<p>No scores to plot.</p>"


def _figures(report: Report, metric: str) -> list[tuple[str, Figure | None]]:
    """(title, figure or None: no data to draw) of every figure, in the order the page shows them."""
    label = metric_label(metric)
    return [
        (f"{label}: systems side by side, 95% CI", bar_figure(report, metric)),
        (f"{label}: per-document scores", distribution(report, metric)),
        (f"{label} vs. source length", versus_length(report, metric)),
    ]


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _axes(size: tuple[float, float], ylabel: str, title: str) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure  # never pyplot: selects no backend, leaves no global state

    fig = Figure(figsize=size)
    ax = fig.subplots()
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig, ax


def bar_figure(report: Report, metric: str) -> Figure | None:
    bars = [
        (f"{n}\nn={len(report.common) if r.common_scores else len(r.scored)}", s.score, s.ci)
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


def html_report(report: Report, content: list[Block]) -> str:
    """The same blocks as report.md, with the plots inline."""
    body = "\n".join(_html_block(block, report) for block in content)
    name = html.escape(report.benchmark.name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{name}</title>
<style>{_STYLE}</style>
</head><body>
<h1>{name}</h1>
{body}
</body></html>
"""
