"""A Ray cluster of several nodes on this machine, started as an operator starts one (`ray start --head`,
then `ray start --address` for each other node), for tests of the ray engine that need real nodes.

Each node has its own temporary directory (``RAY_TMPDIR``), so nothing else on the machine finds the
cluster by accident (``ray.init()`` reads ``$RAY_TMPDIR/ray/ray_current_cluster``), and the cluster is
ended by killing exactly its own processes (those whose command line names one of those directories):
``ray stop`` would stop every Ray process on the machine, other people's included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

START_TIMEOUT_S = 120


@dataclass
class Cluster:
    address: str  # the head's GCS address, host:port
    root: Path  # every node's temporary directory lives under it
    env: dict[str, str]  # the environment of the head node's `ray start` (RAY_TMPDIR, RAY_AUTH_MODE)
    workers: list[Path] = field(default_factory=list)  # each other node's RAY_TMPDIR

    def processes(self, under: Path | None = None) -> list[psutil.Process]:
        """This cluster's processes (those of one node when ``under`` names its directory)."""
        mark = str(under or self.root)
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if any(mark in part for part in proc.info["cmdline"] or ()):
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def kill_node(self, index: int) -> None:
        """SIGKILL every process of worker node ``index``, as when a machine is lost."""
        _kill(self.processes(self.workers[index]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(procs, timeout=15)


def _ray_start(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "start", *args, "--disable-usage-stats"],
        env=env, check=True, capture_output=True, text=True, timeout=START_TIMEOUT_S,
    )  # fmt: skip


@contextmanager
def local_cluster(node_cpus: list[float], *, auth: str = "disabled", **head_env: str) -> Iterator[Cluster]:
    """A head node with ``node_cpus[0]`` logical CPUs and one more node per further entry; killed at
    the end whatever happens. ``auth``: RAY_AUTH_MODE of every node (Ray 2.59+ turns token
    authentication on for a fresh local cluster unless told otherwise)."""
    root = Path(tempfile.mkdtemp(prefix="clsum-raycluster-", dir="/tmp"))  # short: Ray's socket paths
    env = {**os.environ, "RAY_TMPDIR": str(root / "head"), "RAY_AUTH_MODE": auth, **head_env}
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    cluster = Cluster(address=f"127.0.0.1:{port}", root=root, env=env)
    try:
        (root / "head").mkdir()
        _ray_start(
            ["--head", f"--port={port}", f"--num-cpus={node_cpus[0]}", "--num-gpus=0",
             "--include-dashboard=false", "--node-ip-address=127.0.0.1"],
            env,
        )  # fmt: skip
        for i, cpus in enumerate(node_cpus[1:]):
            node_dir = root / f"node{i}"
            node_dir.mkdir()
            node_env = {**env, "RAY_TMPDIR": str(node_dir)}
            _ray_start(
                [f"--address={cluster.address}", f"--num-cpus={cpus}", "--num-gpus=0",
                 "--node-ip-address=127.0.0.1", f"--temp-dir={node_dir / 'ray'}"],
                node_env,
            )  # fmt: skip
            cluster.workers.append(node_dir)
        _wait_for_nodes(cluster, len(node_cpus))
        yield cluster
    finally:
        _kill(cluster.processes())
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_nodes(cluster: Cluster, nodes: int) -> None:
    """`ray start` returns before a worker node has registered with the head."""
    deadline = time.monotonic() + START_TIMEOUT_S
    script = "import ray; ray.init(); print(sum(n['Alive'] for n in ray.nodes()))"
    while time.monotonic() < deadline:
        out = subprocess.run(
            [sys.executable, "-c", script], env={**cluster.env, "RAY_ADDRESS": cluster.address},
            capture_output=True, text=True, timeout=START_TIMEOUT_S,
        )  # fmt: skip
        if out.stdout.strip().splitlines()[-1:] == [str(nodes)]:
            return
        time.sleep(1)
    raise RuntimeError(f"the local Ray cluster did not reach {nodes} nodes")
