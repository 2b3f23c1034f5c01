"""Benchmark models: the configured ones when they load, else random ones of the published size
(BENCHMARKS.md, "Models"). Forced lengths count decoder steps, as the baselines do;
``min_length``/``max_length`` count the decoder start token too, hence the ``+ 1``s."""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path

from clsum.bench.standins.builders import (
    ModelSpec,
    TokenizerSpec,
    bart_tokenizer,
    english_corpus,
    marian_tokenizer,
    random_model,
    save_checkpoint,
)
from clsum.config import Config
from clsum.errors import ModelError

log = logging.getLogger(__name__)

CACHE_ENV = "CLSUM_BENCH_CACHE"
META_FILE = "clsum_bench.json"  # written into every random model directory
BUILD_FORMAT = 4  # bumped when the builder's output changes: cached random models are rebuilt
SUMMARY_TOKENS = 64  # forced summary length for random summarizers (distilbart-cnn writes ~56-142)
TRANSLATION_LENGTH_FACTOR = 1.1  # forced translation length = round(1.1 x mean source tokens)
TOKENIZER_VOCAB = 12_000  # trained tokenizer size; ids stay below the model's embedding rows

# The published checkpoints' config.json fields, and what their authors configured for generation
# (besides opus-mt's bad word, its <pad>; distilbart's forced BOS as a 2020 config key): package data.
_OPUS, _DISTILBART = (
    json.loads((files("clsum.bench.standins") / f"{name}.json").read_text(encoding="utf-8"))
    for name in ("opus-mt", "distilbart-cnn-12-6")
)
# restrict_output: random logits over ids the tokenizer cannot decode would give empty text
OPUS_MT = ModelSpec(_OPUS["architecture"], restrict_output=True)
DISTILBART_CNN_12_6 = ModelSpec(_DISTILBART["architecture"], restrict_output=True)
OPUS_MT_SETTINGS, BART_CNN = _OPUS["generation"], _DISTILBART["generation"]
DISTILBART_LEGACY_EXTRA = _DISTILBART["legacy_extra"]
RANDOM_ARCHITECTURES = {
    "Helsinki-NLP/opus-mt-de-en": ("marian", "de"),
    "Helsinki-NLP/opus-mt-nl-en": ("marian", "nl"),
    "sshleifer/distilbart-cnn-12-6": ("bart", "en"),
}


@dataclass
class BenchModel:
    """A model the bench runs, and where it came from."""

    spec: str  # as configured (hub id or directory)
    path: str  # directory the baselines load (a hub snapshot or a random model's directory)
    provenance: str  # "real: id@commit", "local: dir", or "random: <architecture>, seed 0"
    random: bool
    forced_length: int | None  # generated tokens per output when lengths are forced


@dataclass
class BenchModels:
    translation: dict[str, BenchModel]  # per benchmarked language
    summarization: BenchModel

    def all(self) -> list[BenchModel]:
        return [*self.translation.values(), self.summarization]

    def overrides(self) -> list[str]:
        """Random stand-ins live in the bench cache: point clsum at the same directories."""
        out = [f"translation.models.{lang}={m.path}" for lang, m in self.translation.items() if m.random]
        return out + ([f"summarization.model={self.summarization.path}"] if self.summarization.random else [])


def resolve_models(config: Config, langs: list[str], text: Callable[[str], list[str]]) -> BenchModels:
    """The configured translators of ``langs`` and summarizer; ``text(lang)`` is training text for
    the tokenizer of a random stand-in (asked for only when one is built)."""
    translation = {lang: resolve(config.translation.models[lang], partial(text, lang)) for lang in langs}
    summarization = resolve(config.summarization.model, lambda: [x for lang in langs for x in text(lang)])
    return BenchModels(translation, summarization)


def resolve(spec: str, texts: Callable[[], list[str]]) -> BenchModel:
    """The configured model if it loads from a local dir or the HF cache, else its random stand-in."""
    local = Path(spec).expanduser()
    if local.is_dir():
        return _stand_in(spec, local) or BenchModel(spec, str(local), f"local: {local}", False, None)
    snapshot = _hf_snapshot(spec)
    if snapshot is not None:
        return BenchModel(spec, str(snapshot), f"real: {spec}@{snapshot.name}", False, None)
    if spec not in RANDOM_ARCHITECTURES:
        raise ModelError(f"bench: model {spec!r} is neither a local directory nor in the HF cache")
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "clsum" / "bench-models")
    folder = root.expanduser() / spec.replace("/", "--")
    return _stand_in(spec, folder, BUILD_FORMAT) or _build(folder, spec, texts())


