"""The one package that talks to the model runtime (torch + transformers, or CTranslate2).

``hub`` finds and loads model files, ``ct2cache`` converts them for CTranslate2, ``backends`` run
them, ``seq2seq`` wraps tokenizer and engine into the one object stages use, and ``models`` loads
what a config names. ``configure_process`` sets the process-wide state the CLI sets once at start.
"""

from __future__ import annotations

from clsum.pipeline.runtime.models import (
    Models,
    backend_options,
    describe,
    download,
    resolve_device,
    seed_everything,
)
from clsum.pipeline.runtime.seq2seq import Seq2Seq

__all__ = [
    "Models",
    "Seq2Seq",
    "backend_options",
    "configure_process",
    "describe",
    "download",
    "resolve_device",
    "seed_everything",
]


def configure_process(threads: int) -> None:
    """Process-wide runtime state, set once by the entry point (the CLI, or a user's script).

    ``threads`` > 0 caps torch's intra-op threads; loading bars of transformers are switched off
    because clsum shows its own progress.
    """
    import torch
    from transformers.utils import logging as hf_logging

    if threads > 0:
        torch.set_num_threads(threads)
    hf_logging.disable_progress_bar()
