"""Stage 6: summarize each document's English text with a seq2seq model.

A document longer than the model's input limit is packed, at sentence boundaries, into chunks that
fit; every chunk is summarized, and the partial summaries are joined. If the joined text is longer
than one summary may be, it is summarized again (map-reduce), until it fits or stops shrinking.
Chunks from all documents in the batch share generate() calls.
"""

from __future__ import annotations

import logging

from clsum.config import SummarizationConfig
from clsum.errors import ConfigError
from clsum.pipeline.runtime import Models, Seq2Seq
from clsum.pipeline.segment import split_sentences, split_to_fit
from clsum.record import ENGLISH, Record

log = logging.getLogger(__name__)

MAX_ROUNDS = 4  # reduce rounds after the first; each round shrinks the text several-fold


class Packer:
    """Packs sentences into model inputs of at most ``limit`` tokens, prefix and special tokens included."""

    def __init__(self, model: Seq2Seq, prefix: str, limit: int) -> None:
        self.model, self.prefix, self.limit = model, prefix, limit
        self.overhead = model.count_tokens([prefix])[0]
        if self.overhead >= limit:
            raise ConfigError(f"summarization.prefix {prefix!r} alone fills the {limit}-token input limit")

    def text(self, sentences: list[str]) -> str:
        return self.prefix + " ".join(sentences)

    def fits(self, sentences: list[str]) -> bool:
        return self.model.count_tokens([self.text(sentences)])[0] <= self.limit

    def pack(self, sentences: list[str]) -> list[list[str]]:
        """Group sentences (split further when one alone is too long) into chunks that fit."""
        budget = self.limit - self.overhead
        pieces = [p for s in sentences for p in split_to_fit(s, self._count_plain, budget)]
        chunks: list[list[str]] = []
        used = budget + 1
        for piece, n in zip(pieces, self._count_plain(pieces), strict=True):
            if used + n + 1 > budget:  # +1: the space joining sentences may cost a token
                chunks.append([])
                used = 0
            chunks[-1].append(piece)
            used += n + 1
        return self._verified(chunks)

    def _verified(self, chunks: list[list[str]]) -> list[list[str]]:
        """Token counts of parts need not add up exactly; move trailing sentences on until each fits."""
        out: list[list[str]] = []
        queue = list(chunks)
        while queue:
            chunk = queue.pop(0)
            carry: list[str] = []
            while len(chunk) > 1 and not self.fits(chunk):
                carry.insert(0, chunk.pop())
            out.append(chunk)
            if carry:
                queue.insert(0, carry)
        return out

    def _count_plain(self, texts: list[str]) -> list[int]:
        return self.model.count_tokens(texts, special=False)

    def tokens(self, sentences: list[str]) -> int:
        return sum(self._count_plain(sentences))


def _packer(model: Seq2Seq, config: SummarizationConfig) -> Packer:
    # model.prefix: the config's summarization.prefix, else the model's task prefix (T5: "summarize: ")
    return Packer(model, model.prefix, config.max_input_tokens or model.max_input_tokens)


def check_summarization(models: Models, config: SummarizationConfig) -> None:
    """Raise ConfigError for settings the summarizer cannot work with (checked before any document)."""
    _packer(models.summarizer(), config)


def summarize(records: list[Record], models: Models, config: SummarizationConfig) -> list[Record]:
    todo = [r for r in records if r.ok and r.lang]
    if not todo:
        return records
    model = models.summarizer()
    packer = _packer(model, config)
    target = config.max_length or model.max_output_tokens
    pending = {i: _first_chunks(r, packer, config.truncate) for i, r in enumerate(todo)}
    for round_ in range(MAX_ROUNDS + 1):
        pending = _round(todo, pending, model, packer, config, target, last=round_ == MAX_ROUNDS)
        if not pending:
            break
    for record in todo:
        record.models["summarization"] = model.provenance
    return records


def _first_chunks(record: Record, packer: Packer, truncate: bool) -> list[str]:
    chunks = packer.pack([s for p in record.english for s in p])
    record.chunks, record.coverage = len(chunks), 1.0
    if truncate and len(chunks) > 1:
        read, total = packer.tokens(chunks[0]), sum(packer.tokens(c) for c in chunks)
        record.chunks, record.coverage = 1, round(read / max(total, 1), 4)
        log.info("%s: truncated: the summarizer reads %.0f%% of its tokens", record.id, 100 * record.coverage)
        chunks = chunks[:1]
    return [packer.text(c) for c in chunks]


def _round(
    records: list[Record],
    pending: dict[int, list[str]],
    model: Seq2Seq,
    packer: Packer,
    config: SummarizationConfig,
    target: int | None,
    last: bool,
) -> dict[int, list[str]]:
    """Summarize every pending chunk; return the documents whose joined partials need another round."""
    flat = [(i, chunk) for i, chunks in pending.items() for chunk in chunks]
    outputs = model.generate_outputs(  # generation settings: the model's (config's included)
        [chunk for _, chunk in flat], batch_size=config.batch_size, batch_tokens=config.batch_tokens
    )
    partials: dict[int, list[str]] = {}
    flags: dict[int, list[tuple[str, ...]]] = {}
    for (i, _), output in zip(flat, outputs, strict=True):
        partials.setdefault(i, []).append(output.text)
        flags.setdefault(i, []).append(output.flags)
    for i, found in flags.items():
        records[i].count_outputs("summarize", found)
    again: dict[int, list[str]] = {}
    for i, parts in partials.items():
        joined = " ".join(p for p in parts if p)
        records[i].summary = joined
        if len(parts) == 1 or target is None or packer.tokens([joined]) <= target:
            continue
        if last or packer.tokens([joined]) >= sum(packer.tokens([c]) for c in pending[i]):
            log.warning(
                "%s: partial summaries still exceed %d tokens; keeping them joined", records[i].id, target
            )
            continue
        again[i] = [packer.text(c) for c in packer.pack(split_sentences(joined, ENGLISH))]
    return again
