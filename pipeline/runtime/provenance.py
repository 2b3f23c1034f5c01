"""Where a run's numbers came from, for its manifest (docs/reproducibility.md): the CPU's
instruction sets that int8 kernels run on (int8 outputs may differ between CPUs), each model's
resolved backend and precision, workers x threads, and the batch policy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

from clsum.pipeline.runtime.backends.ctranslate2 import cpu_workers

ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "CT2_FORCE_CPU_ISA")
# /proc/cpuinfo flags that pick int8 kernels (VNNI: 8-bit dot products in one instruction)
ISA_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
BATCH_POLICY = (
    "inputs of one token length per batch (no padding), at most batch_size rows and batch_tokens "
    "tokens; each batch decoded whole, batches in parallel over the workers"
)


class CpuIsa(TypedDict):
    flags: list[str] | None  # of ``ISA_FLAGS``; None: /proc/cpuinfo not readable
    env: dict[str, str]  # the ISA settings in the environment


class RunFacts(TypedDict):
    cpu_isa: CpuIsa
    engines: dict[str, dict[str, str | int]]  # per model spec: backend, precision, workers x threads
    batch_policy: str


def proc_field(path: Path, name: str) -> str | None:
    """The value of the first ``name: value`` line of a /proc file (/proc/cpuinfo: the first CPU's),
    None where there is none or the file is not readable."""
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_isa(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuIsa:
    """The ISA flags this CPU has (of ``ISA_FLAGS``) and the ISA settings in the environment."""
    flags = set((proc_field(cpuinfo, "flags") or "").split())
    return CpuIsa(
        flags=[f for f in ISA_FLAGS if f in flags] if flags else None,
        env={name: os.environ[name] for name in ISA_ENV if name in os.environ},
    )


def run_facts(backends: dict[str, dict[str, str]], threads: int, device: str) -> RunFacts:
    """The manifest's ``runtime``: ``backends`` as ``Models.backends`` gives them, each with the
    workers x threads it decodes with on ``device``; the CPU's ISA; the batch policy."""
    engines: dict[str, dict[str, str | int]] = {}
    for spec, choice in backends.items():
        cpu_ct2 = choice["backend"] == "ctranslate2" and device == "cpu"
        workers, each = cpu_workers(threads) if cpu_ct2 else (1, threads)
        engines[spec] = {**choice, "workers": workers, "threads_per_worker": each}
    return RunFacts(cpu_isa=cpu_isa(), engines=engines, batch_policy=BATCH_POLICY)
