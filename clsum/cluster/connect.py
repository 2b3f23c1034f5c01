"""Importing Ray (an optional extra) and connecting to a cluster for the length of one run."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clsum.errors import ConfigError
from clsum.pipeline.runtime.backends.ctranslate2 import usable_cpus
from clsum.pipeline.runtime.hub import one_line

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'clsum[ray]'"
CONNECT_TIMEOUT_S = 10
RAY_LOG = "ray.log"  # in the output folder: what Ray itself prints during a run (without -v)
# Words in a failed connection's message that mean the cluster refused this process's token.
_AUTH_SIGNS = ("InvalidAuthToken", "Unauthenticated", "AuthenticationError", "authentication token")


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or a ConfigError saying what to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra is ray[data]; plain ray lacks pandas/pyarrow)
    except ImportError as exc:
        raise ConfigError(f"engine ray needs Ray Data, which is not installed: {INSTALL_HINT}") from exc
    return ray


@contextmanager
def connected(address: str, log_dir: Path | None = None) -> Iterator[tuple[Any, bool]]:
    """The ``ray`` module connected to the cluster docs/scaling.md ("Which cluster") describes, and
    whether clsum started that instance itself (then it can never grow). A connection the process
    already has (a notebook's, a test session's) is used as it is and left open; one made here is
    closed at the end. Without -v, what Ray prints goes to ``log_dir/ray.log``."""
    ray = import_ray()
    verbose = logging.getLogger("clsum").getEffectiveLevel() <= logging.INFO
    ray_log = None if verbose or log_dir is None else log_dir / RAY_LOG
    with ray_output_to(ray_log):
        started = not ray.is_initialized()
        own = started and _init(ray, address, verbose, ray_log)
        # Ray Data logs every execution at INFO: shown with -v only. Its note that its own progress
        # bars are off (clsum draws its own) is dropped.
        logging.getLogger("ray.data").setLevel(logging.INFO if verbose else logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        try:
            yield ray, own
        finally:
            if started:
                ray.shutdown()


def _init(ray: Any, address: str, verbose: bool, ray_log: Path | None) -> bool:
    """``ray.init`` for a run; True when it started an instance of its own."""
    target = address or os.environ.get("RAY_ADDRESS") or _running_here()
    if target is not None and target.startswith("ray://"):
        raise ConfigError(
            f"cannot run through Ray Client ({target}): run clsum on a node of the cluster, e.g. "
            "with 'ray job submit', and give it the cluster's address (host:6379) or none"
        )
    own = target in (None, "local")
    cpus = None  # a cluster's own
    if target is None or own:
        target = "local"  # never an instance found some other way
        cpus = usable_cpus() + 1  # the light read and write tasks always find a slot beside the actors
        log.info("starting a Ray instance on this machine (%d logical CPUs)", cpus)
    else:
        _check_reachable(target)
        log.info("connecting to the Ray cluster at %s", target)
    stop_handler = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(
            address=target,
            num_cpus=cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=verbose,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(_cannot_connect(target, exc, ray_log)) from exc
    finally:
        # ray.init installs its own SIGTERM handler (exit status 15 and a C++ stack dump): the
        # caller's stays, so that a SIGTERM stops a ray run as it stops a local one. None: a
        # handler set outside Python; not the main thread: nor could the caller set one.
        if stop_handler is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, stop_handler)
    return own


def _running_here() -> str | None:
    """The address of the cluster `ray start` runs on this machine, if one does (what ``ray.init()``
    joins), reachable; None when there is none."""
    try:
        from ray._private.services import find_bootstrap_address  # what ray.init() reads
    except ImportError:
        return None
    found = find_bootstrap_address(None)
    if not found:
        return None
    try:
        _check_reachable(found)
    except ConfigError:
        log.info("the Ray cluster last started on this machine (%s) is gone; starting an own instance", found)
        return None
    log.info("joining the Ray cluster `ray start` runs on this machine (%s)", found)
    return str(found)


def _cannot_connect(target: str, exc: Exception, ray_log: Path | None) -> str:
    """One line. Ray's own message does not say why (its connection attempts were refused for a
    missing or wrong token, Ray 2.52+); what Ray printed meanwhile into ``ray_log`` does."""
    text = one_line(exc, 300)
    try:
        said = ray_log.read_bytes()[-20_000:].decode("utf-8", "replace") if ray_log else ""
    except OSError:
        said = ""
    line = f"cannot connect to the Ray cluster at {target}: {text}"
    setup = "RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token)"
    if any(sign in f"{text} {said}" for sign in _AUTH_SIGNS):
        line += f"; the cluster refused this process's authentication token: set {setup} as on every node"
    elif os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        line += f"; if the cluster uses token authentication, set {setup}"
    return line


def _check_reachable(address: str) -> None:
    """Fail in seconds on an address nothing listens at; Ray itself retries for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto": Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from exc


@contextmanager
def ray_output_to(path: Path | None) -> Iterator[None]:
    """Send what is written to file descriptor 2 (Ray's C++ core and its Python loggers write there:
    token notes, actor restarts, a lost node's dozens of lines) to ``path``, while clsum's own log
    lines and progress bars keep the terminal. ``path`` None: nothing changes. The file is removed
    if nothing was written to it; else one line at INFO names it."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 2)
    os.close(target)
    stderr, sys.stderr = sys.stderr, terminal
    handlers = [
        h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler) and h.stream is stderr
    ]
    for handler in handlers:
        handler.setStream(terminal)
    try:
        yield
    finally:
        stderr.flush()
        os.dup2(terminal.fileno(), 2)
        for handler in handlers:
            handler.setStream(stderr)
        sys.stderr = stderr
        terminal.close()
        _announce(path)


def _announce(path: Path) -> None:
    try:
        lines = sum(1 for _ in path.open("rb"))
        if not lines:
            path.unlink()
    except OSError:
        return
    if lines:
        log.info("Ray's own messages: %d line(s) in %s", lines, path)
