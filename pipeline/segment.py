"""Stage 4: paragraphs into sentences (pysbd, which knows German and Dutch abbreviations; the news
abbreviations and closing quotes it gets wrong are merged back here), and a sentence longer than
the translator's input limit split further at the best boundary, never truncated.
"""

from __future__ import annotations

import logging
import re
from functools import cache, partial

import pysbd

from clsum.pipeline.limits import TokenCounter, count_tokens, pieces, too_long
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
# Quotation marks, opening and closing, of the languages clsum reads ("", '', ‘’, „“, «», ‹›).
_QUOTES = "\"'‘’‚“”„«»‹›"
# pysbd ends a sentence at ``.`` and gives the closing quote right after it to the next one
# ('‘Ik heb veel respect.' / '’ Dat zei Musk.', or a lone '"'). A quote run glued to the end of the
# previous segment and followed by a space closes that sentence.
_LEADING_QUOTES = re.compile(f"^[{re.escape(_QUOTES)}]+(?=\\s|$)")
# Paragraphs longer than this many characters go to pysbd in blocks cut at sentence ends: pysbd
# takes ~4 s for one 100 kB paragraph and grows quadratically; news paragraphs are far shorter.
BLOCK_CHARS = 10_000
# A likely sentence end to cut at: a lowercase word of three letters or more (not an abbreviation
# such as "Dr."), then . ! ? or …, then a capital or a quote.
_BLOCK_END = re.compile(
    f"(?<=[a-zäöüß]{{3}})[.!?…][{re.escape(_QUOTES)})]*\\s+(?=[A-ZÄÖÜ{re.escape(_QUOTES)}])"
)
# Boundaries to split an over-long sentence at, best first.
_BOUNDARIES = [re.compile(r"(?<=[;:])\s+"), re.compile(r"(?<=,)\s+"), re.compile(r"\s+")]


@cache
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang if lang in _PYSBD_LANGS else "en", clean=False)


def split_sentences(paragraph: str, lang: str) -> list[str]:
    # Blocks cut at sentence ends (``_BLOCK_END``); a cut after an abbreviation is merged back below.
    blocks = pieces(paragraph, BLOCK_CHARS, _BLOCK_END)
    segments = [s for block in blocks for s in _segmenter(lang).segment(block)]
    merged: list[str] = []
    for piece in (p.strip() for p in _with_closing_quotes(segments) if p.strip()):
        if merged and _continues(merged[-1], piece, lang):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _with_closing_quotes(segments: list[str]) -> list[str]:
    """pysbd's segments (which concatenate to the text) with each closing quote moved back to the
    sentence it closes."""
    out: list[str] = []
    for segment in segments:
        glued = bool(out) and not out[-1][-1].isspace()
        match = _LEADING_QUOTES.match(segment) if glued else None
        if match:
            out[-1] += match.group(0)
            segment = segment[match.end() :]
        if segment:
            out.append(segment)
    return out


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


def segment(
    records: list[Record], models: Models, max_input_tokens: int | None = None, max_tokens: int = 0
) -> list[Record]:
    """Fill ``record.sentences``; sentences too long for the language's translator are split.

    A document over ``max_tokens`` (``input.max_tokens``, 0: no limit) fails before it is split.
    """
    for record in records:
        if not record.ok or record.lang is None:
            continue
        if max_tokens and (tokens := _tokens(record, models, max_tokens)) > max_tokens:
            record.fail("segment", too_long(tokens, max_tokens))
            continue
        try:
            record.sentences = [
                split_sentences(p, record.paragraph_lang(i) or ENGLISH)
                for i, p in enumerate(record.paragraphs)
            ]
            _fit_translators(record, models, max_input_tokens)
        except ValueError as exc:
            record.fail("segment", str(exc))
    return records


def _tokens(record: Record, models: Models, max_tokens: int) -> int:
    """The document's tokens as its translation models count them (English paragraphs of a mixed
    document by the document's own), or 0 when not counted here.

    English skips translation, so the summarizer counts it, in the summarize stage. Only English
    with more words than ``max_tokens`` (each word is a token at least) is counted now, so that a
    huge one does not first cost pysbd's ~8 s per MB. (Clean leaves single spaces between words.)
    """
    if record.lang == ENGLISH:
        if sum(p.count(" ") + 1 for p in record.paragraphs) <= max_tokens:
            return 0
        return count_tokens(record.paragraphs, partial(models.summarizer().count_tokens, special=False))
    by_model: dict[str, list[str]] = {}
    for i, paragraph in enumerate(record.paragraphs):
        lang = record.paragraph_lang(i) or ENGLISH
        by_model.setdefault((record.lang or "") if lang == ENGLISH else lang, []).append(paragraph)
    return sum(
        count_tokens(paragraphs, partial(models.translator(lang).count_tokens, special=False))
        for lang, paragraphs in by_model.items()
    )


def _fit_translators(record: Record, models: Models, max_input_tokens: int | None) -> None:
    for p, sentences in enumerate(record.sentences):
        lang = record.paragraph_lang(p)
        if lang is None or lang == ENGLISH:
            continue
        translator = models.translator(lang)
        limit = max_input_tokens or translator.max_input_tokens
        counts = translator.count_tokens(sentences)
        if max(counts, default=0) <= limit:
            continue
        record.sentences[p] = [
            piece
            for sentence, n in zip(sentences, counts, strict=True)
            for piece in (split_to_fit(sentence, translator.count_tokens, limit) if n > limit else [sentence])
        ]
        log.debug("%s: split an over-long sentence in paragraph %d to fit %d tokens", record.id, p, limit)
