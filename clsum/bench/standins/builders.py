"""Random-weight seq2seq models with tokenizers trained on the spot, saved like hub checkpoints: the
bench's stand-ins and the tests' tiny models and replicas. Two steps, because the model takes its
vocabulary size and special ids from the trained tokenizer: ``*_tokenizer``, then ``random_model``.
Model libraries are imported inside the functions: the tests import this module before they point
the Hugging Face cache at a private directory."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TokenizerSpec:
    size: int  # pieces (SentencePiece) or tokens (byte-level BPE) to train
    max_input_tokens: int  # the tokenizer's model_max_length
    vocab_size: int | None = None  # fill unused ids up to this many (the published model's rows)
    seed: int | None = None  # SentencePiece's generator seed
    hub_files: bool = False  # BART: vocab.json + merges.txt as the hub repos ship, no tokenizer.json


@dataclass(frozen=True)
class ModelSpec:
    architecture: dict[str, Any]  # config.json fields; vocab size and special ids come from the vocab
    seed: int = 0
    restrict_output: bool = False  # final_logits_bias forbids ids the tokenizer cannot decode


@dataclass
class Vocab:
    """A trained tokenizer, saved in the model directory, and what the model takes from it."""

    kind: str  # "marian" | "bart"
    tokenizer: Any
    size: int  # embedding rows
    config_ids: dict[str, int]  # special ids in config.json
    output_ids: list[int] = field(default_factory=list)  # ids that decode to text


def marian_tokenizer(
    out: Path, lang: str, source_text: list[str], target_text: list[str], spec: TokenizerSpec
) -> Vocab:
    """opus-mt's tokenizer: source.spm, target.spm and one joint vocab.json (``</s>`` 0, ``<unk>``
    1, the pieces of both, ``<pad>`` last; decoding starts from ``<pad>``)."""
    from transformers import MarianTokenizer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="random-marian-") as tmp:
        src, tgt = Path(tmp) / "source.spm", Path(tmp) / "target.spm"
        src.write_bytes(train_spm(source_text, spec.size, spec.seed))
        tgt.write_bytes(train_spm(target_text, spec.size, spec.seed))
        vocab, target_ids = marian_vocab(src, tgt, spec.vocab_size)
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(src),
            target_spm=str(tgt),
            vocab=str(vocab_file),
            source_lang=lang,
            target_lang="en",
            model_max_length=spec.max_input_tokens,
        )
        tokenizer.save_pretrained(out)
    pad, eos = vocab["<pad>"], vocab["</s>"]
    ids = {
        "pad_token_id": pad,
        "eos_token_id": eos,
        "decoder_start_token_id": pad,
        "forced_eos_token_id": eos,
    }
    return Vocab("marian", tokenizer, len(vocab), ids, [*target_ids, eos])


def bart_tokenizer(out: Path, text: list[str], spec: TokenizerSpec) -> Vocab:
    """BART's tokenizer: byte-level BPE with ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3,
    ``<mask>`` 4; decoding starts from ``</s>`` and the first generated token is forced to ``<s>``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartTokenizer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="random-bart-") as tmp:
        bpe = ByteLevelBPETokenizer()  # BART's special tokens at ids 0-4
        special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        bpe.train_from_iterator(
            text, vocab_size=spec.size, min_frequency=2, special_tokens=special, show_progress=False
        )
        bpe.save_model(tmp)  # vocab.json + merges.txt
        vocab_file = Path(tmp) / "vocab.json"
        bpe_vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
        trained = sorted(bpe_vocab.values())
        if spec.vocab_size is not None:  # CTranslate2 requires as many vocabulary entries as embedding rows
            bpe_vocab.update({f"<dummy_{i}>": i for i in range(len(bpe_vocab), spec.vocab_size)})
            vocab_file.write_text(json.dumps(bpe_vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = BartTokenizer.from_pretrained(tmp, model_max_length=spec.max_input_tokens)
        tokenizer.save_pretrained(out)
        if spec.hub_files:  # the files the hub repos ship (transformers converts them on every load)
            (out / "tokenizer.json").unlink(missing_ok=True)
            for name in ("vocab.json", "merges.txt"):
                shutil.copyfile(Path(tmp) / name, out / name)
    vocab = tokenizer.get_vocab()
    bos, pad, eos = vocab["<s>"], vocab["<pad>"], vocab["</s>"]  # trained first: 0, 1, 2 as in BART
    ids = {
        "bos_token_id": bos,
        "pad_token_id": pad,
        "eos_token_id": eos,
        "decoder_start_token_id": eos,
        "forced_eos_token_id": eos,
    }
    return Vocab("bart", tokenizer, len(vocab), ids, trained)


def random_model(vocab: Vocab, spec: ModelSpec) -> Any:
    """``spec``'s architecture with ``vocab``'s size and special ids, random weights from ``spec.seed``."""
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    architecture = {**spec.architecture, "vocab_size": vocab.size, **vocab.config_ids}
    config = AutoConfig.for_model(vocab.kind, **architecture)
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(spec.seed)
        model = AutoModelForSeq2SeqLM.from_config(config)
    if spec.restrict_output:  # random logits over ids the tokenizer cannot decode would give empty text
        bias = torch.full_like(model.final_logits_bias, -1e4)
        bias[0, vocab.output_ids] = 0.0
        model.final_logits_bias.copy_(bias)
    return model


def save_checkpoint(
    model: Any, out: Path, layout: str, generation: dict[str, Any], config_keys: dict[str, Any] | None = None
) -> None:
    """``model`` and its ``generation`` settings in a hub repository's files: ``legacy`` (2020-era
    uploads: the settings as config.json keys, pytorch_model.bin) or ``modern`` (generation_config.json,
    model.safetensors); ``config_keys``: more config.json keys. config.json holds every key, as the
    hub's do: ``save_pretrained`` leaves out class defaults (a BART's ``pad_token_id``), which a
    legacy read of the generation settings would then miss."""
    import torch
    from transformers import GenerationConfig

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="checkpoint-") as tmp:
        model.save_pretrained(tmp)  # config.json + model.safetensors (+ a generation_config.json)
        config = {**model.config.to_dict(), **json.loads((Path(tmp) / "config.json").read_text("utf-8"))}
        if layout == "legacy":
            config.update(generation)
            torch.save(model.state_dict(), out / "pytorch_model.bin")
        else:
            shutil.copyfile(Path(tmp) / "model.safetensors", out / "model.safetensors")
            GenerationConfig(**generation).save_pretrained(out)
        (out / "config.json").write_text(json.dumps(config | (config_keys or {}), indent=2), encoding="utf-8")


def train_spm(sentences: list[str], vocab_size: int, seed: int | None = None) -> bytes:
    """A unigram SentencePiece model (serialized proto), as opus-mt ships (source.spm, target.spm)."""
    import sentencepiece as spm

    if seed is not None and hasattr(spm, "set_random_generator_seed"):
        spm.set_random_generator_seed(seed)
    buf = io.BytesIO()
    with open(os.devnull, "w") as devnull:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=buf,
            vocab_size=vocab_size,
            hard_vocab_limit=False,  # small corpora cannot fill a large vocabulary
            model_type="unigram",
            character_coverage=1.0,
            num_threads=1,
            # Marian's vocab.json supplies the special ids; keep only <unk> in the spm itself.
            bos_id=-1,
            eos_id=-1,
            logstream=devnull,
        )
    return buf.getvalue()


