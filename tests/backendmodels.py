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


def padding_sensitive_bart(out_dir: Path) -> Path:
    """A tiny BART for inputs of up to 1024 tokens, sharpened: CTranslate2 int8 decodes some of
    its long inputs differently in a padded batch than alone (on AVX-512 VNNI and on AVX2), so it
    can show whether an output depends on the inputs beside it."""
    from tests import tinymodels

    raw = out_dir.with_name(out_dir.name + "-raw")
    built = tinymodels.build_bart(raw, max_positions=1024, max_new_length=40)
    return sharpen(built, out_dir)
