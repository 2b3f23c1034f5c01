"""The ray engine (``engine: ray``): the local engine's stages and model objects on a Ray cluster.

Ray Data runs the plan: reading, cleaning, language detection and segmentation as tasks, translation
and summarization as pools of actors that each load their models once, and a write task per
document batch that makes the batch durable as one block file (``pipeline.write``), merged into the
same outputs a local run writes. Nothing here imports ``ray`` at import time: without the ``ray``
extra, only running this engine fails, with one line saying what to install.
"""

from clsum.cluster.run import run_on_ray

__all__ = ["run_on_ray"]
