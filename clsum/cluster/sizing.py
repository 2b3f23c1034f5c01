"""How many model actors, and what each reserves, from the config and the cluster's nodes; and the
check that they can be placed at all, before Ray Data is asked to (it would wait for ever)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import astuple, dataclass, replace
from typing import Any

from clsum.config import Config
from clsum.errors import ConfigError

log = logging.getLogger(__name__)

# CPUs kept free of model actors for the read and write tasks when pools are sized automatically:
# this fraction of the cluster, at least one (fewer when the cluster is smaller than that allows).
TASK_SHARE = 0.1
# The smallest share of a CPU an automatically sized actor reserves on a cluster too small for
# ``ray.cpus_per_actor`` (Ray's resource granularity is 0.0001).
MIN_ACTOR_CPUS = 0.01
WAIT_POLL_S = 5.0  # how often a wait for the cluster to grow looks again
WAIT_REPORT_S = 30.0  # how often that wait says so

Node = dict[str, float]  # one alive node's resources ("CPU", "GPU", "memory")


@dataclass(frozen=True)
class Pools:
    translate: int  # translation actors
    summarize: int  # summarization actors
    cpus: float  # CPUs each actor reserves
    gpus: float  # GPUs each actor reserves (0: CPU inference)
    memory: int | None  # bytes each actor reserves, None: no reservation
    threads: int  # inference threads in each actor

    def demands(self, task_cpus: float) -> list[Node]:
        """What Ray must place at once: every actor, and one read task beside them."""
        actor = {"CPU": self.cpus, "GPU": self.gpus, "memory": float(self.memory or 0)}
        return [actor] * (self.translate + self.summarize) + [{"CPU": task_cpus, "GPU": 0.0, "memory": 0.0}]

    def to_dict(self) -> dict[str, object]:
        """The fields under the names of the ``ray.*`` keys that set them (and ``threads_per_actor``)."""
        names = ("translate_actors", "summarize_actors", "cpus_per_actor", "gpus_per_actor")
        return dict(zip((*names, "memory_per_actor", "threads_per_actor"), astuple(self), strict=True))


def size_pools(config: Config, nodes: list[Node]) -> Pools:
    """Pool sizes from ``ray.*``; a size of 0 is derived from the alive ``nodes``' resources and
    always fits them (docs/scaling.md, "Sizing the actor pools"); sizes given are kept (``check_fit``)."""
    rc = config.ray
    total = _total(nodes)
    gpus = _gpus_per_actor(config, total.get("GPU", 0.0))
    if gpus:
        slots = int(total.get("GPU", 0.0) // gpus)
    else:
        free = total.get("CPU", 0.0) - max(1.0, TASK_SHARE * total.get("CPU", 0.0))
        slots = int(max(free, 0.0) // rc.cpus_per_actor)
    translate = rc.translate_actors or max(1, slots // 2)
    pools = Pools(
        translate=translate,
        summarize=rc.summarize_actors or max(1, slots - translate),
        cpus=rc.cpus_per_actor,
        gpus=gpus,
        memory=int(rc.memory_per_actor_gb * 1024**3) or None,
        threads=config.threads or max(1, math.floor(rc.cpus_per_actor)),
    )
    if rc.translate_actors and rc.summarize_actors:
        return pools
    return _shrink_to_fit(pools, config, nodes)


def _shrink_to_fit(pools: Pools, config: Config, nodes: list[Node]) -> Pools:
    """The automatic pool(s) one actor smaller at a time until everything fits; at one actor each,
    a smaller CPU reservation per actor (its inference threads stay) when both sizes are automatic."""
    rc, task = config.ray, config.ray.task_cpus
    while not fits(pools.demands(task), nodes):
        if not rc.summarize_actors and pools.summarize > max(1, pools.translate):
            pools = replace(pools, summarize=pools.summarize - 1)
        elif not rc.translate_actors and pools.translate > 1:
            pools = replace(pools, translate=pools.translate - 1)
        elif not rc.summarize_actors and pools.summarize > 1:
            pools = replace(pools, summarize=pools.summarize - 1)
        else:
            break
    cpus = pools.cpus
    if rc.translate_actors or rc.summarize_actors:
        return pools  # sizes set by the user: their CPUs stay as set too (check_fit says if they fit)
    while cpus / 2 >= MIN_ACTOR_CPUS and (
        cpus == task or not fits(replace(pools, cpus=cpus).demands(task), nodes)
    ):  # never equal to task_cpus: Ray Data would run the read step inside the translate actors
        cpus = round(cpus / 2, 4)
    if cpus != pools.cpus and fits(replace(pools, cpus=cpus).demands(task), nodes):
        log.info(
            "the cluster has %g CPU(s): each actor reserves %g CPU instead of ray.cpus_per_actor=%g, so "
            "that both pools and a read task fit", _total(nodes).get("CPU", 0.0), cpus, pools.cpus,
        )  # fmt: skip
        pools = replace(pools, cpus=cpus)
    return pools


def check_fit(pools: Pools, config: Config, cluster: Any, own: bool) -> None:
    """Return once the cluster can place every actor and a read task at once. clsum's own instance
    never grows: pools that do not fit fail at once. Another cluster may (an autoscaler adds nodes
    on request): wait up to ``ray.placement_timeout_s``, saying so every ``WAIT_REPORT_S``."""
    demands = pools.demands(config.ray.task_cpus)
    nodes = alive_nodes(cluster)
    if fits(demands, nodes):
        return
    if own or config.ray.placement_timeout_s <= 0:
        raise ConfigError(_cannot_fit(pools, config, nodes))
    _request(cluster, demands)
    started = reported = time.monotonic()
    while not fits(demands, nodes):
        waited = time.monotonic() - started
        if waited >= config.ray.placement_timeout_s:
            raise ConfigError(f"{_cannot_fit(pools, config, nodes)} (waited {waited:.0f} s for it to grow)")
        if time.monotonic() - reported >= WAIT_REPORT_S or reported == started:
            log.warning(
                "%s; waiting for the cluster to grow (%.0f of ray.placement_timeout_s=%g s)",
                _cannot_fit(pools, config, nodes), waited, config.ray.placement_timeout_s,
            )  # fmt: skip
            reported = time.monotonic()
        time.sleep(max(0.0, min(WAIT_POLL_S, config.ray.placement_timeout_s - waited)))
        nodes = alive_nodes(cluster)


def alive_nodes(cluster: Any) -> list[Node]:
    """Each alive node's resources (``ray.nodes()``), the ones that placement depends on."""
    return [
        {name: float(node["Resources"].get(name, 0.0)) for name in ("CPU", "GPU", "memory")}
        for node in cluster.nodes()
        if node.get("Alive")
    ]


