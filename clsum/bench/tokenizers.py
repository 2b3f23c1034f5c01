"""Tokenizers for random benchmark models, trained in seconds on the benchmark's own text.

What matters for a benchmark is the number of tokens per sentence, so each tokenizer is trained on
text of its language (vocabulary ~12k, like a real subword vocabulary on this little data).
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path

# Marian vocab.json: "</s>" = 0, "<unk>" = 1, pieces from both spm models, "<pad>" at pad_id.
_MARIAN_SPECIALS = {"</s>": 0, "<unk>": 1}


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
    """The joint vocab.json and the ids of the target pieces (what the decoder may produce).

    ``<pad>`` is the last id: ``size - 1`` with the unused ids below it filled (opus-mt's layout at
    the published size; CTranslate2 requires as many entries as embedding rows), else the next free id.
    """
    vocab = dict(_MARIAN_SPECIALS)
    for piece in _pieces(source) + _pieces(target):
        if piece not in vocab and piece not in ("<s>", "<pad>"):
            vocab[piece] = len(vocab)
    if size is not None and len(vocab) >= size:
        raise ValueError(f"tokenizer vocabulary {len(vocab)} does not fit below pad id {size - 1}")
    target_ids = sorted({vocab[p] for p in _pieces(target) if p in vocab and p not in ("<unk>", "<pad>")})
    if size is not None:
        pad_vocab(vocab, size - 1)
    vocab["<pad>"] = len(vocab)
    return vocab, target_ids


def pad_vocab(vocab: dict[str, int], size: int) -> None:
    """Fill ``vocab`` with unused ``<dummy_i>`` tokens up to ``size`` entries (ids 0..size-1)."""
    for i in range(len(vocab), size):
        vocab[f"<dummy_{i}>"] = i


def train_byte_bpe(corpus: list[str], vocab_size: int, out_dir: Path) -> None:
    """vocab.json + merges.txt of a byte-level BPE with BART's special tokens at ids 0-4."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus,
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    bpe.save_model(str(out_dir))


@cache
def _ntrex_english() -> tuple[str, ...]:
    from clsum.eval.data import load_ntrex_documents

    try:
        docs = load_ntrex_documents("de")
    except Exception:  # no data root: callers fall back to the source text
        return ()
    return tuple(line for seg in docs.segments for line in seg.reference.split("\n") if line.strip())


def english_corpus(fallback: list[str] | None = None) -> list[str]:
    """NTREX's English side (the references) when the data root exists, else ``fallback``."""
    lines = list(_ntrex_english())
    return lines or list(fallback or [])
