"""Benchmark inputs: documents cleaned and segmented once, by the pipeline clsum runs.

The baselines get each document's sentences exactly as clsum's segment stage produces them, and
clsum gets the same raw text (which its stages turn into the same sentences; the clsum child checks
the sentence counts). The translated title, which clsum produces for display, is translated by the
baselines too, so every system translates the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from clsum.errors import InputError
from clsum.record import Record
from clsum.runner import Pipeline


@dataclass
class Doc:
    id: str
    lang: str
    raw: str  # what clsum is given
    title: str | None  # translated separately by clsum (title_en), so by the baselines too
    sentences: list[list[str]]  # per paragraph, as clsum's segment stage leaves them
    unit_tokens: list[int] = field(default_factory=list)  # translator input tokens per unit

    @property
    def units(self) -> list[str]:
        """What a translator gets: the title (if any), then every sentence in order."""
        return ([self.title] if self.title else []) + [s for p in self.sentences for s in p]


def load_raw(folder: Path | None, langs: list[str], limit: int | None) -> list[Record]:
    """NTREX documents (first ``limit`` per language), or every document under ``folder``."""
    if folder is not None:
        from clsum.pipeline.ingest import ingest

        records = [r for r in ingest(folder) if r.ok]
        return records[: limit * len(langs)] if limit else records
    from clsum.eval.data import load_ntrex_documents

    # One NTREX line per paragraph: the lines are the article's sentences/paragraphs.
    return [
        Record(id=f"ntrex-{lang}-{seg.id}", raw=seg.source.replace("\n", "\n\n"), lang_hint=lang)
        for lang in langs
        for seg in load_ntrex_documents(lang).segments[: limit or None]
    ]


def prepare(pipeline: Pipeline, records: list[Record], langs: list[str]) -> list[Doc]:
    """Clean, detect and segment ``records`` with ``pipeline``; the documents in ``langs``, with
    their units' token counts from the pipeline's own translator tokenizers."""
    pipeline.process(records, until="detect")
    # Segmenting loads the language's translator: only for the languages benchmarked.
    kept = [r for r in records if r.ok and r.lang in langs]
    pipeline.process(kept, start="segment", until="segment")
    docs = [Doc(r.id, r.lang or "", r.raw, r.title, r.sentences) for r in kept if r.ok and r.sentences]
    if not docs:
        raise InputError(f"bench: no usable documents in {', '.join(langs)}")
    for doc in docs:
        doc.unit_tokens = pipeline.models.translator(doc.lang).count_tokens(doc.units)
    return docs


def training_text(folder: Path | None, records: list[Record], lang: str) -> list[str]:
    """Training text for a random model's tokenizer: the non-empty lines of the documents of ``lang``,
    all of NTREX's when benchmarking NTREX (else any document's lines when none is in ``lang``)."""
    if folder is None:
        records = load_raw(None, [lang], None)
    lines = (line.strip() for r in records if (r.lang_hint or r.lang) == lang for line in r.raw.splitlines())
    return [line for line in lines if line] or [line for r in records for line in r.raw.splitlines()]
