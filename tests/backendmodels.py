"""Tiny models for backend tests whose output depends on their input.

The tiny random BART from ``tinymodels`` writes the same summary for every input (its weights are too
small for the input to matter), so batching bugs could not show. Scaling its weight matrices makes
outputs input-dependent while keeping the same architecture, tokenizer and generation settings.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def sharpen(model_dir: Path, out_dir: Path, factor: float = 10.0) -> Path:
    """A copy of ``model_dir`` with every 2-D weight multiplied by ``factor``. Returns ``out_dir``."""
    import torch
    from transformers import AutoModelForSeq2SeqLM

    shutil.copytree(model_dir, out_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(out_dir)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(factor)
    model.save_pretrained(out_dir)
    return out_dir
