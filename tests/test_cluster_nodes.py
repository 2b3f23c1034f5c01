"""The ray engine on a cluster of two nodes started as an operator starts one (`ray start --head`,
then `ray start --address`), driven through the CLI as a user runs it: pools that fit the nodes as
they are, pools that cannot, joining a running cluster without an address, token authentication,
a quiet terminal, and the loss of a node. Slow: each cluster takes seconds to start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.articles import DE_BODY, NL_BODY

pytest.importorskip("ray", reason="the ray extra (pip install 'clsum[ray]'); CI installs it")

from tests.raycluster import Cluster, local_cluster  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Cluster]:
    """Two nodes of one CPU each: the cluster on which the automatic sizing used to hang."""
    with local_cluster([1, 1]) as cluster:
        yield cluster


def _articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i:02d}.txt").write_text(f"Bericht {i}.\n\n{NL_BODY if i % 2 else DE_BODY}\n")
    return folder


def _summarize(
    cluster: Cluster,
    src: Path,
    out: Path,
    settings: list[str],
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    sets = [a for item in settings for a in ("--set", item)]
    cmd = [sys.executable, "-m", "clsum", "summarize", str(src), "-o", str(out), "--engine", "ray", *sets]
    return subprocess.run([*cmd, *extra], env=env or cluster.env, capture_output=True, text=True, timeout=400)


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def test_automatic_pools_fit_two_one_cpu_nodes_and_the_terminal_shows_only_clsums_lines(
    two_nodes: Cluster, tiny_overrides: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = _summarize(
        two_nodes, _articles(tmp_path / "in", 4), out, tiny_overrides, "--ray-address", two_nodes.address
    )
    assert run.returncode == 0, run.stderr
    # One line: the closing count. Ray's token note and its error-level core_worker lines went to a file.
    (line,) = run.stderr.splitlines()
    assert line.startswith("4 summarized, 0 already done, 0 failed of 4 documents")
    engine = _manifest(out)["engine"]
    assert engine["nodes"] == 2 and engine["translate_actors"] == engine["summarize_actors"] == 1
    assert engine["cpus_per_actor"] == 0.25  # 2 x 1 CPU + 0.5 for a read task cannot fit on 2 CPUs
    assert "core_worker" in (out / "ray.log").read_text()


def test_pools_that_cannot_fit_wait_for_the_cluster_to_grow_then_fail_in_one_line(
    two_nodes: Cluster, tiny_overrides: list[str], tmp_path: Path
) -> None:
    settings = [
        *tiny_overrides,
        "ray.translate_actors=2",
        "ray.summarize_actors=2",
        "ray.placement_timeout_s=6",
    ]
    start = time.monotonic()
    run = _summarize(
        two_nodes,
        _articles(tmp_path / "in", 2),
        tmp_path / "out",
        settings,
        "--ray-address",
        two_nodes.address,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert lines[0].startswith("clsum: WARNING: the actor pools cannot be placed: 2 translate + 2 summarize")
    assert "waiting for the cluster to grow (0 of ray.placement_timeout_s=6 s)" in lines[0]
    assert lines[-1].startswith("clsum: error: the actor pools cannot be placed")
    assert re.search(r"\(waited [67] s for it to grow\)$", lines[-1])
    assert len(lines) <= 3 and time.monotonic() - start < 120
    assert _manifest(tmp_path / "out")["status"] == "failed"


def test_without_an_address_clsum_joins_the_cluster_ray_start_runs_on_this_machine(
    two_nodes: Cluster, tiny_overrides: list[str], tmp_path: Path
) -> None:
    """As ``ray.init()`` does (it used to fail: "num_cpus and num_gpus must not be provided")."""
    assert "RAY_ADDRESS" not in two_nodes.env  # found through $RAY_TMPDIR/ray/ray_current_cluster
    out = tmp_path / "out"
    run = _summarize(two_nodes, _articles(tmp_path / "in", 2), out, tiny_overrides, "-v")
    assert run.returncode == 0, run.stderr
    port = two_nodes.address.rsplit(":", 1)[1]  # Ray records the head by the machine's address
    joined = re.search(r"joining the Ray cluster `ray start` runs on this machine \((\S+)\)", run.stderr)
    assert joined and joined.group(1).endswith(f":{port}"), run.stderr
    engine = _manifest(out)["engine"]
    assert (engine["address"], engine["nodes"]) == (joined.group(1), 2)
    assert "core_worker.cc" in run.stderr and not (out / "ray.log").exists()  # -v: Ray's own lines shown


def test_clsums_own_instance_never_grows_so_sizes_that_cannot_fit_fail_at_once(
    two_nodes: Cluster, tiny_overrides: list[str], tmp_path: Path
) -> None:
    """``--ray-address local``: clsum's own instance, even beside a running cluster."""
    settings = [*tiny_overrides, "ray.translate_actors=200"]
    start = time.monotonic()
    run = _summarize(
        two_nodes, _articles(tmp_path / "in", 1), tmp_path / "out", settings, "--ray-address", "local"
    )
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith(
        "clsum: error: the actor pools cannot be placed: 200 translate + 1 summarize actors"
    )
    assert "on 1 node(s)" in line  # its own: not the two-node cluster
    assert time.monotonic() - start < 90  # no wait: only the start of the instance


def test_a_cluster_with_token_authentication_is_named_as_the_cause_when_the_token_is_missing(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    token = "0123456789abcdef0123456789abcdef"
    with local_cluster([1], auth="token", RAY_AUTH_TOKEN=token) as cluster:
        home = Path(tempfile.mkdtemp(dir=tmp_path))  # no ~/.ray/auth_token of this machine's
        env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")}
        env.update(HOME=str(home))
        src = _articles(tmp_path / "in", 1)
        refused = _summarize(
            cluster, src, tmp_path / "a", tiny_overrides, "--ray-address", cluster.address, env=env
        )
        assert refused.returncode == 2
        (line,) = refused.stderr.splitlines()
        assert line.startswith(f"clsum: error: cannot connect to the Ray cluster at {cluster.address}")
        assert "the cluster refused this process's authentication token: set RAY_AUTH_MODE=token" in line
        # As the docs say: the same mode and token as every node.
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
        ok = _summarize(
            cluster, src, tmp_path / "b", tiny_overrides, "--ray-address", cluster.address, env=env
        )
        assert ok.returncode == 0, ok.stderr


def test_a_lost_node_costs_no_document_and_no_wall_of_ray_messages(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    """The worker node is killed (SIGKILL of all its processes, as a machine that is lost) mid-run:
    its actors and tasks move to the head node, every document is written once."""
    with local_cluster([1, 1]) as cluster:
        src, out = _articles(tmp_path / "in", 16), tmp_path / "out"
        settings = [*tiny_overrides, "doc_batch_size=1"]
        sets = [a for item in settings for a in ("--set", item)]
        cmd = [sys.executable, "-m", "clsum", "summarize", str(src), "-o", str(out), "--engine", "ray", *sets]
        driver = subprocess.Popen(
            [*cmd, "--ray-address", cluster.address], env=cluster.env, stderr=subprocess.PIPE, text=True
        )
        blocks = out / ".clsum-blocks"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and driver.poll() is None:
            if blocks.is_dir() and len(list(blocks.glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert driver.poll() is None, driver.communicate()
        cluster.kill_node(0)
        _, stderr = driver.communicate(timeout=400)
        assert driver.returncode == 0, stderr
        assert len(stderr.splitlines()) <= 3, stderr
        rows = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
        assert sorted(r["id"] for r in rows) == sorted(os.listdir(src))
        assert _manifest(out)["status"] == "complete"
