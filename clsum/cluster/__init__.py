"""The ray engine (``engine: ray``, docs/scaling.md). Nothing here imports ``ray`` at import time:
without the ``ray`` extra, only running this engine fails, with one line saying what to install."""

from clsum.cluster.run import run_on_ray

__all__ = ["run_on_ray"]
