"""The one record type that flows through every stage (docs/architecture.md, "How a document flows")."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, replace

ENGLISH = "en"  # the target language; English input passes through untranslated


@dataclass
class StageError:
    stage: str
    message: str


@dataclass
class Removed:
    """Something the clean stage dropped, kept so the user can see what was taken out and why."""

    kind: str  # metadata, photo_credit, caption, repeated_caption, duplicate, gallery, agency, related, image
    text: str


@dataclass
class OutputWarning:
    """Generated text that probably degenerated: kept as it is, and counted so nobody misses it."""

    stage: str  # translate | summarize
    kind: str  # max_length: stopped by the length limit, not by the model; repetition: an n-gram loop
    count: int  # this document's outputs of ``stage`` with this flag
    outputs: int  # this document's outputs of ``stage`` (sentences translated; chunk summaries)


_OUTPUTS = {"translate": "translations", "summarize": "summaries"}
_KINDS = {"max_length": "cut at max_length", "repetition": "stuck in a repetition loop"}


def warning_text(stage: str, kind: str, count: int, outputs: int | None = None) -> str:
    """``3 of 40 translations cut at max_length``; without ``outputs``: ``3 translations ...``."""
    of = f" of {outputs}" if outputs is not None else ""
    return f"{count}{of} {_OUTPUTS.get(stage, stage + ' outputs')} {_KINDS.get(kind, kind)}"


@dataclass
class Record:
    id: str
    raw: str = ""  # decoded input text (HTML still as HTML)
    path: str | None = None  # absolute path of the input file, None for JSONL records
    fmt: str = "text"  # "text" | "markdown" | "html"
    lang_hint: str | None = None  # from a JSONL "lang" field or --lang
    # ingest
    encoding: str | None = None
    repairs: list[str] = field(default_factory=list)  # e.g. ["mojibake"]
    # clean
    paragraphs: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    removed: list[Removed] = field(default_factory=list)
    title: str | None = None
    title_en: str | None = None  # the title translated (the title itself for English input)
    # detect
    lang: str | None = None
    lang_confidence: float | None = None
    lang_source: str | None = None  # "detected" or "given" (--lang / JSONL "lang")
    # each paragraph's language, when some paragraphs are in another language than ``lang``
    # (each is translated by its own model); empty for a document in one language
    paragraph_langs: list[str] = field(default_factory=list)
    # segment: sentences per paragraph
    sentences: list[list[str]] = field(default_factory=list)
    # translate: English sentences per paragraph, aligned with ``sentences``
    translated: list[list[str]] = field(default_factory=list)
    # summarize
    summary: str | None = None
    chunks: int = 0
    coverage: float | None = None
    # translate, summarize: outputs that look degenerate (see ``count_outputs``)
    warnings: list[OutputWarning] = field(default_factory=list)
    generated: dict[str, int] = field(default_factory=dict)  # outputs generated per stage
    # bookkeeping
    timings: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    digest: str | None = None  # hash of the input as read and the decoder version (``input_digest``)
    key: str | None = None  # hash of input digest + effective config + model identity, used to resume
    id_escape: str | None = None  # how ingest escaped an id that UTF-8 cannot hold (None: not escaped)
    error: StageError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def source(self) -> str:
        """The cleaned source text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    def paragraph_lang(self, index: int) -> str | None:
        """The language paragraph ``index`` is in (the document's, unless it is mixed)."""
        return self.paragraph_langs[index] if self.paragraph_langs else self.lang

    @property
    def english(self) -> list[list[str]]:
        """The English sentences per paragraph: the input's own for English input, else their
        translations (English paragraphs of a mixed document included)."""
        return self.sentences if self.lang == ENGLISH and not self.paragraph_langs else self.translated

    @property
    def translation(self) -> str:
        """The English text, sentences joined by spaces, paragraphs by blank lines."""
        return "\n\n".join(" ".join(p) for p in self.english)

    def fail(self, stage: str, message: str) -> Record:
        self.error = StageError(stage, message)
        return self

    def count_outputs(self, stage: str, flags: list[tuple[str, ...]]) -> None:
        """Add outputs generated for this document in ``stage``, each with its degeneration flags
        (kinds of ``OutputWarning``), to ``generated`` and ``warnings``."""
        self.generated[stage] = self.generated.get(stage, 0) + len(flags)
        for kind in sorted({k for f in flags for k in f}):
            warning = next((w for w in self.warnings if (w.stage, w.kind) == (stage, kind)), None)
            if warning is None:
                self.warnings.append(warning := OutputWarning(stage, kind, 0, 0))
            warning.count += sum(kind in f for f in flags)
        for warning in self.warnings:
            if warning.stage == stage:
                warning.outputs = self.generated[stage]

    def snapshot(self) -> Record:
        """A copy later stages cannot change: they replace strings and inner lists, so containers are
        copied one level deep (and warnings, whose counts grow); a deep copy walks every sentence."""
        copied = {f.name: copy.copy(getattr(self, f.name)) for f in fields(self)}
        copied["warnings"] = [replace(w) for w in self.warnings]
        return Record(**copied)