def _pieces(spm_file: Path) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def marian_vocab(source: Path, target: Path, size: int | None = None) -> tuple[dict[str, int], list[int]]:
    """The joint vocab.json and the ids of the target pieces (what the decoder may produce). ``<pad>``
    is the last id: ``size - 1`` with the unused ids below it filled (opus-mt's layout; CTranslate2
    requires as many entries as embedding rows), else the next free id."""
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in _pieces(source) + _pieces(target):
        if piece not in vocab and piece not in ("<s>", "<pad>"):
            vocab[piece] = len(vocab)
    if size is not None and len(vocab) >= size:
        raise ValueError(f"tokenizer vocabulary {len(vocab)} does not fit below pad id {size - 1}")
    target_ids = sorted({vocab[p] for p in _pieces(target) if p in vocab and p not in ("<unk>", "<pad>")})
    if size is not None:  # unused <dummy_i> tokens up to pad
        vocab.update({f"<dummy_{i}>": i for i in range(len(vocab), size - 1)})
    vocab["<pad>"] = len(vocab)
    return vocab, target_ids


def english_corpus(fallback: list[str]) -> list[str]:
    """NTREX's English side (the references) when the data root exists, else ``fallback``."""
    from clsum.eval.data import load_ntrex_documents

    try:
        docs = load_ntrex_documents("de")
    except Exception:  # no data root
        return fallback
    return [line for seg in docs.segments for line in seg.reference.split("\n") if line.strip()] or fallback
