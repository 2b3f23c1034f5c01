"""The one package that talks to the model runtime (torch + transformers, or CTranslate2).

``hub`` finds and loads model files, ``ct2cache`` converts them for CTranslate2, ``generation``
computes each model's generation settings (and where each came from), ``backends`` run them,
``seq2seq`` wraps tokenizer and engine into the one object stages use, ``outputs`` flags degenerate
outputs, ``models`` loads what a config names, and ``provenance`` says where numbers came from
(CPU ISA, workers x threads, batch policy). ``configure_process`` sets the process-wide
state the CLI sets once at start.
"""

from __future__ import annotations

from clsum.pipeline.runtime.generation import GenerationSettings, Task
from clsum.pipeline.runtime.models import (
    Models,
    backend_options,
    configured_models,
    describe,
    describe_generation,
    download,
    generation_overrides,
    resolve_device,
    seed_everything,
    summarization_task,
    translation_task,
)
from clsum.pipeline.runtime.outputs import FLAGS, MAX_LENGTH, REPETITION, Output
from clsum.pipeline.runtime.provenance import run_facts
from clsum.pipeline.runtime.seq2seq import Seq2Seq

__all__ = [
    "FLAGS",
    "MAX_LENGTH",
    "REPETITION",
    "GenerationSettings",
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
    "generation_overrides",
    "resolve_device",
    "run_facts",
    "seed_everything",
    "summarization_task",
    "translation_task",
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
