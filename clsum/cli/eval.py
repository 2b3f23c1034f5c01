"""``clsum eval``: run a benchmark config and write report.json, report.md and report.html."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clsum.cli.common import EXIT_PARTIAL, config_options, configure_runtime, handle_errors, quiet_option


@click.command("eval")
@click.argument("benchmark", required=False)
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), help="Run folder for the reports."
)
@click.option("--systems", help="Comma-separated system names to run (default: all in the config).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N segments/documents.")
@click.option("--list", "list_", is_flag=True, help="List the shipped benchmark configs and exit.")
@quiet_option
@config_options
@handle_errors
def eval_command(
    benchmark: str | None,
    output: Path | None,
    systems: str | None,
    limit: int | None,
    list_: bool,
    quiet: bool,
    config_path: Path | None,
    overrides: tuple[str, ...],
    verbose: int,
) -> None:
    """Run BENCHMARK (a YAML file, or the name of a shipped one: see --list) into -o RUN_DIR.

    Every model the chosen systems need is loaded first. Exit status: 0 when every system ran on
    every document, 3 when any document failed (scores then stand on the documents that succeeded;
    report.md/html list the failures), 2 on errors.
    """
    from clsum.eval.benchmark import load_benchmark, shipped_configs

    if list_:
        for name, path in shipped_configs().items():
            cfg = load_benchmark(path)
            first = cfg.description.strip().splitlines()[0] if cfg.description.strip() else ""
            click.echo(f"{name:22} {first}")
        return
    if benchmark is None or output is None:
        raise click.UsageError("give a BENCHMARK and -o RUN_DIR (or --list)")
    from clsum.eval.harness import pipeline_config, run_benchmark

    cfg = load_benchmark(benchmark)
    names = [s.strip() for s in systems.split(",") if s.strip()] if systems else None
    for name in names or []:
        cfg.system(name)  # unknown names fail before any work
    config = pipeline_config(cfg, config_path, overrides)
    configure_runtime(config)
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():
        report = run_benchmark(
            cfg, output, systems=names, limit=limit, config=config, progress=not quiet and sys.stderr.isatty()
        )
    failed = {name: r for name, r in report.systems.items() if r.failures}
    if not quiet:
        for name, result in report.systems.items():
            scores = ", ".join(
                f"{m} {s.score:.2f}" if s.score is not None else f"{m} n/a" for m, s in result.scores.items()
            )
            click.echo(f"{name:28} {scores} (scored {len(result.scored)}/{result.total})", err=True)
        click.echo(f"report: {output / 'report.html'}", err=True)
    if failed:
        counts = ", ".join(f"{name} {len(r.failures)} of {r.total}" for name, r in failed.items())
        click.echo(f"clsum: documents failed ({counts}); see {output / 'report.md'}", err=True)
        sys.exit(EXIT_PARTIAL)
