"""Benchmark models: the configured ones when they load, else random ones of the published size.

Random weights give meaningless text but the same compute as the real models, provided the output
lengths are the same: each random model's ``generation_config`` therefore forces
``min_length == max_length`` (translation: round(1.1 x mean source tokens per sentence) on the
benchmark text; summaries: 64 tokens, about what distilbart-cnn writes), and its
``final_logits_bias`` keeps generation inside the tokenizer's vocabulary so that decoded text has a
realistic number of tokens for the next stage. The models are built once into a cache directory
outside the repository (``$CLSUM_BENCH_CACHE`` or ``~/.cache/clsum/bench-models``) and reused.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clsum.errors import ModelError

log = logging.getLogger(__name__)

CACHE_ENV = "CLSUM_BENCH_CACHE"
META_FILE = "clsum_bench.json"  # written into every random model directory
SUMMARY_TOKENS = 64  # forced summary length for random summarizers (distilbart-cnn writes ~56-142)
TRANSLATION_LENGTH_FACTOR = 1.1  # forced translation length = round(1.1 x mean source tokens)
TOKENIZER_VOCAB = 12_000  # trained tokenizer size; ids stay below the model's embedding rows

# The published architectures (config.json of the hub checkpoints), copied field by field.
OPUS_MT: dict[str, Any] = {
    "vocab_size": 58101,
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "activation_function": "swish",
    "max_position_embeddings": 512,
    "scale_embedding": True,
    "static_position_embeddings": True,
    "normalize_embedding": False,
    "share_encoder_decoder_embeddings": True,
    "pad_token_id": 58100,
    "eos_token_id": 0,
    "decoder_start_token_id": 58100,
    "forced_eos_token_id": 0,
}
DISTILBART_CNN_12_6: dict[str, Any] = {
    "vocab_size": 50264,
    "d_model": 1024,
    "encoder_layers": 12,
    "decoder_layers": 6,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "activation_function": "gelu",
    "max_position_embeddings": 1024,
    "normalize_before": False,
    "normalize_embedding": True,
    "scale_embedding": False,
    "add_final_layer_norm": False,
    "static_position_embeddings": False,
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
    "forced_bos_token_id": 0,
    "forced_eos_token_id": 2,
}
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "clsum" / "bench-models"


def resolve(spec: str, texts: Callable[[], list[str]], allow_random: bool = True) -> BenchModel:
    """The configured model if it loads from a local dir or the HF cache, else its random stand-in."""
    local = Path(spec).expanduser()
    if local.is_dir():
        meta = _read_meta(local)
        if meta:
            return BenchModel(spec, str(local), meta["provenance"], True, meta["forced_length"])
        return BenchModel(spec, str(local), f"local: {local}", False, None)
    snapshot = _hf_snapshot(spec)
    if snapshot is not None:
        return BenchModel(spec, str(snapshot), f"real: {spec}@{snapshot.name}", False, None)
    if not allow_random or spec not in RANDOM_ARCHITECTURES:
        raise ModelError(f"bench: model {spec!r} is neither a local directory nor in the HF cache")
    return _random_model(spec, texts)


def _hf_snapshot(spec: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError) or an unusable cache: use a stand-in
        return None
    has_weights = any(path.glob("*.safetensors")) or any(path.glob("*.bin"))
    return path if has_weights and (path / "config.json").is_file() else None


def _read_meta(folder: Path) -> dict[str, Any] | None:
    meta = folder / META_FILE
    return json.loads(meta.read_text()) if meta.is_file() else None


def _random_model(spec: str, texts: Callable[[], list[str]]) -> BenchModel:
    kind, lang = RANDOM_ARCHITECTURES[spec]
    folder = cache_root() / spec.replace("/", "--")
    meta = _read_meta(folder)
    if meta is None:
        log.info("building a random %s with the published architecture in %s", spec, folder)
        with tempfile.TemporaryDirectory(dir=folder.parent if folder.parent.exists() else None) as tmp:
            staging = Path(tmp) / "model"
            if kind == "marian":
                length = build_random_marian(staging, lang, texts())
            else:
                length = build_random_bart(staging, texts())
            meta = {
                "provenance": f"random: {spec} architecture ({kind}), seed 0, tokenizer trained on NTREX",
                "forced_length": length,
            }
            (staging / META_FILE).write_text(json.dumps(meta, indent=1))
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(folder)
    return BenchModel(spec, str(folder), meta["provenance"], True, meta["forced_length"])


def forced_translation_length(token_counts: list[int]) -> int:
    """Generated tokens per translated sentence: round(1.1 x mean source tokens), at least 1."""
    if not token_counts:
        return 1
    return max(1, round(TRANSLATION_LENGTH_FACTOR * statistics.fmean(token_counts)))


def _restrict_vocab(model: Any, allowed: list[int]) -> None:
    """Random logits over ids the tokenizer cannot decode would give empty text: forbid those ids."""
    import torch

    bias = torch.full_like(model.final_logits_bias, -1e4)
    bias[0, allowed] = 0.0
    model.final_logits_bias.copy_(bias)


def build_random_marian(out: Path, lang: str, texts: list[str]) -> int:
    """opus-mt-{lang}-en architecture with random weights; returns the forced output length."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    from clsum.bench.tokenizers import english_corpus, marian_vocab, train_spm

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src, tgt = Path(tmp) / "source.spm", Path(tmp) / "target.spm"
        src.write_bytes(train_spm(texts, TOKENIZER_VOCAB))
        tgt.write_bytes(train_spm(english_corpus(texts), TOKENIZER_VOCAB))
        vocab, target_ids = marian_vocab(src, tgt, pad_id=OPUS_MT["pad_token_id"])
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(src),
            target_spm=str(tgt),
            vocab=str(vocab_file),
            source_lang=lang,
            target_lang="en",
            model_max_length=512,
        )
        tokenizer.save_pretrained(out)
    counts = [len(x) for x in tokenizer(texts, verbose=False)["input_ids"]]
    length = forced_translation_length(counts)
    torch.manual_seed(0)
    model = MarianMTModel(MarianConfig(**OPUS_MT))
    _restrict_vocab(model, [*target_ids, OPUS_MT["eos_token_id"]])
    pad, eos = OPUS_MT["pad_token_id"], OPUS_MT["eos_token_id"]
    # Real opus-mt: beam 4, max_length 512; here min = max so every output has ``length`` tokens
    # (+1: transformers counts the decoder start token).
    model.generation_config = GenerationConfig(
        bad_words_ids=[[pad]],
        decoder_start_token_id=pad,
        eos_token_id=eos,
        forced_eos_token_id=eos,
        pad_token_id=pad,
        num_beams=4,
        max_length=length + 1,
        min_length=length + 1,
    )
    model.save_pretrained(out)
    return length


