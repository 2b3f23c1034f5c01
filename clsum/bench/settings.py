"""What the systems decode with: forced output lengths, and the baselines' generation settings
(those clsum computes for each model and task, ``clsum.pipeline.runtime.generation``; the forced
lengths reach them as ``--set`` values of the config). Lengths here are generated tokens (decoder
steps, as the baselines count them); ``min_length``/``max_length`` count the decoder start token
too, hence the ``+ 1``s.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from clsum.bench.baselines import Decoding, settings_from
from clsum.bench.inputs import Doc
from clsum.bench.standins.models import SUMMARY_TOKENS, BenchModels, forced_translation_length
from clsum.config import Config
from clsum.pipeline.runtime.models import generation_overrides, summarization_task, translation_task


@dataclass(frozen=True)
class Lengths:
    """Generated tokens per output when lengths are forced (min_length = max_length)."""

    translation: int  # every language: clsum takes it as one config value
    summary: int


def forced_lengths(models: BenchModels, docs: list[Doc], summarizer_positions: int) -> Lengths:
    """One translation length for every language, because clsum takes it as one config value.

    Random stand-ins carry their own (from their tokenizer's training text, all of NTREX for the
    language: a ``--quick`` run decodes what a full one does): the mean of theirs. A real translator
    gets one from these documents. A real summarizer gets ``SUMMARY_TOKENS``, capped by its positions.
    """
    translators = models.translation.values()
    if all(m.random and m.forced_length for m in translators):
        translation = round(statistics.fmean(m.forced_length or 0 for m in translators))
    else:
        translation = forced_translation_length([n for d in docs for n in d.unit_tokens])
    summary = models.summarization.forced_length or min(SUMMARY_TOKENS, summarizer_positions - 2)
    return Lengths(translation, summary)


def clsum_overrides(lengths: Lengths) -> list[str]:
    """``--set`` values that force ``lengths`` in clsum (and, through its config, in the baselines)."""
    sections = (("translation", lengths.translation), ("summarization", lengths.summary))
    return [f"{section}.{bound}_length={n + 1}" for section, n in sections for bound in ("min", "max")]


def decoding(config: Config, models: BenchModels) -> Decoding:
    """The baselines' settings: what clsum, given ``config`` (the clsum system's, forced lengths
    included), decodes each model with, for the same task."""
    overrides = generation_overrides(config)
    translation = {
        lang: settings_from(m.path, translation_task(lang, overrides["translation"]))
        for lang, m in models.translation.items()
    }
    summarization = settings_from(models.summarization.path, summarization_task(overrides["summarization"]))
    translators = {lang: m.path for lang, m in models.translation.items()}
    return Decoding(translators, models.summarization.path, translation, summarization)
