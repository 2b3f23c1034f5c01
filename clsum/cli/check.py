"""``clsum check OUT/``: reference-free checks of the summaries a ``clsum summarize`` run wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from clsum.cli.common import EXIT_PARTIAL, handle_errors


def _table(flagged: list[tuple[str, str, list[str]]], summary: dict[str, Any]) -> str:
    """``flagged``: (id, lang, flags) of each flagged summary; ``summary``: ``aggregate``'s means."""
    from clsum.eval.checks import CHECKS_SIGNATURE

    lines = []
    if flagged:
        width = max(len(doc_id) for doc_id, _, _ in flagged)
        lines.append(f"{'document':{width}}  lang  flags")
        for doc_id, lang, flags in flagged:
            lines.append(f"{doc_id:{width}}  {lang:4}  {flags[0]}")
            lines.extend(f"{'':{width}}        {flag}" for flag in flags[1:])
        lines.append("")
    if summary["documents"]:
        novel = summary["mean_novel_ngrams"]
        counts = ", ".join(f"{k} {v}" for k, v in summary["flags"].items() if v) or "none"
        lines += [
            f"{summary['flagged']} of {summary['documents']} summaries flagged "
            f"({summary['share_flagged']:.0%}); by kind: {counts}",
            f"mean compression {summary['mean_compression']:.3f}, novel 1/2/3-grams "
            f"{novel['1']:.3f}/{novel['2']:.3f}/{novel['3']:.3f}, repeated trigrams "
            f"{summary['mean_repeated_trigrams']:.3f}, unsupported numbers "
            f"{summary['mean_unsupported_numbers']:.2f} and entities "
            f"{summary['mean_unsupported_entities']:.2f} per summary",
        ]
    else:
        lines.append("no summaries to check")
    lines.append(f"signature: {CHECKS_SIGNATURE}")
    return "\n".join(lines)


@click.command("check")
@click.argument("output", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print per-document results and the aggregate as JSON.")
@click.option("--fail-on-flag", is_flag=True, help="Exit with code 3 if any summary is flagged.")
@handle_errors
def check_command(output: Path, as_json: bool, fail_on_flag: bool, verbose: int) -> None:
    """Reference-free checks of the summaries in OUT (a 'clsum summarize' output folder).

    Compression, novel n-grams, repeated trigrams (loops), numbers and named entities (a
    capitalisation heuristic) missing from the source; prints the flagged summaries and means.
    """
    from clsum.eval.checks import CHECKS_SIGNATURE, aggregate, check_output
    from clsum.eval.scores import jsonable

    checked = check_output(output)
    summary = aggregate([res for _, res in checked])
    if as_json:
        documents = [{"id": row["id"], "lang": row.get("lang"), **jsonable(res)} for row, res in checked]
        payload = {"documents": documents, "aggregate": summary, "signature": CHECKS_SIGNATURE}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        flagged = [(row["id"], row.get("lang") or "?", res.flags) for row, res in checked if res.flagged]
        click.echo(_table(flagged, summary))
    if fail_on_flag and any(res.flagged for _, res in checked):
        sys.exit(EXIT_PARTIAL)
