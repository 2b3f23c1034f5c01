"""``clsum bench``: the command parses options and prints; the bench itself is ``clsum.bench.run``,
imported when the command runs (``clsum --help`` loads no model library)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from clsum.bench import RAY_SYSTEMS, SYSTEMS
from clsum.cli.common import config_options, handle_errors
from clsum.config import unknown
from clsum.errors import OutputError

QUICK_LIMIT = 2  # per language: naive costs ~1 min/article on 2 cores, so this fits in 10 minutes
DEFAULT_LIMIT = 8  # per language: ~10 minutes on 2 cores (the naive loop is most of it)


@click.command("bench")
@click.argument("folder", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--langs", default="de,nl", show_default=True, help="Source languages to benchmark.")
@click.option(
    "--limit", type=int, help=f"Documents per language (default {DEFAULT_LIMIT}, --quick {QUICK_LIMIT})."
)
@click.option(
    "--quick", is_flag=True, help=f"{QUICK_LIMIT} documents per language: about 10 minutes on 2 cores."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("clsum-bench.json"),
    show_default=True,
    help="Where to write the full results.",
)
@click.option(
    "--systems",
    help=f"Systems to run, in order (default: {','.join(SYSTEMS)}; with --engine ray: "
    f"{','.join(['clsum', *RAY_SYSTEMS])}).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    help="ray: the local clsum system against clsum on a Ray instance on this machine, with 1 and "
    "with 2 actors per model stage (needs pip install 'clsum[ray]').",
)
@click.option(
    "--threads", type=int, help="CPU threads for every system (default: config threads, else all cores)."
)
@click.option(
    "--force-lengths/--no-force-lengths",
    default=None,
    help="Force min_length = max_length (default: only for random stand-in models).",
)
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a cProfile summary of each system's timed run into this folder.",
)
@click.option(
    "--invariance",
    is_flag=True,
    help="Instead of timing: run clsum under each variant of the speed-only settings (threads, "
    "batches, cache, prefetch, ray) and count the outputs that differ (docs/reproducibility.md).",
)
@config_options
@handle_errors
def bench_command(
    langs: str,
    limit: int | None,
    quick: bool,
    json_path: Path,
    systems: str | None,
    engine: str,
    overrides: tuple[str, ...],
    verbose: int,
    **same: Any,  # folder, threads, force_lengths, profile_dir, invariance, config_path: as BenchOptions
) -> None:
    """Benchmark clsum against a naive transformers loop and a plain CTranslate2 int8 loop.

    Uses NTREX German and Dutch documents from the data root (or the documents in FOLDER), the
    configured models when they are in the cache and random models of the same architecture
    otherwise. Prints a table, writes JSON; the last line is the speedup summary.
    """
    from clsum.bench.report import BenchReport, to_json
    from clsum.bench.run import BenchOptions, run_bench
    from clsum.pipeline.lock import FolderLock
    from clsum.pipeline.runtime import configure_process

    _check_writable(json_path)  # before any work: a finished measurement must have somewhere to go
    configure_process(0)  # no loading bars; each timed system sets its own threads in its child
    default = ["clsum", *RAY_SYSTEMS] if engine == "ray" else list(SYSTEMS)
    if same["invariance"]:  # the variants say which systems run
        default, systems = ["clsum"], None
    chosen = [s.strip() for s in systems.split(",") if s.strip()] if systems else default
    available = [*SYSTEMS, *RAY_SYSTEMS]
    if not chosen:
        raise click.BadParameter(f"no system given (available: {', '.join(available)})")
    for name in chosen:
        if name not in available:  # the project's one did-you-mean message
            raise click.BadParameter(unknown("system", name, available))
    options = BenchOptions(
        langs=[x.strip() for x in langs.split(",") if x.strip()],
        limit=limit or (QUICK_LIMIT if quick else DEFAULT_LIMIT),
        systems=chosen,
        overrides=list(overrides),
        command=" ".join(["clsum", *sys.argv[1:]]),
        **same,
    )
    # One bench owns its JSON file while it runs, as one summarize run owns its output folder.
    with FolderLock(json_path.parent, json_path.name):
        report = run_bench(options)
        # The table first: whatever happens to the file, the measurement is on the screen.
        click.echo(report.table())
        _write_json(to_json(report), json_path)
    click.echo(f"full results: {json_path}")
    if isinstance(report, BenchReport):
        click.echo(report.summary_line)


def _check_writable(path: Path) -> None:
    folder = path.parent  # Path(".") for a bare file name
    if not folder.is_dir():
        raise OutputError(f"--json {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"--json {path}: cannot write there (permission denied)")


def _write_json(report: object, path: Path) -> None:
    """Written atomically: a full disk leaves no half-written file."""
    from clsum.pipeline.write import write_atomic

    try:
        write_atomic(path, [json.dumps(report, indent=1, ensure_ascii=False) + "\n"])
    except OSError as exc:
        reason = exc.strerror or exc
        raise OutputError(f"cannot write {path}: {reason} (the table above is the result)") from exc