def build_random_bart(out: Path, texts: list[str]) -> int:
    """distilbart-cnn-12-6 architecture with random weights; returns the forced summary length."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer, GenerationConfig

    from clsum.bench.tokenizers import english_corpus, pad_vocab, train_byte_bpe

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_byte_bpe(english_corpus(texts), TOKENIZER_VOCAB, Path(tmp))
        vocab_file = Path(tmp) / "vocab.json"
        vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
        allowed = sorted(vocab.values())
        pad_vocab(vocab, DISTILBART_CNN_12_6["vocab_size"])  # CTranslate2: vocab = embedding rows
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = BartTokenizer.from_pretrained(tmp, model_max_length=1024)
        tokenizer.save_pretrained(out)
    torch.manual_seed(0)
    model = BartForConditionalGeneration(BartConfig(**DISTILBART_CNN_12_6))
    _restrict_vocab(model, allowed)
    c = DISTILBART_CNN_12_6
    # Real distilbart-cnn-12-6: beam 4, length_penalty 2, no_repeat_ngram_size 3, 56-142 tokens.
    model.generation_config = GenerationConfig(
        bos_token_id=c["bos_token_id"],
        pad_token_id=c["pad_token_id"],
        eos_token_id=c["eos_token_id"],
        decoder_start_token_id=c["decoder_start_token_id"],
        forced_bos_token_id=c["forced_bos_token_id"],
        forced_eos_token_id=c["forced_eos_token_id"],
        num_beams=4,
        length_penalty=2.0,
        no_repeat_ngram_size=3,
        early_stopping=True,
        max_length=SUMMARY_TOKENS + 1,
        min_length=SUMMARY_TOKENS + 1,
    )
    model.save_pretrained(out)
    return SUMMARY_TOKENS
