"""The two reference systems, written the way each library's documentation shows.

naive: per article, all its sentences in one ``model.generate`` call (padded batch), then the
summarizer's ``generate`` on the joined English text (truncated to the model's input limit), fp32.
ctranslate2-plain: the same per-article loop on CTranslate2 ``Translator.translate_batch``, int8.
Both use the generation settings in ``GenSettings`` (beam, lengths), the same ones clsum is given.

Forced lengths (min_length = max_length) are honoured by both only if both decode the same steps:
transformers counts the decoder start token in its lengths and applies the model's
``forced_bos_token_id`` (BART: ``<s>`` as first generated token) and ``forced_eos_token_id`` (EOS in
the last slot); CTranslate2 counts generated tokens only, knows nothing of the generation_config, and
counts a ``target_prefix`` as generated. So the CTranslate2 loop passes the forced BOS as prefix and
its lengths are one less, and both count every decoder step (forced BOS and EOS included), not the
"non-special" tokens: random weights generate special tokens anywhere (``<s>``, ``<unk>``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast


@dataclass
class GenSettings:
    """One stage's decoding settings, in transformers' terms (lengths count the decoder start token)."""

    num_beams: int
    max_length: int
    min_length: int = 0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0

    def hf(self) -> dict[str, Any]:
        return asdict(self)

    def ct2(self) -> dict[str, Any]:
        """CTranslate2 counts generated tokens only (a target prefix included), not the decoder start
        token: one less than transformers' lengths."""
        return {
            "beam_size": self.num_beams,
            "max_decoding_length": max(1, self.max_length - 1),
            "min_decoding_length": max(0, self.min_length - 1),
            "length_penalty": self.length_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
        }


@dataclass
class Decoding:
    """What the baselines run: model directories and each stage's decoding settings."""

    translators: dict[str, str]  # lang -> transformers model directory
    summarizer: str
    translation: dict[str, GenSettings]  # lang -> settings
    summarization: GenSettings

    def to_dict(self) -> dict[str, Any]:
        """The settings, in transformers' terms (the JSON's ``settings``)."""
        return {
            "translation": {lang: s.hf() for lang, s in self.translation.items()},
            "summarization": self.summarization.hf(),
        }


def settings_from(
    model_dir: str, num_beams: int | None, max_length: int | None, min_length: int | None
) -> GenSettings:
    """The model's generation_config.json, with the config's explicit values on top."""
    from transformers import GenerationConfig

    gc = GenerationConfig.from_pretrained(model_dir)
    return GenSettings(
        num_beams=num_beams or gc.num_beams or 1,
        max_length=max_length or gc.max_length or 256,
        min_length=min_length if min_length is not None else (gc.min_length or 0),
        length_penalty=float(gc.length_penalty if gc.length_penalty is not None else 1.0),
        no_repeat_ngram_size=int(gc.no_repeat_ngram_size or 0),
    )


def generated_tokens(ids: list[int], eos: set[int]) -> int:
    """Decoder steps behind one output (decoder start token removed): its tokens up to and including
    the first EOS, so padding after an early EOS is not counted and a forced BOS or EOS is."""
    for i, token in enumerate(ids):
        if token in eos:
            return i + 1
    return len(ids)


def _eos_ids(generation_config: Any) -> set[int]:
    eos = generation_config.eos_token_id
    return set(eos) if isinstance(eos, list) else {eos}


class NaiveHF:
    """transformers, fp32, one generate() per article and stage."""

    def __init__(self, model_dir: str) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
        self.eos = _eos_ids(self.model.generation_config)

    def generate(self, texts: list[str], settings: GenSettings) -> tuple[list[str], list[int]]:
        """Outputs and their decoder steps (``generated_tokens``)."""
        import torch

        enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
        with torch.inference_mode():
            ids = self.model.generate(**enc, **settings.hf())
        # row[0] is the decoder start token (BART: the EOS id itself), not a generated token
        counts = [generated_tokens(row.tolist()[1:], self.eos) for row in ids]
        return [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)], counts


class PlainCT2:
    """CTranslate2 int8 (``compute_type``), one translate_batch() per article and stage."""

    def __init__(self, model_dir: str, ct2_dir: Path, threads: int, compute_type: str = "int8") -> None:
        import ctranslate2
        from transformers import AutoTokenizer, GenerationConfig

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.translator = ctranslate2.Translator(
            str(ct2_dir), device="cpu", compute_type=compute_type, intra_threads=threads, inter_threads=1
        )
        gc = GenerationConfig.from_pretrained(model_dir)
        self.eos = _eos_ids(gc)
        # CTranslate2 ignores generation_config.json: the first token transformers forces (BART's
        # <s>) is given as target prefix, as CTranslate2's docs do for mBART's language token.
        forced = gc.forced_bos_token_id
        self.prefix = None if forced is None else [self.tokenizer.convert_ids_to_tokens(forced)]

    def generate(self, texts: list[str], settings: GenSettings) -> tuple[list[str], list[int]]:
        """Outputs and their decoder steps (``generated_tokens``)."""
        limit = self.tokenizer.model_max_length
        sources = [
            self.tokenizer.convert_ids_to_tokens(self.tokenizer.encode(t, truncation=True, max_length=limit))
            for t in texts
        ]
        prefix = None if self.prefix is None else [self.prefix] * len(sources)
        results = self.translator.translate_batch(
            sources, target_prefix=prefix, return_end_token=True, **settings.ct2()
        )
        outputs, counts = [], []
        for result in results:
            ids = cast(list[int], self.tokenizer.convert_tokens_to_ids(result.hypotheses[0]))
            counts.append(generated_tokens(ids, self.eos))
            outputs.append(str(self.tokenizer.decode(ids, skip_special_tokens=True)).strip())
        return outputs, counts
