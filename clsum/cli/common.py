"""Shared pieces for click commands: common options, error handling, logging setup.

Every command module of ``clsum.cli`` uses these helpers, so every command fails the same way and
sets process-wide state (logging, inference threads) the same way, once, at its start.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from clsum.config import Config
from clsum.errors import ClsumError

log = logging.getLogger("clsum")

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 2, 3, 130

F = TypeVar("F", bound=Callable[..., Any])


def config_options(func: F) -> F:
    """--config, --set and -v, shared by every command that reads a config."""
    func = click.option("-v", "--verbose", count=True, help="More logging; tracebacks on errors.")(func)
    func = click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config key, e.g. --set summarization.num_beams=2 (repeatable).",
    )(func)
    func = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML config file (default: built-in defaults, see 'clsum config show').",
    )(func)
    return func


def handle_errors(func: F) -> F:
    """Library errors become one line on stderr and exit 2; -v adds the traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.get("verbose", 0)
        try:
            return func(*args, **kwargs)
        except ClsumError as exc:
            if verbose:
                log.exception("details")
            click.echo(f"clsum: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("clsum: interrupted; rerun the same command to resume", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int, quiet: bool = False) -> None:
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else logging.INFO
        if verbose
        else logging.WARNING
    )
    logging.basicConfig(level=level, format="clsum: %(levelname)s: %(message)s", force=True)
    if verbose < 2:  # third-party chatter only at -vv
        for name in ("transformers", "huggingface_hub", "urllib3", "filelock", "trafilatura", "htmldate"):
            logging.getLogger(name).setLevel(max(level, logging.WARNING))


def configure_runtime(config: Config) -> None:
    """Process-wide inference state (torch threads, loading bars), set once before models load."""
    from clsum.pipeline.runtime import configure_process

    configure_process(config.threads)
