"""What the systems decode with: forced output lengths, and the baselines' generation settings.

Lengths here are generated tokens (decoder steps, as the baselines count them); transformers' and
clsum's ``min_length``/``max_length`` count the decoder start token too, hence the ``+ 1``s.
"""

from __future__ import annotations

from dataclasses import dataclass

from clsum.bench.baselines import Decoding, settings_from
from clsum.bench.inputs import Doc
from clsum.bench.models import SUMMARY_TOKENS, BenchModels, forced_translation_length
from clsum.config import Config


@dataclass(frozen=True)
class Lengths:
    """Generated tokens per output when lengths are forced (min_length = max_length)."""

    translation: dict[str, int]  # per language
    summary: int

    def to_dict(self) -> dict[str, object]:
        return {"translation": self.translation, "summary": self.summary}


def forced_lengths(models: BenchModels, docs: list[Doc], summarizer_positions: int) -> Lengths:
    """Random stand-ins carry their own lengths (in their generation_config, which clsum reads too).

    A real translator gets one length from these documents for every language, because clsum takes
    it as one config value (so random stand-ins next to it get it too). A real summarizer gets
    ``SUMMARY_TOKENS``, capped by its positions.
    """
    translators = models.translators.values()
    if all(m.random and m.forced_length for m in translators):
        translation = {lang: m.forced_length or 0 for lang, m in models.translators.items()}
    else:
        common = forced_translation_length([n for d in docs for n in d.unit_tokens])
        translation = dict.fromkeys(models.translators, common)
    summary = models.summarizer.forced_length or min(SUMMARY_TOKENS, summarizer_positions - 2)
    return Lengths(translation, summary)


def clsum_overrides(models: BenchModels, lengths: Lengths) -> list[str]:
    """``--set`` values that force ``lengths`` in clsum where no random model's generation_config does."""
    out = []
    if not all(m.random for m in models.translators.values()):
        length = max(lengths.translation.values()) + 1  # all equal (forced_lengths)
        out += [f"translation.min_length={length}", f"translation.max_length={length}"]
    if not models.summarizer.random:
        length = lengths.summary + 1
        out += [f"summarization.min_length={length}", f"summarization.max_length={length}"]
    return out


def decoding(config: Config, models: BenchModels, lengths: Lengths | None) -> Decoding:
    """The baselines' settings: the model's generation_config, the config on top, then the forced
    lengths."""
    tc, sc = config.translation, config.summarization
    translation = {}
    for lang, m in models.translators.items():
        length = lengths.translation[lang] + 1 if lengths else None
        translation[lang] = settings_from(
            m.path, tc.num_beams, length or tc.max_length, length or tc.min_length
        )
    s_len = lengths.summary + 1 if lengths else None
    summarization = settings_from(
        models.summarizer.path, sc.num_beams, s_len or sc.max_length, s_len or sc.min_length
    )
    translators = {lang: m.path for lang, m in models.translators.items()}
    return Decoding(translators, models.summarizer.path, translation, summarization)