def _stand_in(spec: str, folder: Path, build_format: int | None = None) -> BenchModel | None:
    """The random stand-in in ``folder``, from its ``META_FILE`` (if built in ``build_format``)."""
    path = folder / META_FILE
    meta = json.loads(path.read_text()) if path.is_file() else None
    if meta is None or build_format not in (None, meta["format"]):
        return None
    return BenchModel(spec, str(folder), meta["provenance"], True, meta["forced_length"])


def _hf_snapshot(spec: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError) or an unusable cache: use a stand-in
        return None
    has_weights = any(path.glob("*.safetensors")) or any(path.glob("*.bin"))
    return path if has_weights and (path / "config.json").is_file() else None


def _build(folder: Path, spec: str, texts: list[str]) -> BenchModel:
    """Build into a staging directory and move it into place: a cached model is always complete."""
    log.info("building a random %s with the published architecture in %s", spec, folder)
    kind, lang = RANDOM_ARCHITECTURES[spec]
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        staging = Path(tmp) / "model"
        length, tokenizer_config = (
            _marian(staging, lang, texts) if kind == "marian" else _bart(staging, texts)
        )
        # tokenizer_config.json as the repository ships it (not the one save_pretrained wrote)
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
        provenance = f"random: {spec} architecture ({kind}), seed 0, tokenizer trained on NTREX"
        meta = {"provenance": provenance, "forced_length": length, "format": BUILD_FORMAT}
        (staging / META_FILE).write_text(json.dumps(meta, indent=1))
        if folder.exists():  # built by an older bench: another layout
            shutil.rmtree(folder)
        staging.rename(folder)
    return BenchModel(spec, str(folder), provenance, True, length)


def forced_translation_length(token_counts: list[int]) -> int:
    """Generated tokens per translated sentence: round(1.1 x mean source tokens), at least 1."""
    return max(1, round(TRANSLATION_LENGTH_FACTOR * statistics.fmean(token_counts or [0])))


@dataclass(frozen=True)
class Lengths:
    """Generated tokens per output when lengths are forced (min_length = max_length)."""

    translation: int  # every language: clsum takes it as one config value
    summary: int

    def overrides(self) -> list[str]:
        """``--set`` values that force these lengths in clsum (and, through its config, in the baselines)."""
        sections = (("translation", self.translation), ("summarization", self.summary))
        return [f"{section}.{bound}_length={n + 1}" for section, n in sections for bound in ("min", "max")]


def forced_lengths(models: BenchModels, unit_tokens: list[int], summarizer_positions: int) -> Lengths:
    """BENCHMARKS.md, "Models": the mean of the stand-ins' own translation lengths (from all of NTREX:
    a ``--quick`` run decodes what a full one does), else one from the documents' ``unit_tokens``; a
    real summarizer gets ``SUMMARY_TOKENS``, capped by its positions."""
    translators = models.translation.values()
    if all(m.random and m.forced_length for m in translators):
        translation = round(statistics.fmean(m.forced_length or 0 for m in translators))
    else:
        translation = forced_translation_length(unit_tokens)
    summary = models.summarization.forced_length or min(SUMMARY_TOKENS, summarizer_positions - 2)
    return Lengths(translation, summary)


def _marian(out: Path, lang: str, texts: list[str]) -> tuple[int, dict[str, object]]:
    """opus-mt-{lang}-en, the length its translations are forced to (from its tokenizer on ``texts``),
    and its tokenizer_config.json (no model_max_length)."""
    spec = TokenizerSpec(TOKENIZER_VOCAB, 512, OPUS_MT.architecture["vocab_size"], seed=0)
    vocab = marian_tokenizer(out, lang, texts, english_corpus(texts), spec)
    length = forced_translation_length([len(x) for x in vocab.tokenizer(texts, verbose=False)["input_ids"]])
    generation = {**OPUS_MT_SETTINGS, "bad_words_ids": [[vocab.config_ids["pad_token_id"]]]}
    save_checkpoint(random_model(vocab, OPUS_MT), out, "legacy", generation)
    return length, {"source_lang": lang, "target_lang": "en"}


def _bart(out: Path, texts: list[str]) -> tuple[int, dict[str, object]]:
    """distilbart-cnn-12-6, the length its summaries are forced to, and its tokenizer_config.json."""
    positions, size = (DISTILBART_CNN_12_6.architecture[k] for k in ("max_position_embeddings", "vocab_size"))
    vocab = bart_tokenizer(
        out, english_corpus(texts), TokenizerSpec(TOKENIZER_VOCAB, positions, size, hub_files=True)
    )
    config_keys = {"task_specific_params": {"summarization": BART_CNN}, **DISTILBART_LEGACY_EXTRA}
    save_checkpoint(random_model(vocab, DISTILBART_CNN_12_6), out, "legacy", BART_CNN, config_keys)
    return SUMMARY_TOKENS, {"model_max_length": positions}
