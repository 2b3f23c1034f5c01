"""The CTranslate2 backend: transformers' generation semantics mapped onto ct2. The HF tokenizer stays
the tokenizer (ids become ct2's token strings and back), so text decodes exactly as with transformers.
``decoding_options``, ``target_prefix`` and ``force_eos`` are the mapping, outside the engine so the
bench's plain CTranslate2 loop decodes with exactly the settings clsum does.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clsum.errors import ModelError
from clsum.pipeline.runtime.generation import banned_sequences, end_ids

log = logging.getLogger(__name__)


def vocabulary(model_dir: Path) -> set[str]:
    """The target vocabulary of a converted model (shared, or the separate target one)."""
    for name in ("shared_vocabulary.json", "target_vocabulary.json"):
        if (model_dir / name).is_file():
            return set(json.loads((model_dir / name).read_text(encoding="utf-8")))
    for name in ("shared_vocabulary.txt", "target_vocabulary.txt"):
        if (model_dir / name).is_file():
            return set((model_dir / name).read_text(encoding="utf-8").splitlines())
    raise ModelError(f"{model_dir} holds no CTranslate2 vocabulary file: delete it to convert again")


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_workers(threads: int) -> tuple[int, int]:
    """(parallel batches, threads each) for ``threads`` CPU cores (0: all of them). Speed only:
    ``Ct2Engine.generate_all`` hands each worker whole batches, formed without looking at either.
    Why several batches at once: docs/performance.md ("Threads"); past 4 workers, cores go to threads.
    """
    cores = max(1, threads or usable_cpus())
    workers = min(cores, 4)
    return workers, max(1, cores // workers)


def ct2_threads(threads: int, device: str) -> tuple[int, int]:
    """(inter_threads, intra_threads) a ``Ct2Engine`` on ``device`` gets: ``cpu_workers`` on a CPU; one
    worker on a GPU, with CTranslate2's own default for the threads (0). The manifest reads it too."""
    return cpu_workers(threads) if device.partition(":")[0] == "cpu" else (1, 0)


class Ct2Engine:
    def __init__(self, model_dir: Path, tokenizer: Any, device: str, compute_type: str, threads: int) -> None:
        import ctranslate2

        kind, _, index = device.partition(":")
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary(model_dir)
        workers, intra = ct2_threads(threads, device)
        self.translator = ctranslate2.Translator(
            str(model_dir),
            device=kind,
            device_index=int(index or 0),
            compute_type=compute_type,
            inter_threads=workers,
            intra_threads=intra,
        )
        self._warned: set[str] = set()

    def generate_all(self, batches: list[list[list[int]]], config: Any) -> Iterator[list[list[int]]]:
        """Every batch submitted at once, whole (ct2 splits a batch only when given a
        ``max_batch_size``): the workers take batches in turn, and a row's batch is the one
        ``Seq2Seq`` formed, whatever the number of workers or threads."""
        tok = self.tokenizer
        options = self.options(config)
        pending = [
            self.translator.translate_batch(
                [tok.convert_ids_to_tokens(ids) for ids in batch],
                target_prefix(config, tok, len(batch)),
                asynchronous=True,
                **options,
            )
            for batch in batches
        ]
        for results in pending:
            outputs = [tok.convert_tokens_to_ids(_wait(r).hypotheses[0]) for r in results]
            yield [force_eos(ids, config, options["max_decoding_length"]) for ids in outputs]

    def options(self, config: Any) -> dict[str, Any]:
        """``decoding_options`` for this engine's tokenizer and vocabulary."""
        self._warn_unsupported(config)
        return decoding_options(config, self.tokenizer, self.vocabulary)

    def _warn_unsupported(self, config: Any) -> None:
        """Settings ct2 cannot follow exactly: said once per engine, in the log."""
        differences = []
        if config.num_beams > 1 and config.early_stopping is not True:
            differences.append(
                f"early_stopping={config.early_stopping!r} (ct2 ends beam search once num_beams "
                "hypotheses are finished, as early_stopping=True does)"
            )
        if config.num_beams > 1 and not config.renormalize_logits:
            differences.append(
                "renormalize_logits=False (ct2 renormalizes after banning tokens, as "
                "renormalize_logits=True does: beam scores differ where tokens are banned)"
            )
        if config.do_sample:
            differences.append("do_sample=True (ct2 samples with its own random generator)")
        for text in differences:
            if text not in self._warned:
                self._warned.add(text)
                log.info("ctranslate2 differs from transformers for %s", text)


def _wait(pending: Any) -> Any:
    """The result of an asynchronous ct2 translation. Polled, not ``result()`` at once: a main thread
    blocked in C++ never runs Python's signal handlers, so SIGTERM or Ctrl-C would wait for the
    whole batch (minutes); between short sleeps the handler runs and a stop lands within ~50 ms."""
    delay = 0.001
    while not pending.done():
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return pending.result()


def decoding_options(config: Any, tokenizer: Any, vocabulary: set[str]) -> dict[str, Any]:
    """A complete transformers ``GenerationConfig`` (``runtime.generation``) as ct2 options.

    transformers' lengths count the decoder start token and ct2's do not, so both are one less; a
    forced first token (``target_prefix``) counts in both. ct2 bans the tokens its ``vocabulary``
    lacks (Marian's ``<pad>``) by construction; the others become suppressed sequences.
    """
    options: dict[str, Any] = {
        "beam_size": config.num_beams,
        "max_decoding_length": max(config.max_length - 1, 1),
        "min_decoding_length": max(config.min_length - 1, 0),
        "no_repeat_ngram_size": config.no_repeat_ngram_size,
        "repetition_penalty": config.repetition_penalty,
        "length_penalty": config.length_penalty,
        "end_token": tokenizer.convert_ids_to_tokens(end_ids(config)),
        "max_input_length": 0,  # inputs were checked against the limit; never truncate silently
        "return_end_token": True,  # kept as transformers keeps it (length penalty counts it too)
    }
    banned = [tokenizer.convert_ids_to_tokens(s) for s in banned_sequences(config)]
    banned = [s for s in banned if all(t in vocabulary for t in s)]
    if banned:
        options["suppress_sequences"] = banned
    if config.do_sample:
        options.update(
            sampling_topk=config.top_k if config.top_k is not None else 50,  # transformers' default
            sampling_topp=config.top_p if config.top_p is not None else 1.0,
            sampling_temperature=config.temperature if config.temperature is not None else 1.0,
        )
    return options


def target_prefix(config: Any, tokenizer: Any, rows: int) -> list[list[str]] | None:
    """transformers' ``forced_bos_token_id`` (BART's ``<s>``) as ct2's target prefix of ``rows``."""
    if config.forced_bos_token_id is None:
        return None
    return [[tokenizer.convert_ids_to_tokens(config.forced_bos_token_id)]] * rows


def force_eos(ids: list[int], config: Any, limit: int) -> list[int]:
    """HF's forced_eos_token_id: a row that reaches the length limit ends with EOS, not a word."""
    eos = config.forced_eos_token_id
    if isinstance(eos, list):
        eos = eos[0] if eos else None
    if eos is not None and len(ids) >= limit and ids[-1] != eos:
        return [*ids[: limit - 1], eos]
    return ids
