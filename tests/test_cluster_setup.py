"""The ray engine's setup, without a cluster: actor pools sized from the cluster's resources, and
the one-line error when the ray extra is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.cluster.sizing import size_pools
from clsum.config import load_config
from clsum.errors import ConfigError


def test_cpu_pools_leave_cpus_for_the_read_and_write_tasks() -> None:
    pools = size_pools(load_config(None, ["device=cpu"]), {"CPU": 4.0})
    assert (pools.translate, pools.summarize, pools.cpus, pools.gpus, pools.threads) == (1, 2, 1.0, 0.0, 1)
    big = size_pools(load_config(None, ["ray.cpus_per_actor=4"]), {"CPU": 64.0, "memory": 1e12})
    assert (big.translate, big.summarize, big.threads) == (7, 7, 4)  # (64 - 6.4) // 4 = 14 slots


def test_gpus_are_used_when_the_cluster_has_them() -> None:
    one = size_pools(load_config(), {"CPU": 8.0, "GPU": 1.0})
    assert (one.translate, one.summarize, one.gpus) == (1, 1, 0.5)  # both stages share the one GPU
    eight = size_pools(load_config(None, ["ray.memory_per_actor_gb=2"]), {"CPU": 64.0, "GPU": 8.0})
    assert (eight.translate, eight.summarize, eight.gpus, eight.memory) == (4, 4, 1.0, 2 * 1024**3)
    cpu_only = size_pools(load_config(None, ["device=cpu"]), {"CPU": 8.0, "GPU": 8.0})
    assert cpu_only.gpus == 0.0


def test_explicit_sizes_win_and_a_pool_that_cannot_fit_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(None, ["ray.translate_actors=3", "ray.summarize_actors=5", "threads=2"])
    pools = size_pools(config, {"CPU": 4.0})
    assert (pools.translate, pools.summarize, pools.threads) == (3, 5, 2)
    assert "the actor pools need 8 CPU" in caplog.text and "the cluster has 4" in caplog.text


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
        size_pools(load_config(None, settings), resources)
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
