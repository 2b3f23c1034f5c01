"""The one package that talks to the model runtime (torch + transformers, or CTranslate2): what each
module does is in docs/architecture.md ("Layers", "The runtime boundary")."""

from __future__ import annotations

from clsum.pipeline.runtime.generation import Task
from clsum.pipeline.runtime.models import (
    Models,
    backend_options,
    configured_models,
    describe,
    describe_generation,
    download,
    resolve_device,
    run_facts,
    seed_everything,
)
from clsum.pipeline.runtime.seq2seq import Output, Seq2Seq

__all__ = [
    "Models",
    "Output",
    "Seq2Seq",
    "Task",
    "backend_options",
    "configure_process",
    "configured_models",
    "describe",
    "describe_generation",
    "download",
    "resolve_device",
    "run_facts",
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
