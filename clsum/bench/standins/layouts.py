"""The two file layouts the hub repositories hold checkpoints in, and the settings their authors set.

- ``legacy`` (2020-era uploads, before ``generation_config.json`` existed): generation settings as
  keys of ``config.json`` (distilBART also with the old ``force_bos_token_to_be_generated`` flag),
  no ``generation_config.json``, weights in ``pytorch_model.bin`` only;
- ``modern``: ``generation_config.json`` next to ``config.json``, weights in ``model.safetensors``.

Which hub repositories were updated since cannot be checked from here, so both are built: by the
bench for its random stand-ins of the real models (``models``, legacy) and by the tests'
replicas of every supported family (``tests/replicas.py``, both layouts). Tokenizer files are the
caller's; ``write_tokenizer_config`` writes the ``tokenizer_config.json`` the repositories ship
(with or without ``model_max_length``).

Torch and transformers are imported inside the functions (see ``builders``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

LAYOUTS = ("legacy", "modern")

# What the checkpoints' authors configured (the hub's config.json / generation_config.json).
BART_CNN: dict[str, Any] = {
    "early_stopping": True,
    "length_penalty": 2.0,
    "max_length": 142,
    "min_length": 56,
    "no_repeat_ngram_size": 3,
    "num_beams": 4,
}
PEGASUS_CNN: dict[str, Any] = {"length_penalty": 0.8, "max_length": 128, "num_beams": 8}
# distilbart-cnn-12-6's legacy config.json: the forced BOS as the flag of its time
DISTILBART_LEGACY_EXTRA: dict[str, Any] = {"force_bos_token_to_be_generated": True}


def generation_settings(family: str, layout: str, ids: dict[str, int]) -> dict[str, Any]:
    """The generation settings a ``family`` (marian, bart, pegasus, t5) repository holds in
    ``layout``; ``ids``: its special tokens (``pad``, ``eos``)."""
    if family == "marian":
        legacy = {"num_beams": 4, "max_length": 512, "bad_words_ids": [[ids["pad"]]]}
        modern = {
            **legacy,
            "bos_token_id": ids["eos"],
            "decoder_start_token_id": ids["pad"],
            "eos_token_id": ids["eos"],
            "forced_eos_token_id": ids["eos"],
            "pad_token_id": ids["pad"],
            "renormalize_logits": True,
        }
    elif family == "bart":
        legacy = dict(BART_CNN)
        modern = {
            **BART_CNN,
            "bos_token_id": 0,
            "decoder_start_token_id": 2,
            "eos_token_id": 2,
            "forced_bos_token_id": 0,
            "forced_eos_token_id": 2,
            "pad_token_id": 1,
        }
    elif family == "pegasus":
        legacy = dict(PEGASUS_CNN)
        modern = {**PEGASUS_CNN, "decoder_start_token_id": 0, "eos_token_id": 1, "forced_eos_token_id": 1}
        modern["pad_token_id"] = 0
    else:  # t5: nothing but token ids; its settings are in task_specific_params
        legacy = {}
        modern = {"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0}
    return legacy if layout == "legacy" else modern


def save_checkpoint(
    model: Any,
    out: Path,
    layout: str,
    generation: dict[str, Any],
    task_specific_params: dict[str, dict[str, Any]] | None = None,
    legacy_extra: dict[str, Any] | None = None,
) -> None:
    """``model``'s config.json and weights, and ``generation``, in ``layout``'s files under ``out``.

    config.json holds every key of the model's config, as the hub's files do: ``save_pretrained``
    leaves out values equal to the class defaults (a BART's ``pad_token_id``, for one), which a
    legacy read of the generation settings would then miss. ``legacy_extra``: more config.json keys,
    legacy layout only.
    """
    import torch
    from transformers import GenerationConfig

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="checkpoint-") as tmp:
        model.save_pretrained(tmp)  # config.json + model.safetensors (+ a generation_config.json)
        config = {**model.config.to_dict(), **json.loads((Path(tmp) / "config.json").read_text("utf-8"))}
        if task_specific_params:
            config["task_specific_params"] = task_specific_params
        if layout == "legacy":
            config.update(generation, **(legacy_extra or {}))
            torch.save(model.state_dict(), out / "pytorch_model.bin")
        else:
            shutil.copyfile(Path(tmp) / "model.safetensors", out / "model.safetensors")
            GenerationConfig(**generation).save_pretrained(out)
        (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def write_tokenizer_config(out: Path, base: dict[str, Any] | None, limit: int | None) -> None:
    """tokenizer_config.json: ``base`` with ``model_max_length`` = ``limit`` (None: without the key);
    no file at all when there is neither a base nor a limit."""
    path = out / "tokenizer_config.json"
    if base is None and limit is None:
        path.unlink(missing_ok=True)
        return
    config = {k: v for k, v in (base or {}).items() if k != "model_max_length"}
    if limit is not None:
        config["model_max_length"] = limit
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
