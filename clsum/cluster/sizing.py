"""How many model actors, and what each reserves, from the config and the cluster's resources."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from clsum.config import Config
from clsum.errors import ConfigError

log = logging.getLogger(__name__)

# CPUs kept free of model actors for the read and write tasks when pools are sized automatically:
# this fraction of the cluster, at least one.
TASK_SHARE = 0.1


@dataclass(frozen=True)
class Pools:
    translate: int  # translation actors
    summarize: int  # summarization actors
    cpus: float  # CPUs each actor reserves
    gpus: float  # GPUs each actor reserves (0: CPU inference)
    memory: int | None  # bytes each actor reserves, None: no reservation
    threads: int  # inference threads in each actor

    def needs(self) -> dict[str, float]:
        actors = self.translate + self.summarize
        return {"CPU": actors * self.cpus, "GPU": actors * self.gpus}

    def to_dict(self) -> dict[str, object]:
        return {
            "translate_actors": self.translate,
            "summarize_actors": self.summarize,
            "cpus_per_actor": self.cpus,
            "gpus_per_actor": self.gpus,
            "memory_per_actor": self.memory,
            "threads_per_actor": self.threads,
        }


def size_pools(config: Config, resources: dict[str, float]) -> Pools:
    """Pool sizes from ``ray.*``; a size of 0 is derived from ``resources`` (``ray.cluster_resources()``).

    GPUs are used when the cluster has them and ``device`` is not cpu (``ray.num_gpus_per_actor``
    unset: a whole GPU per actor, or half of the only one). Automatic sizes split the actor slots
    between the two stages, summarization getting the odd one, at least one each.
    """
    rc = config.ray
    gpus = _gpus_per_actor(config, resources.get("GPU", 0.0))
    if gpus:
        slots = int(resources.get("GPU", 0.0) // gpus)
    else:
        free = resources.get("CPU", 0.0) - max(1.0, TASK_SHARE * resources.get("CPU", 0.0))
        slots = int(max(free, 0.0) // rc.cpus_per_actor)
    translate = rc.translate_actors or max(1, slots // 2)
    summarize = rc.summarize_actors or max(1, slots - translate)
    pools = Pools(
        translate=translate,
        summarize=summarize,
        cpus=rc.cpus_per_actor,
        gpus=gpus,
        memory=int(rc.memory_per_actor_gb * 1024**3) or None,
        threads=config.threads or max(1, math.floor(rc.cpus_per_actor)),
    )
    _warn_if_short(pools, config, resources)
    return pools


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


def _warn_if_short(pools: Pools, config: Config, resources: dict[str, float]) -> None:
    """Actors that do not fit wait for the cluster to grow (an autoscaler may add nodes): say so."""
    for name, needed in pools.needs().items():
        extra = config.ray.task_cpus if name == "CPU" else 0.0
        have = resources.get(name, 0.0)
        if needed + extra > have:
            log.warning(
                "the actor pools need %g %s (%d translate + %d summarize actors) and the read/write tasks "
                "%g, but the cluster has %g: the run waits until Ray can place them",
                needed, name, pools.translate, pools.summarize, extra, have,
            )  # fmt: skip
