"""What every command shares, so that all fail the same way and set process-wide state (logging,
inference threads) the same way, once, at their start: options, error handling, logging setup."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from clsum.config import Config
from clsum.errors import ClsumError, Terminated, WriteError

log = logging.getLogger("clsum")

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL, EXIT_WRITE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 3, 4, 130, 143

F = TypeVar("F", bound=Callable[..., Any])


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars, only errors.")


def config_options(func: F) -> F:
    """--config and --set, shared by every command that reads a config."""
    func = click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config key, e.g. --set summarization.num_beams=2 (repeatable).",
    )(func)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML config file (default: built-in defaults, see 'clsum config show').",
    )(func)


def handle_errors(func: F) -> F:
    """Every command's -v, and its start: logging as -v/-q say. Library errors become one line on
    stderr and exit 2 (4 when writing failed during a run); -v adds the traceback. SIGTERM is handled
    like Ctrl-C, with its own exit code (143 = 128 + 15)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = kwargs.get("verbose", 0)
        setup_logging(verbose, kwargs.get("quiet", False))
        previous = _stop_on_sigterm()
        try:
            return func(*args, **kwargs)
        except ClsumError as exc:
            if verbose:
                log.exception("details")
            click.echo(f"clsum: error: {exc}", err=True)
            sys.exit(EXIT_WRITE if isinstance(exc, WriteError) else EXIT_USAGE)
        except KeyboardInterrupt as exc:
            what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            click.echo(f"clsum: {what}; rerun the same command to resume", err=True)
            sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    verbose_option = click.option("-v", "--verbose", count=True, help="More logging; tracebacks on errors.")
    return verbose_option(wrapper)  # type: ignore[return-value]


def _stop_on_sigterm() -> Any:
    """Turn the first SIGTERM into ``Terminated``, so a run stops as on Ctrl-C: its finished batches
    kept, its manifest saying ``interrupted``. A second SIGTERM kills at once. Returns the handler
    to restore (None where handlers cannot be set: not in the main thread)."""

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:
        return None


def setup_logging(verbose: int, quiet: bool = False) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="clsum: %(levelname)s: %(message)s", force=True)
    if verbose < 2:  # third-party chatter only at -vv
        for name in ("transformers", "huggingface_hub", "urllib3", "filelock"):
            logging.getLogger(name).setLevel(max(level, logging.WARNING))
        # The HTML extractors warn about their own fallbacks ("discarding data: None" when a page
        # has no article body): clsum then extracts with lxml, nothing for the user to act on.
        for name in ("trafilatura", "htmldate", "courlan"):
            logging.getLogger(name).setLevel(max(level, logging.ERROR))
    # Shown as INFO without -v, routine but worth seeing: a one-time conversion that can take a minute.
    notices = logging.getLogger("clsum.pipeline.runtime.ct2cache")
    notices.setLevel(logging.ERROR if quiet else min(level, logging.INFO))


def configure_runtime(config: Config) -> None:
    """Process-wide inference state (torch threads, loading bars), set once before models load; with
    a hub model configured, offline when the hub does not answer (``hub.offline_if_unreachable``)."""
    from clsum.pipeline.runtime import configure_process, configured_models
    from clsum.pipeline.runtime.hub import ModelRef, offline_if_unreachable

    configure_process(config.threads)
    # transformers and huggingface_hub print through handlers of their own and also pass each
    # message on to ours, so every message came twice: theirs go, ours print each one once.
    for name in ("transformers", "huggingface_hub"):
        library = logging.getLogger(name)
        for handler in list(library.handlers):
            library.removeHandler(handler)
        library.propagate = True
    if any(not ModelRef(spec).looks_local for _, spec, _ in configured_models(config)):
        offline_if_unreachable()
