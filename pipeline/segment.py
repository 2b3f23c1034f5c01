"""Stage 4: split each paragraph into sentences, and split sentences that exceed the model limit.

pysbd is rule-based and knows German and Dutch abbreviations; a few news abbreviations it misses
(``mln.``, ``dhr.``) are merged back here. A sentence longer than the translation model's input
limit is split further at the best boundary (punctuation, then spaces), never truncated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache

import pysbd

from clsum.pipeline.runtime import Models
from clsum.record import ENGLISH, Record

log = logging.getLogger(__name__)

# pysbd's own rule sets; other languages fall back to English rules.
_PYSBD_LANGS = {"en", "de", "nl", "fr", "es", "it", "da", "pl", "ru", "el", "bg", "sk", "fa", "ar"}

# Abbreviations pysbd splits after in news text; a split right after one of these is undone.
_ABBREVIATIONS = {
    "nl": {
        "dhr",
        "mevr",
        "mw",
        "drs",
        "ir",
        "ing",
        "prof",
        "dr",
        "mr",
        "mln",
        "mld",
        "ca",
        "bijv",
        "nr",
        "jl",
    },
    "de": {"mio", "mrd", "ca", "bzw", "nr", "prof", "dr", "hr", "fr", "st", "vgl", "usw", "tsd"},
    "en": {"mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "approx", "jan", "feb", "aug", "sept", "oct"},
}
_LAST_WORD = re.compile(r"(\w+)\.\s*$")
# Boundaries to split an over-long sentence at, best first.
_BOUNDARIES = [re.compile(r"(?<=[;:])\s+"), re.compile(r"(?<=,)\s+"), re.compile(r"\s+")]

TokenCounter = Callable[[list[str]], list[int]]


@cache
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang if lang in _PYSBD_LANGS else "en", clean=False)


def split_sentences(paragraph: str, lang: str) -> list[str]:
    pieces = [p.strip() for p in _segmenter(lang).segment(paragraph) if p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and _continues(merged[-1], piece, lang):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _continues(previous: str, piece: str, lang: str) -> bool:
    """True when ``piece`` is not a new sentence: it starts lowercase, or follows an abbreviation."""
    if piece[0].islower():
        return True
    match = _LAST_WORD.search(previous)
    return match is not None and match.group(1).lower() in _ABBREVIATIONS.get(lang, set())


def split_to_fit(text: str, count: TokenCounter, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` tokens, at the best boundary near the middle."""
    if count([text])[0] <= limit:
        return [text]
    left, right = _halve(text)
    if not left or not right:
        raise ValueError(f"cannot split text of {len(text)} characters to fit {limit} tokens")
    return split_to_fit(left, count, limit) + split_to_fit(right, count, limit)


def _halve(text: str) -> tuple[str, str]:
    middle = len(text) // 2
    for boundary in _BOUNDARIES:
        cuts = [m.start() for m in boundary.finditer(text) if 0 < m.start() < len(text)]
        if cuts:
            cut = min(cuts, key=lambda c: abs(c - middle))
            return text[:cut].strip(), text[cut:].strip()
    return text[:middle], text[middle:]  # one huge "word" (a URL, a table): split characters


def segment(records: list[Record], models: Models, max_input_tokens: int | None = None) -> list[Record]:
    """Fill ``record.sentences``; sentences too long for the language's translator are split."""
    for record in records:
        if not record.ok or record.lang is None:
            continue
        try:
            record.sentences = [split_sentences(p, record.lang) for p in record.paragraphs]
            if record.lang != ENGLISH:
                _fit_translator(record, models, max_input_tokens)
        except ValueError as exc:
            record.fail("segment", str(exc))
    return records


def _fit_translator(record: Record, models: Models, max_input_tokens: int | None) -> None:
    translator = models.translator(record.lang or "")
    limit = max_input_tokens or translator.max_input_tokens
    for p, sentences in enumerate(record.sentences):
        counts = translator.count_tokens(sentences)
        if max(counts, default=0) <= limit:
            continue
        record.sentences[p] = [
            piece
            for sentence, n in zip(sentences, counts, strict=True)
            for piece in (split_to_fit(sentence, translator.count_tokens, limit) if n > limit else [sentence])
        ]
        log.debug("%s: split an over-long sentence in paragraph %d to fit %d tokens", record.id, p, limit)
