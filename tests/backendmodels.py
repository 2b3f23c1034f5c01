"""Tiny models for backend tests whose output depends on their input, and what an engine applies.

The tiny random BART from ``tinymodels`` writes the same summary for every input (its weights are too
small for the input to matter), so batching bugs could not show. Scaling its weight matrices makes
outputs input-dependent while keeping the same architecture, tokenizer and generation settings.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from clsum.pipeline.runtime import Seq2Seq
from clsum.pipeline.runtime.generation import DECODING, banned_sequences


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


# --- what each engine really decodes with -------------------------------------------------------

# The decoding settings both engines apply, in transformers' terms: the ones every model gets a
# value for, and the end token.
APPLIED = (*DECODING, "eos_token_id")


def applied_settings(model: Seq2Seq, config: Any) -> dict[str, Any]:
    """The decoding settings ``model``'s engine passes to its library for ``config``, read back into
    transformers' terms (``hf_terms``), so the two backends can be compared setting by setting."""
    engine: Any = model.engine
    if model.backend == "transformers":
        prepared, _ = engine.model._prepare_generation_config(config)
        return hf_terms(
            {**{n: getattr(prepared, n) for n in APPLIED}, "bad_words_ids": banned_sequences(prepared)}
        )
    options, tok = engine.options(config), engine.tokenizer
    suppressed = [tok.convert_tokens_to_ids(s) for s in options.get("suppress_sequences", [])]
    unreachable = [
        s
        for s in banned_sequences(config)
        if not all(t in engine.vocabulary for t in tok.convert_ids_to_tokens(s))
    ]
    return hf_terms(
        {
            "num_beams": options["beam_size"],
            "max_length": options["max_decoding_length"] + 1,
            "min_length": options["min_decoding_length"] + 1,
            "length_penalty": options["length_penalty"],
            "no_repeat_ngram_size": options["no_repeat_ngram_size"],
            # ct2 ends beam search once beam_size hypotheses are finished (its patience 1), and
            # bans tokens before its softmax, so what is left always sums to one
            "early_stopping": True,
            "renormalize_logits": True,
            "repetition_penalty": options["repetition_penalty"],
            "do_sample": "sampling_topk" in options,
            "forced_bos_token_id": config.forced_bos_token_id,  # as the target prefix
            "forced_eos_token_id": config.forced_eos_token_id,  # by ``force_eos``
            "bad_words_ids": [list(s) for s in suppressed + unreachable],
            "eos_token_id": tok.convert_tokens_to_ids(options["end_token"]),
        }
    )


def hf_terms(values: dict[str, Any]) -> dict[str, Any]:
    """One spelling for settings that mean the same: ``min_length`` 0 and 1 both allow an end token
    right after the decoder start token; one end token is a list of one; banned sequences
    (``banned_sequences``) one sorted list; floats are floats."""
    out = dict(values)
    out["bad_words_ids"] = sorted(out["bad_words_ids"] or []) or None
    out["min_length"] = max(int(out["min_length"]), 1)
    eos = out["eos_token_id"]
    out["eos_token_id"] = sorted(eos) if isinstance(eos, list) else [eos]
    for name in ("length_penalty", "repetition_penalty"):
        out[name] = float(out[name])
    out["renormalize_logits"] = bool(out["renormalize_logits"])
    if out["num_beams"] == 1:  # greedy search: no beams to stop, and renormalizing changes no choice
        out["early_stopping"] = out["renormalize_logits"] = None
    return out
