"""Benchmark inputs: documents cleaned and segmented once, with clsum's own stages.

The baselines get each document's sentences exactly as clsum's segment stage produces them, and
clsum gets the same raw text (which its stages turn into the same sentences; the clsum child checks
the sentence counts). The translated title, which clsum produces for display, is translated by the
baselines too, so every system translates the same units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clsum.errors import InputError
from clsum.record import Record


@dataclass
class Doc:
    id: str
    lang: str
    raw: str  # what clsum is given
    title: str | None  # translated separately by clsum (title_en), so by the baselines too
    sentences: list[list[str]]  # per paragraph, as clsum's segment stage leaves them

    @property
    def units(self) -> list[str]:
        """What a translator gets: the title (if any), then every sentence in order."""
        return ([self.title] if self.title else []) + [s for p in self.sentences for s in p]

    @property
    def n_sentences(self) -> int:
        return sum(len(p) for p in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_raw(folder: Path | None, langs: list[str], limit: int | None) -> list[Record]:
    """NTREX documents (first ``limit`` per language), or every document under ``folder``."""
    if folder is not None:
        from clsum.pipeline.ingest import ingest

        records = [r for r in ingest(folder) if r.ok]
        return records[: limit * len(langs)] if limit else records
    from clsum.eval.data import load_ntrex_documents

    records = []
    for lang in langs:
        segments = load_ntrex_documents(lang).segments
        for seg in segments[:limit] if limit else segments:
            # One NTREX line per paragraph: the lines are the article's sentences/paragraphs.
            records.append(
                Record(id=f"ntrex-{lang}-{seg.id}", raw=seg.source.replace("\n", "\n\n"), lang_hint=lang)
            )
    return records


def prepare(records: list[Record], translation_models: dict[str, str], langs: list[str]) -> list[Doc]:
    """Run clean, detect and segment (tokenizers only) and keep the documents in ``langs``."""
    from clsum.pipeline.clean import clean
    from clsum.pipeline.detect import detect
    from clsum.pipeline.runtime import Models
    from clsum.pipeline.segment import segment

    models = Models(translation_models, summarizer="", device="cpu")
    clean(records)
    detect(records, sorted(translation_models))
    segment(records, models)
    docs = [
        Doc(r.id, r.lang, r.raw, r.title, r.sentences)
        for r in records
        if r.ok and r.lang in langs and r.sentences
    ]
    if not docs:
        raise InputError(f"bench: no usable documents in {', '.join(langs)}")
    return docs


def raw_lines(records: list[Record], lang: str) -> list[str]:
    """Non-empty lines of the raw documents of ``lang`` (tokenizer training text)."""
    return [
        line.strip()
        for r in records
        if (r.lang_hint or r.lang) == lang
        for line in r.raw.splitlines()
        if line.strip()
    ]
