"""The two reference systems (BENCHMARKS.md, "What is compared"). Both count every decoder step, not
the "non-special" tokens: random weights generate special tokens anywhere, and forced lengths hold
only if both count the same steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from clsum.bench.standins.models import BenchModels
from clsum.config import Config
from clsum.pipeline.runtime import generation, hub
from clsum.pipeline.runtime.generation import GenerationSettings, end_ids, until_end
from clsum.pipeline.runtime.models import configured_models

T = TypeVar("T")


@dataclass
class Decoding:
    """What the baselines run: model directories and each stage's generation settings."""

    translators: dict[str, str]  # lang -> transformers model directory
    summarizer: str
    translation: dict[str, GenerationSettings]  # lang -> settings
    summarization: GenerationSettings

    def by_stage(self, part: Callable[[GenerationSettings], T]) -> ByStage[T]:
        """``part`` of each model's settings (the JSON's ``settings``: their values in transformers'
        terms; ``settings_origins``: where each came from)."""
        return ByStage({lang: part(s) for lang, s in self.translation.items()}, part(self.summarization))


@dataclass(frozen=True)
class ByStage(Generic[T]):
    translation: dict[str, T]  # per source language
    summarization: T


def decoding(config: Config, models: BenchModels) -> Decoding:
    """The baselines' settings: what clsum, given ``config`` (the clsum system's, forced lengths
    included), decodes each model with, for the same task (its config's values included)."""
    tasks = {key: task for key, _, task in configured_models(config)}

    def settings(model_dir: str, key: str) -> GenerationSettings:
        ref = hub.ModelRef(model_dir)
        return generation.resolve(ref, hub.load("config", ref), tasks[key])

    translation = {
        lang: settings(m.path, f"translation.models.{lang}") for lang, m in models.translation.items()
    }
    summarization = settings(models.summarization.path, "summarization.model")
    translators = {lang: m.path for lang, m in models.translation.items()}
    return Decoding(translators, models.summarization.path, translation, summarization)


def _decoded(tokenizer: Any, rows: list[list[int]], config: Any) -> tuple[list[str], list[int]]:
    """Each output's text, and its decoder steps: its tokens (decoder start token removed) up to and
    including the first EOS, so padding after an early EOS is not counted and a forced BOS or EOS is."""
    ends = set(end_ids(config))
    rows = [until_end(row, ends) for row in rows]
    texts = tokenizer.batch_decode(rows, skip_special_tokens=True)
    return [str(t).strip() for t in texts], [len(row) for row in rows]


class NaiveHF:
    """transformers, fp32, one generate() per article and stage: what a user writes from the model
    card, on purpose not clsum's engine (a baseline that moved with clsum would measure nothing)."""

    def __init__(self, model_dir: str) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()

    def generate(self, texts: list[str], settings: GenerationSettings) -> tuple[list[str], list[int]]:
        import torch

        enc = self.tokenizer(
            [settings.prefix + t for t in texts], return_tensors="pt", padding=True, truncation=True
        )
        with torch.inference_mode():
            ids = self.model.generate(**enc, generation_config=settings.config)
        # row[0] is the decoder start token (BART: the EOS id itself), not a generated token
        return _decoded(self.tokenizer, [row.tolist()[1:] for row in ids], settings.config)


class PlainCT2:
    """CTranslate2 int8 (``compute_type``), one translate_batch() per article and stage."""

    def __init__(self, model_dir: str, ct2_dir: Path, threads: int, compute_type: str = "int8") -> None:
        import ctranslate2
        from transformers import AutoTokenizer

        from clsum.pipeline.runtime.backends.ctranslate2 import vocabulary

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.translator = ctranslate2.Translator(
            str(ct2_dir), device="cpu", compute_type=compute_type, intra_threads=threads, inter_threads=1
        )
        self.vocabulary = vocabulary(ct2_dir)

    def options(self, settings: GenerationSettings) -> dict[str, Any]:
        """``settings`` as CTranslate2 options, mapped as clsum's CTranslate2 engine maps them."""
        from clsum.pipeline.runtime.backends.ctranslate2 import decoding_options

        return decoding_options(settings.config, self.tokenizer, self.vocabulary)

    def generate(self, texts: list[str], settings: GenerationSettings) -> tuple[list[str], list[int]]:
        from clsum.pipeline.runtime.backends.ctranslate2 import force_eos, target_prefix

        config, tok = settings.config, self.tokenizer
        limit = tok.model_max_length
        sources = [
            tok.convert_ids_to_tokens(tok.encode(settings.prefix + t, truncation=True, max_length=limit))
            for t in texts
        ]
        options = self.options(settings)
        prefix = target_prefix(config, tok, len(sources))
        rows = []
        for result in self.translator.translate_batch(sources, prefix, **options):
            ids = cast(list[int], tok.convert_tokens_to_ids(result.hypotheses[0]))
            rows.append(force_eos(ids, config, options["max_decoding_length"]))
        return _decoded(tok, rows, config)
