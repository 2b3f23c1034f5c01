"""The ray engine's setup, without a cluster: actor pools sized from the cluster's resources, and
the one-line error when the ray extra is not installed."""

from __future__ import annotations

import json
import logging
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.cluster import sizing
from clsum.cluster.sizing import check_fit, fits, size_pools
from clsum.config import load_config
from clsum.errors import ClsumError, ConfigError
from clsum.record import Record
from clsum.runner import record_key


def test_cpu_pools_leave_cpus_for_the_read_and_write_tasks() -> None:
    pools = size_pools(load_config(None, ["device=cpu"]), [{"CPU": 4.0}])
    assert (pools.translate, pools.summarize, pools.cpus, pools.gpus, pools.threads) == (1, 2, 1.0, 0.0, 1)
    big = size_pools(load_config(None, ["ray.cpus_per_actor=4"]), [{"CPU": 64.0, "memory": 1e12}])
    assert (big.translate, big.summarize, big.threads) == (7, 7, 4)  # (64 - 6.4) // 4 = 14 slots


def test_gpus_are_used_when_the_cluster_has_them() -> None:
    one = size_pools(load_config(), [{"CPU": 8.0, "GPU": 1.0}])
    assert (one.translate, one.summarize, one.gpus) == (1, 1, 0.5)  # both stages share the one GPU
    nodes = [{"CPU": 16.0, "GPU": 2.0, "memory": 64 * 1024.0**3}] * 4
    eight = size_pools(load_config(None, ["ray.memory_per_actor_gb=2"]), nodes)
    assert (eight.translate, eight.summarize, eight.gpus, eight.memory) == (4, 4, 1.0, 2 * 1024**3)
    cpu_only = size_pools(load_config(None, ["device=cpu"]), [{"CPU": 8.0, "GPU": 8.0}])
    assert cpu_only.gpus == 0.0


@pytest.mark.parametrize(
    "nodes",
    [
        [{"CPU": 1.0}, {"CPU": 1.0}],  # the probe's 2-node cluster: 2 CPUs + 0.5 asked for before
        [{"CPU": 1.0}],
        [{"CPU": 2.0}],
        [{"CPU": 3.0}],
        [{"CPU": 0.0}, {"CPU": 1.0}, {"CPU": 1.0}],  # a head node that declares no CPU
        [{"CPU": 1.5}] * 5,
        [{"CPU": 4.0, "memory": 2.5 * 1024.0**3}],  # memory, not CPUs, limits the actors
        [{"CPU": 2.0, "GPU": 1.0}, {"CPU": 1.0, "GPU": 1.0}],
    ],
)
def test_automatic_pools_always_fit_the_nodes_as_they_are(nodes: list[dict[str, float]]) -> None:
    config = load_config(None, ["ray.memory_per_actor_gb=1"] if any("memory" in n for n in nodes) else [])
    nodes = [{"memory": 1e15, **n} for n in nodes]
    pools = size_pools(config, nodes)
    assert fits(pools.demands(config.ray.task_cpus), nodes)
    assert pools.translate >= 1 and pools.summarize >= 1
    assert pools.cpus != config.ray.task_cpus  # else Ray Data runs the read step in the translate actors
    check_fit(pools, config, _Cluster([nodes]), own=True)  # returns at once


class _Cluster:
    """What ``check_fit`` asks of Ray: the nodes, each call the next state (the last one stays)."""

    def __init__(self, states: list[list[dict[str, float]]]) -> None:
        self.states = states

    def nodes(self) -> list[dict[str, object]]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return [{"Alive": True, "Resources": node} for node in state]


def test_explicit_sizes_that_cannot_fit_clsums_own_instance_fail_at_once() -> None:
    config = load_config(None, ["ray.translate_actors=3", "ray.summarize_actors=3", "threads=2"])
    pools = size_pools(config, [{"CPU": 3.0}])
    assert (pools.translate, pools.summarize, pools.threads) == (3, 3, 2)  # kept as given
    with pytest.raises(ConfigError) as info:
        check_fit(pools, config, _Cluster([[{"CPU": 3.0}]]), own=True)
    assert str(info.value) == (
        "the actor pools cannot be placed: 3 translate + 3 summarize actors need 6 CPU (plus 0.5 CPU for "
        "a read task), the cluster has 3 CPU on 1 node(s) (CPUs per node: 3); lower ray.translate_actors, "
        "ray.summarize_actors or ray.cpus_per_actor (0 sizes a pool to fit)"
    )


def test_on_a_cluster_that_may_grow_the_run_waits_with_progress_and_a_timeout(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sizing, "WAIT_POLL_S", 0.01)
    caplog.set_level(logging.WARNING, logger="clsum")  # whatever level an earlier CLI test left
    config = load_config(
        None, ["ray.translate_actors=2", "ray.summarize_actors=2", "ray.placement_timeout_s=0.2"]
    )
    pools = size_pools(config, [{"CPU": 2.0}])
    small, grown = [{"CPU": 2.0}], [{"CPU": 2.0}, {"CPU": 4.0}]
    check_fit(pools, config, _Cluster([small, small, grown]), own=False)  # an autoscaler added a node
    assert "waiting for the cluster to grow" in caplog.text
    with pytest.raises(
        ConfigError, match=r"the cluster has 2 CPU on 1 node\(s\).*\(waited 0 s for it to grow\)"
    ):
        check_fit(pools, config, _Cluster([small]), own=False)
    config.ray.placement_timeout_s = 0  # no wait at all
    with pytest.raises(ConfigError, match="cannot be placed"):
        check_fit(pools, config, _Cluster([small]), own=False)


