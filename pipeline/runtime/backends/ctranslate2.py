"""The CTranslate2 backend: HF generation semantics mapped onto ct2 (conversions: ``runtime.ct2cache``).

The HF tokenizer stays the tokenizer: ids become token strings for ct2 and its token strings become
ids again, so text is decoded exactly as with transformers. Length limits follow HF semantics (they
count the decoder start token; ct2 does not, but it does count a forced first token given as prefix).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from clsum.errors import ModelError

log = logging.getLogger(__name__)


def _vocabulary(model_dir: Path) -> set[str]:
    """The target vocabulary of a converted model (shared, or the separate target one)."""
    for name in ("shared_vocabulary.json", "target_vocabulary.json"):
        if (model_dir / name).is_file():
            return set(json.loads((model_dir / name).read_text(encoding="utf-8")))
    for name in ("shared_vocabulary.txt", "target_vocabulary.txt"):
        if (model_dir / name).is_file():
            return set((model_dir / name).read_text(encoding="utf-8").splitlines())
    raise ModelError(f"{model_dir} holds no CTranslate2 vocabulary file: delete it to convert again")


def cpu_workers(threads: int) -> tuple[int, int]:
    """(parallel batches, threads each) for ``threads`` CPU cores (0: all of them).

    Beam-search decoding multiplies small matrices, where threads of one batch mostly wait on each
    other: on 2 cores, two batches with one thread each translate ~1.5x faster than one batch with
    two threads (measured with opus-mt-sized models). Past 4 workers, cores go to threads instead.
    """
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, threads or available or 1)
    workers = min(cores, 4)
    return workers, max(1, cores // workers)


class Ct2Engine:
    backend = "ctranslate2"

    def __init__(
        self,
        model_dir: Path,
        tokenizer: Any,
        generation_config: Any,
        device: str,
        compute_type: str,
        threads: int,
    ) -> None:
        import ctranslate2

        kind, _, index = device.partition(":")
        self.compute_type = compute_type
        self.tokenizer = tokenizer
        self.gc = generation_config
        self.vocabulary = _vocabulary(model_dir)
        self.workers, intra = cpu_workers(threads) if kind == "cpu" else (1, 0)
        self.translator = ctranslate2.Translator(
            str(model_dir),
            device=kind,
            device_index=int(index or 0),
            compute_type=compute_type,
            inter_threads=self.workers,
            intra_threads=intra,
        )

    def generate(self, batch: list[list[int]], settings: dict[str, Any]) -> list[list[int]]:
        tok, gc = self.tokenizer, self.gc
        source = [tok.convert_ids_to_tokens(ids) for ids in batch]
        prefix = None
        if gc.forced_bos_token_id is not None:
            prefix = [[tok.convert_ids_to_tokens(gc.forced_bos_token_id)]] * len(batch)
        options = self._options(settings)
        # Split the batch so every worker decodes its share in parallel (ct2 keeps input order).
        options["max_batch_size"] = -(-len(batch) // self.workers)
        results = self.translator.translate_batch(source, prefix, **options)
        outputs = [tok.convert_tokens_to_ids(r.hypotheses[0]) for r in results]
        return [self._force_eos(ids, options["max_decoding_length"]) for ids in outputs]

    def _options(self, settings: dict[str, Any]) -> dict[str, Any]:
        """HF generation settings (overrides over the model's generation_config) as ct2 options."""
        gc = self.gc
        max_length = settings.get("max_length") or gc.max_length or 20
        min_length = settings.get("min_length")
        min_length = gc.min_length or 0 if min_length is None else min_length
        # HF lengths include the decoder start token, ct2 lengths do not: one less for ct2.
        options: dict[str, Any] = {
            "beam_size": settings.get("num_beams") or gc.num_beams or 1,
            "max_decoding_length": max(max_length - 1, 1),
            "min_decoding_length": max(min_length - 1, 0),
            "no_repeat_ngram_size": gc.no_repeat_ngram_size or 0,
            "repetition_penalty": gc.repetition_penalty or 1.0,
            "length_penalty": gc.length_penalty if gc.length_penalty is not None else 1.0,
            "max_input_length": 0,  # inputs were checked against the limit; never truncate silently
            "return_end_token": True,
        }
        # Banned tokens ct2 dropped from its vocabulary (Marian's <pad>) cannot be generated anyway.
        banned = [self.tokenizer.convert_ids_to_tokens(s) for s in gc.bad_words_ids or []]
        banned = [s for s in banned if all(t in self.vocabulary for t in s)]
        if banned:
            options["suppress_sequences"] = banned
        return options

    def _force_eos(self, ids: list[int], limit: int) -> list[int]:
        """HF's forced_eos_token_id: a row that reaches the length limit ends with EOS, not a word."""
        eos = self.gc.forced_eos_token_id
        if isinstance(eos, list):
            eos = eos[0] if eos else None
        if eos is not None and len(ids) >= limit and ids[-1] != eos:
            return [*ids[: limit - 1], eos]
        return ids
