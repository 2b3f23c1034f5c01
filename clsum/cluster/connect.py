"""Importing Ray (an optional extra) and connecting to a cluster for the length of one run."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clsum.errors import ConfigError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'clsum[ray]'"
CONNECT_TIMEOUT_S = 10


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or a ConfigError saying what to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra is ray[data]; plain ray lacks pandas/pyarrow)
    except ImportError as exc:
        raise ConfigError(f"engine ray needs Ray Data, which is not installed: {INSTALL_HINT}") from exc
    return ray


@contextmanager
def connected(address: str) -> Iterator[Any]:
    """Ray, connected to ``address`` (else $RAY_ADDRESS, else a Ray instance started on this machine).

    A connection the process already has (a notebook's, a test session's) is used as it is and left
    open; one made here is closed at the end. A local instance declares one logical CPU more than the
    machine has: the light read and write tasks then always find a slot beside the model actors.
    """
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        target = address or os.environ.get("RAY_ADDRESS") or None
        if target is not None and target.startswith("ray://"):
            raise ConfigError(
                f"cannot run through Ray Client ({target}): run clsum on a node of the cluster, e.g. "
                "with 'ray job submit', and give it the cluster's address (host:6379) or none"
            )
        quiet = logging.getLogger("clsum").getEffectiveLevel() > logging.WARNING
        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": not quiet,
        }
        if target is None:
            options["num_cpus"] = _usable_cpus() + 1
            log.info("starting a Ray instance on this machine (%d logical CPUs)", options["num_cpus"])
        else:
            _check_reachable(target)
            log.info("connecting to the Ray cluster at %s", target)
        try:
            ray.init(address=target, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {target}: {exc}") from exc
    _quiet_ray_data()
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _check_reachable(address: str) -> None:
    """Fail in seconds on an address nothing listens at; Ray itself retries for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local": Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from exc


def _quiet_ray_data() -> None:
    """Ray Data logs every execution at INFO; clsum shows those only with -v. Its note that its own
    progress bars are off (clsum draws its own) is dropped."""
    verbose = logging.getLogger("clsum").getEffectiveLevel() <= logging.INFO
    logging.getLogger("ray.data").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
