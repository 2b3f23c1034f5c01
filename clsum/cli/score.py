"""``clsum score`` and ``clsum compare``: signed scores with bootstrap CIs, and paired significance tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import Field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import click

from clsum.cli.common import handle_errors
from clsum.eval.options import (
    BOOTSTRAP_MIN_DIFFERING,
    EXACT_MAX_DIFFERING,
    METHODS,
    ScoreOptions,
)
from clsum.eval.scores import jsonable
from clsum.eval.textio import FORMATS

_FILE = click.Path(dir_okay=False, path_type=Path)
_TEST_NAMES = {
    "paired-bootstrap": "paired percentile bootstrap (p < 0.05 exactly when its 95% CI excludes 0)",
    "permutation-exact": "exact paired permutation test (all 2^k swaps of the k differing segments; no CI)",
    "permutation-mc": "paired permutation test over the differing segments (random swaps; no CI)",
    "sacrebleu-paired-bootstrap": "sacrebleu's paired bootstrap (folded deltas; anti-conservative; no CI)",
}


# CLI help where a field's own description (``setting`` doc, YAML-side) says too little.
_HELP = {
    "seed": "Bootstrap / randomization seed.",
    "bootstrap": "Bootstrap resamples (compare: also permutation swaps); 0: no CI in score.",
    "bleu_tokenize": "sacrebleu BLEU tokenizer (default 13a).",
    "lsum_split": "ROUGE-Lsum sentences. auto: a text's own newlines if it has any, else a break after each "
    "PTB ' . ' token when it is PTB-tokenized (CNN/DM: the published way), else pysbd; or force one. "
    "The signature counts which splitter split each side.",
    "rouge_tokenizer": "rouge-score: rouge_score's ASCII-only tokenizer, to reproduce its numbers exactly.",
}


def _field_option(f: Field[Any], hint: Any) -> Callable[[Any], Any]:
    """A ScoreOptions field as an option: its default, its choices (Literal) or range, its help."""
    flag, doc = "--" + f.name.replace("_", "-"), _HELP.get(f.name, f.metadata["doc"])
    if hint is bool:
        return click.option(f"{flag}/--no-{flag[2:]}", default=f.default, show_default=True, help=doc)
    choices = get_args(hint) if get_origin(hint) is Literal else ()
    kind: click.ParamType | None = click.Choice(choices) if choices else None
    if choices and isinstance(choices[0], int):  # chrF word order: a range reads better than 0|1|2
        kind = click.IntRange(min(choices), max(choices))
    return click.option(flag, type=kind, default=f.default, show_default=f.default is not None, help=doc)


def _score_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by score and compare; they become an eval.options.ScoreOptions."""
    hints = get_type_hints(ScoreOptions)
    options = [
        *(_field_option(f, hints[f.name]) for f in reversed(fields(ScoreOptions))),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="auto",
            show_default=True,
            help="Input files: auto (JSONL when .jsonl or the first line is a JSON object), text "
            "(one segment per line, even a line starting with '{'), jsonl.",
        ),
        click.option(
            "--metrics",
            "metric_names",
            multiple=True,
            help="Comma-separated metrics (repeatable). Default: rouge1,rouge2,rougeL,rougeLsum,bleu,chrf "
            "(seconds for hundreds of summaries). Slow, on request only: ter (sacrebleu's pure-Python TER, "
            "about 0.4 s per 50-word segment: minutes for a few hundred summaries), bertscore (a model; "
            "skipped unless installed and cached); comet is always skipped (it is not given source texts).",
        ),
    ]
    for option in options:
        func = option(func)
    return func


def _options(**kw: Any) -> ScoreOptions:
    return ScoreOptions(**{f.name: kw[f.name] for f in fields(ScoreOptions)})


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@click.command("score")
@click.argument("hyp", type=_FILE)
@click.argument("ref", type=_FILE)
@_score_options
@handle_errors
def score_command(hyp: Path, ref: Path, metric_names: tuple[str, ...], as_json: bool, **kw: Any) -> None:
    """Score HYP against REF (JSONL with id/text matched by id, or plain text matched by line)."""
    from clsum.eval.metrics import score
    from clsum.eval.textio import load_aligned

    refs, hyps = load_aligned(ref, hyp, fmt=kw["fmt"])
    results = score(hyps, refs, metric_names or None, _options(**kw))
    if as_json:
        click.echo(json.dumps(results, indent=2, default=jsonable))
        return
    click.echo(f"{'metric':10} {'score':>7} {'95% CI':>17}  signature")
    for name, s in results.items():
        if s.skipped is not None:
            click.echo(f"{name:10} {'skipped':>7} {'':>17}  {s.skipped}")
            continue
        ci = f"[{_fmt(s.ci[0])}, {_fmt(s.ci[1])}]" if s.ci else "-"
        click.echo(f"{name:10} {_fmt(s.score):>7} {ci:>17}  {s.signature}")


@click.command("compare")
@click.argument("hyp_a", metavar="A", type=_FILE)
@click.argument("hyp_b", metavar="B", type=_FILE)
@click.argument("ref", type=_FILE)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default=METHODS[0],
    show_default=True,
    help=f"auto: the paired bootstrap (p and the 95% CI of B-A) when at least {BOOTSTRAP_MIN_DIFFERING} "
    "segments differ, else permutation (or ar): the sign-flip test over the differing segments, exact up to "
    f"k={EXACT_MAX_DIFFERING}, else --bootstrap random swaps, no CI; paired-bootstrap at any k (warns below "
    "its calibrated range); sacrebleu-paired-bootstrap: sacrebleu's folded test, anti-conservative, for its "
    "numbers only. Why, and the calibration study: docs/evaluation.md.",
)
@_score_options
@handle_errors
def compare_command(
    hyp_a: Path, hyp_b: Path, ref: Path, method: str, metric_names: tuple[str, ...], as_json: bool, **kw: Any
) -> None:
    """Is system B better than system A? Per metric: B - A, p-value and the delta's 95% CI."""
    from clsum.eval.metrics import compare
    from clsum.eval.textio import load_aligned

    refs, hyps_a, hyps_b = load_aligned(ref, hyp_a, hyp_b, fmt=kw["fmt"])
    results = compare(hyps_a, hyps_b, refs, metric_names or None, _options(**kw), method)
    if as_json:
        click.echo(json.dumps(results, indent=2, default=jsonable))
        return
    for test in sorted({c.test for c in results.values()}):
        click.echo(f"test ({method}): {_TEST_NAMES[test]}")
    click.echo(f"{kw['bootstrap']} resamples / random swaps, seed {kw['seed']}; k = segments that differ")
    click.echo(
        f"{'metric':10} {'A':>7} {'B':>7} {'B-A':>7} {'p':>7} {'95% CI of B-A':>17} {'k/n':>9}  signature"
    )
    for name, c in results.items():
        ci = f"[{_fmt(c.ci[0])}, {_fmt(c.ci[1])}]" if c.ci is not None else "n/a"
        click.echo(
            f"{name:10} {_fmt(c.score_a):>7} {_fmt(c.score_b):>7} {c.delta:>+7.2f} {c.p_value:>7.4f} "
            f"{ci:>17} {f'{c.differing}/{c.n}':>9}  {c.signature}"
        )
    for name, c in results.items():
        if c.caveat:
            click.echo(f"warning: {name}: {c.caveat}", err=True)