def fits(demands: list[Node], nodes: list[Node]) -> bool:
    """Whether every demand can be placed on some node at once (first fit, largest demand first: a
    sound check for the few identical actors and one small task placed here)."""
    free = [dict(node) for node in nodes]
    for demand in sorted(demands, key=lambda d: (d["GPU"], d["CPU"], d["memory"]), reverse=True):
        for node in free:
            if all(node.get(name, 0.0) + 1e-9 >= amount for name, amount in demand.items()):
                for name, amount in demand.items():
                    node[name] = node.get(name, 0.0) - amount
                break
        else:
            return False
    return True


def _cannot_fit(pools: Pools, config: Config, nodes: list[Node]) -> str:
    actors = pools.translate + pools.summarize
    total, needs = _total(nodes), {"CPU": actors * pools.cpus, "GPU": actors * pools.gpus}
    kinds = ("CPU", "GPU") if needs["GPU"] else ("CPU",)
    what, has = (" and ".join(f"{d.get(k, 0.0):g} {k}" for k in kinds) for d in (needs, total))
    per_node = ", ".join(f"{n.get('CPU', 0.0):g}" for n in nodes)
    return (
        f"the actor pools cannot be placed: {pools.translate} translate + {pools.summarize} summarize "
        f"actors need {what} (plus {config.ray.task_cpus:g} CPU for a read task), the cluster has {has} "
        f"on {len(nodes)} node(s) (CPUs per node: {per_node}); lower ray.translate_actors, "
        "ray.summarize_actors or ray.cpus_per_actor (0 sizes a pool to fit)"
    )


def _request(cluster: Any, demands: list[Node]) -> None:
    """Ask an autoscaler, if the cluster has one, for what the pools need (a no-op without one)."""
    try:
        from ray.autoscaler.sdk import request_resources

        bundles = [{k: v for k, v in d.items() if v and k != "memory"} for d in demands]
        request_resources(bundles=bundles)
    except Exception as exc:  # an old or unusual cluster: waiting still works without it
        log.debug("could not ask the autoscaler for resources: %s", exc)


def _total(nodes: list[Node]) -> Node:
    return {name: sum(node.get(name, 0.0) for node in nodes) for name in ("CPU", "GPU", "memory")}


def _gpus_per_actor(config: Config, cluster_gpus: float) -> float:
    wanted = config.ray.num_gpus_per_actor
    if config.device == "cpu":
        if wanted:
            raise ConfigError(f"ray.num_gpus_per_actor is {wanted} but device is cpu")
        return 0.0
    if wanted is not None:
        return wanted
    if cluster_gpus <= 0:
        if config.device.startswith("cuda"):
            raise ConfigError(f"device is {config.device} but the Ray cluster has no GPUs")
        return 0.0
    return min(1.0, cluster_gpus / 2)