@pytest.mark.parametrize(
    ("settings", "resources", "message"),
    [
        (["device=cpu", "ray.num_gpus_per_actor=1"], {"CPU": 4.0, "GPU": 1.0}, "but device is cpu"),
        (["device=cuda"], {"CPU": 4.0}, "the Ray cluster has no GPUs"),
        (["ray.cpus_per_actor=0"], {"CPU": 4.0}, "ray.cpus_per_actor must be more than 0"),
        (["engine=rya"], {}, "unknown engine 'rya' (did you mean 'ray'?"),
    ],
)
def test_settings_the_cluster_cannot_honour_are_config_errors(
    settings: list[str], resources: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        size_pools(load_config(None, settings), [resources])
    assert message in str(info.value)


def test_without_the_ray_extra_engine_ray_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Het kabinet heeft gisteren een nieuw plan gepresenteerd.\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds when it is not installed
    result = CliRunner().invoke(
        main, ["summarize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--engine", "ray"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "clsum: error: engine ray needs Ray Data, which is not installed: pip install 'clsum[ray]'"
    ]
    assert not (tmp_path / "out").exists()


def test_a_failed_ray_job_is_reported_by_the_exception_that_started_it() -> None:
    from clsum.cluster.lost import root_cause as _root_cause

    # str() of the RayTaskError(UserCodeException) ray 2.60 raises for an exception in a map task
    ray_error = RuntimeError(
        "ray::Map(prepare)() (pid=26468, ip=192.0.2.2)\n"
        '  File "stages.py", line 5, in prepare\n'
        "    raise KeyError('boom inside')\n"
        "KeyError: 'boom inside'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "ray::Map(prepare)() (pid=26468, ip=192.0.2.2)\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block.\n"
        "To change retry attempts, backoff, or which errors are retried, configure ...\n"
    )
    assert _root_cause(ray_error) == "KeyError: 'boom inside'"
    assert _root_cause(RuntimeError("worker died\n")) == "worker died"


class _Plan:
    """A Ray Data plan whose workers die on every document named ``poison*``: what comes back is the
    rows of the batches without one, and Ray Data's log line for each batch it dropped."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []

    def __call__(self, rows: list[dict[str, Any]]) -> Any:
        self.passes.append([row["name"] for row in rows])
        return self

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        executor = logging.getLogger("ray.data._internal.execution.streaming_executor_state")
        for row in (r for r in _rows_of(self.passes[-1])):
            if any(rec.id.startswith("poison") for rec in pickle.loads(row["records"])):
                executor.error(
                    'An exception was raised from a task of operator "MapBatches(Map(Translate))".'
                )
                continue
            yield {"name": row["name"], "written": pickle.dumps([]), "report": pickle.dumps(None)}


_BATCHES: dict[str, dict[str, Any]] = {}


def _rows_of(names: list[str]) -> list[dict[str, Any]]:
    return [_BATCHES[name] for name in names]


def _batch(name: str, ids: list[str]) -> dict[str, Any]:
    records = [Record(id=i, raw="Tekst.") for i in ids]
    row = {"name": name, "identity": "run", "records": pickle.dumps(records)}
    _BATCHES[name] = row
    for i, doc_id in enumerate(ids):  # the rows the driver makes when it splits the batch
        _BATCHES[f"{name}-{i:05d}"] = {
            "name": f"{name}-{i:05d}",
            "identity": "run",
            "records": pickle.dumps([Record(id=doc_id)]),
        }
    return row


def test_a_lost_batch_is_retried_document_by_document_and_a_document_lost_again_is_an_error_row(
    tmp_path: Path,
) -> None:
    ray = pytest.importorskip("ray")
    from clsum.cluster import lost

    plan = _Plan()
    rows = [_batch("r-0", ["a", "b"]), _batch("r-1", ["c", "poison-d", "e"])]
    got = [row["name"] for row in lost.execute(ray, plan, rows, tmp_path)]
    assert plan.passes == [["r-0", "r-1"], ["r-1-00000", "r-1-00001", "r-1-00002"]]
    assert got == ["r-0", "r-1-00000", "r-1-00002", "r-1-00001"]  # the lost document last, written here
    (block,) = (tmp_path / ".clsum-blocks").glob("*.json")
    assert block.name == "r-1-00001.json"  # sorts between its batch partners' blocks
    ((_, line),) = json.loads(block.read_text())["errors.jsonl"]  # (id, row) per row of the file
    error = json.loads(line)
    assert (error["id"], error["stage"]) == ("poison-d", "translate")
    assert error["key"] == record_key("run", Record(id="poison-d", raw="Tekst."))  # the run's identity
    assert error["error"].startswith("the Ray worker died 3 times on it (out of memory")


def test_when_every_batch_is_lost_the_run_stops_with_one_error(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from clsum.cluster import lost

    rows = [_batch("s-0", ["poison-1"]), _batch("s-1", ["poison-2"])]
    every = r"the Ray job lost every batch \(translate: the Ray worker died 3 times on it"
    with pytest.raises(ClsumError, match=every):
        list(lost.execute(ray, _Plan(), rows, tmp_path))
