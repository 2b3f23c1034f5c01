"""The ``clsum`` command group and the pipeline's own commands (summarize, config, models); exit
codes: ``common.EXIT_*``, described in docs/outputs.md."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clsum.cli.bench import bench_command
from clsum.cli.check import check_command
from clsum.cli.common import EXIT_PARTIAL, config_options, configure_runtime, handle_errors, quiet_option
from clsum.cli.eval import eval_command
from clsum.cli.score import compare_command, score_command
from clsum.config import ENGINES, load_config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clsum")
def main() -> None:
    """clsum: Dutch and German news in, English summaries out."""


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@click.option("--lang", help="Language of every document (skips detection), e.g. nl.")
@click.option("--force", is_flag=True, help="Redo documents already summarized in OUTPUT.")
@quiet_option
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    help="local (default) or ray: the same run on a Ray cluster (needs pip install 'clsum[ray]').",
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="Ray cluster to run on (default: $RAY_ADDRESS, else this machine).",
)
@config_options
@handle_errors
def summarize(
    input_path: Path,
    output: Path,
    lang: str | None,
    force: bool,
    quiet: bool,
    engine: str | None,
    ray_address: str | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
    verbose: int,
) -> None:
    """Summarize INPUT (a folder, a .txt/.md/.html file, or a JSONL file) into OUTPUT."""
    from clsum.pipeline.ingest import open_source
    from clsum.pipeline.write import OutputStore
    from clsum.runner import Pipeline

    config = load_config(config_path, overrides)
    config.engine = engine or config.engine  # the options win over the config file and --set
    config.ray.address = ray_address or config.ray.address
    if config.engine == "ray":
        from clsum.cluster.connect import import_ray

        import_ray()  # without the extra: one line, before anything is read or created
    if lang is not None and lang != "en" and lang not in config.languages:
        raise click.BadParameter(
            f"no translation model for {lang!r} "
            f"(configured: {', '.join(config.languages)}; en passes through)",
            param_hint="--lang",
        )
    # Before the seconds that loading torch takes: an unusable INPUT, or an OUTPUT that cannot be
    # written or that another run holds, fails at once (the run takes the lock again, for good).
    documents = open_source(input_path, lang=lang, max_bytes=config.input.max_bytes)
    with OutputStore(output).locked():
        pass
    configure_runtime(config)
    show_progress = not quiet and sys.stderr.isatty()
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():
        if config.engine == "ray":
            from clsum.cluster import run_on_ray

            result = run_on_ray(config, documents, output, force=force, progress=show_progress)
        else:
            result = Pipeline(config).run(documents, output, force=force, progress=show_progress)
    message = (
        f"{result.summarized} summarized, {result.skipped} already done, {result.failed} failed "
        f"of {result.total} documents -> {output}{_warnings_note(result.warned, result.warnings)}"
    )
    if not quiet:
        click.echo(message, err=True)
    if not result.ok:
        by_stage = ", ".join(f"{n} in {stage}" for stage, n in sorted(result.failures.items()))
        click.echo(
            f"clsum: {result.failed} document(s) failed ({by_stage}); see {output / 'errors.jsonl'}", err=True
        )
        sys.exit(EXIT_PARTIAL)


def _warnings_note(documents: int, counts: dict[str, int]) -> str:
    """``; 2 with warnings (2 with translations cut at max_length, ...)``: documents, not outputs (nothing
    when there are none)."""
    from clsum.record import warning_text

    if not documents:
        return ""
    parts = []
    for key, n in sorted(counts.items()):
        stage, kind = key.split(" ", 1)
        parts.append(f"{n} with {warning_text(stage, kind, n).split(' ', 1)[1]}")  # n documents
    return f"; {documents} with warnings ({', '.join(parts)}; see 'warnings' in summaries.jsonl)"


@main.group()
def config() -> None:
    """Inspect configuration."""


@config.command("show")
@config_options
@handle_errors
def config_show(config_path: Path | None, overrides: tuple[str, ...], verbose: int) -> None:
    """Print the effective config (defaults + --config + --set) as YAML, with its hash."""
    from clsum.pipeline.runtime import backend_options
    from clsum.pipeline.runtime.backends import check

    cfg = load_config(config_path, overrides)
    check(backend_options(cfg))  # the one check that needs the backends' registry, not the device
    click.echo(f"# config hash: {cfg.hash()}\n{cfg.to_yaml()}", nl=False)


@main.group()
def models() -> None:
    """List or prefetch the configured models."""


@models.command("list")
@config_options
@handle_errors
def models_list(config_path: Path | None, overrides: tuple[str, ...], verbose: int) -> None:
    """Show each configured model, where it resolves from (cache, local dir, hub), the backend and
    precision it runs on, and its generation settings with where each one comes from."""
    from clsum.pipeline.runtime import backend_options, configured_models, describe, describe_generation

    cfg = load_config(config_path, overrides)
    device = "cpu" if cfg.device == "auto" else cfg.device  # listing must not initialise CUDA
    for key, spec, task in configured_models(cfg):
        click.echo(f"{key:26} {spec}\n{'':26} -> {describe(spec, backend_options(cfg), device)}")
        for line in describe_generation(spec, task):
            click.echo(f"{'':26}    {line}")


@models.command("download")
@config_options
@handle_errors
def models_download(config_path: Path | None, overrides: tuple[str, ...], verbose: int) -> None:
    """Fetch every configured model into the Hugging Face cache (for later offline use)."""
    from clsum.pipeline.runtime import backend_options, configured_models, download

    cfg = load_config(config_path, overrides)
    configure_runtime(cfg)
    for key, spec, _ in configured_models(cfg):
        click.echo(f"{key:26} {spec} ... ", nl=False, err=True)
        click.echo(download(spec, backend_options(cfg)))


main.add_command(score_command)
main.add_command(compare_command)
main.add_command(check_command)
main.add_command(eval_command)
main.add_command(bench_command)
