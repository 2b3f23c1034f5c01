"""Stage 6: summarize each document's English text; a long one in chunks and rounds
(docs/outputs.md, "Long documents"). Chunks from all documents in the batch share generate() calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clsum.config import SummarizationConfig
from clsum.errors import ConfigError
from clsum.pipeline.limits import count_tokens, too_long
from clsum.pipeline.runtime import Models, Output, Seq2Seq
from clsum.pipeline.segment import split_sentences, split_to_fit
from clsum.record import ENGLISH, Record

log = logging.getLogger(__name__)


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
        pieces = [p for s in sentences for p in split_to_fit(s, self.count_plain, budget)]
        chunks: list[list[str]] = []
        used = budget + 1
        for piece, n in zip(pieces, self.count_plain(pieces), strict=True):
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

    def count_plain(self, texts: list[str]) -> list[int]:
        return self.model.count_tokens(texts, special=False)

    def tokens(self, sentences: list[str]) -> int:
        return sum(self.count_plain(sentences))


def _packer(model: Seq2Seq, config: SummarizationConfig) -> Packer:
    # the config's summarization.prefix, else the model's task prefix (T5: "summarize: ")
    return Packer(model, model.settings.prefix, config.max_input_tokens or model.max_input_tokens)


def check_summarization(models: Models, config: SummarizationConfig) -> None:
    """Raise ConfigError for settings the summarizer cannot work with (checked before any document)."""
    _packer(models.summarizer(), config)


def summarize(
    records: list[Record], models: Models, config: SummarizationConfig, max_tokens: int = 0
) -> list[Record]:
    """Fill ``summary``, ``chunks`` and ``coverage``. An English document over ``max_tokens``
    (``input.max_tokens``) fails: the segment stage counts only those with more words than that."""
    if not any(r.ok and r.lang for r in records):
        return records
    model = models.summarizer()
    packer = _packer(model, config)
    _refuse_long_english(records, packer, max_tokens)
    todo = [r for r in records if r.ok and r.lang]
    rounds = _Rounds(model, packer, config)
    docs = [_Doc(r, _first_chunks(r, packer, config.truncate), rounds.pair_length) for r in todo]
    done = 0
    while docs:
        docs = rounds.run(docs, first=done == 0)
        done += 1
    log.debug("summarized %d documents in %d rounds", len(todo), done)
    provenance = model.provenance  # a local directory's is a hash check: once, not per document
    for record in todo:
        record.models["summarization"] = provenance
    return records


def _refuse_long_english(records: list[Record], packer: Packer, max_tokens: int) -> None:
    if not max_tokens:
        return
    for record in records:
        if record.ok and record.lang == ENGLISH:
            tokens = count_tokens(record.paragraphs, packer.count_plain)
            if tokens > max_tokens:
                record.fail("summarize", too_long(tokens, max_tokens))


def _first_chunks(record: Record, packer: Packer, truncate: bool) -> list[str]:
    chunks = packer.pack([s for p in record.english for s in p])
    record.chunks, record.coverage = len(chunks), 1.0
    if truncate and len(chunks) > 1:
        read, total = packer.tokens(chunks[0]), sum(packer.tokens(c) for c in chunks)
        record.chunks, record.coverage = 1, round(read / max(total, 1), 4)
        log.info("%s: truncated: the summarizer reads %.0f%% of its tokens", record.id, 100 * record.coverage)
        chunks = chunks[:1]
    return [packer.text(c) for c in chunks]


@dataclass
class _Doc:
    """A document between rounds: this round's inputs, and how long an intermediate summary may be."""

    record: Record
    chunks: list[str]
    pair_length: int  # max_length for a round that is not the last; halves when pairs still don't fit


class _Rounds:
    """Summarizes every pending chunk of a batch, one generate() call per output length."""

    def __init__(self, model: Seq2Seq, packer: Packer, config: SummarizationConfig) -> None:
        self.model, self.packer, self.config = model, packer, config
        # One summary: the model's max_length (summarization.max_length included).
        self.target = model.max_output_tokens
        # Intermediate summaries must leave room for two in one input, or no round would shrink.
        self.pair_length = max(1, min(self.target, (packer.limit - packer.overhead - 1) // 2))

    def _length(self, doc: _Doc, first: bool) -> int | None:
        """max_length for ``doc``'s outputs this round; None: the model's own (the first round, a
        last round of one chunk, and every round where two summaries of that length fit)."""
        if first or len(doc.chunks) == 1 or doc.pair_length >= self.target:
            return None
        return doc.pair_length

    def run(self, docs: list[_Doc], first: bool) -> list[_Doc]:
        """One round; returns the documents that need another."""
        outputs: dict[int, list[Output]] = {}
        lengths = [self._length(doc, first) for doc in docs]
        for length in dict.fromkeys(lengths):
            group = [i for i, n in enumerate(lengths) if n == length]
            flat = [(i, chunk) for i in group for chunk in docs[i].chunks]
            for (i, _), output in zip(flat, self._generate([c for _, c in flat], length), strict=True):
                outputs.setdefault(i, []).append(output)
        again = []
        for i, doc in enumerate(docs):
            doc.record.count_outputs("summarize", [o.flags for o in outputs[i]])
            parts = [o.text for o in outputs[i]]
            joined = " ".join(p for p in parts if p)
            doc.record.summary = joined
            if len(parts) == 1 or self.packer.tokens([joined]) <= self.target:
                continue
            chunks = [self.packer.text(c) for c in self.packer.pack(split_sentences(joined, ENGLISH))]
            if len(chunks) >= len(doc.chunks) and (lengths[i] or self.target) <= doc.pair_length:
                # Summaries of pair_length did not pair up (decoded text can take more tokens than
                # were generated): halve it. Halving ends in empty summaries, which always fit.
                doc.pair_length = max(1, doc.pair_length // 2)
            again.append(_Doc(doc.record, chunks, doc.pair_length))
        return again

    def _generate(self, texts: list[str], length: int | None) -> list[Output]:
        """Generation settings: the model's (the config's included), with a shorter max_length for
        an intermediate round; the minimum may not exceed it."""
        minimum = self.model.settings.config.min_length
        return self.model.generate(
            texts,
            batch_size=self.config.batch_size,
            batch_tokens=self.config.batch_tokens,
            max_length=length,  # None: unchanged
            min_length=length if length is not None and minimum and minimum > length else None,
        )
