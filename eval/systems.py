"""System types a benchmark can run (docs/architecture.md, a system). Systems with models go through
``clsum.runner.Pipeline``, the code ``clsum summarize`` runs, so a benchmark measures what users get."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from clsum.config import Config, unknown
from clsum.errors import ConfigError
from clsum.eval import extractive
from clsum.eval.data import Segment
from clsum.record import StageError
from clsum.settings import build as build_settings
from clsum.settings import setting, shown

if TYPE_CHECKING:
    from clsum.record import Record
    from clsum.runner import Pipeline, StageName

PIPELINE_BATCH = 32  # documents per Pipeline call: a progress step, and bounded memory


@dataclass
class RunContext:
    """What every system may need: the source language and the (lazily built) pipeline."""

    source_lang: str
    config: Config
    progress: bool = False
    models: dict[str, str] = field(default_factory=dict)  # role -> provenance of what made the outputs

    @cached_property
    def pipeline(self) -> Pipeline:
        from clsum.runner import Pipeline

        return Pipeline(self.config)

    def prepare(self, runs: list[tuple[str, StageName]]) -> None:
        """Check the settings and load the tokenizers of every model ``runs`` (lang, until) need, so a
        missing or broken model fails at once (ConfigError/ModelError), not after other systems ran."""
        for lang, until in runs:
            pipeline = self.pipeline  # built on the first run: baselines alone need none
            pipeline.check(until)
            if lang != "en":  # every run ends at translate or summarize
                if lang not in (configured := self.config.translation.models):
                    raise ConfigError(f"no translation model for {unknown('language', lang, configured)}")
                pipeline.models.translator(lang)
            if until == "summarize":
                pipeline.models.summarizer()

    def generation_settings(self) -> dict[str, dict[str, str]]:
        """Per model the systems used: its provenance and effective generation settings with origins."""
        settings = {}
        built = "pipeline" in vars(self)  # no system ran a model: no pipeline to build now
        for role, used in (self.pipeline.models.generation() if built else {}).items():
            lang = role.removeprefix("translation.models.")
            name = "summarization" if role == "summarization.model" else f"translation ({lang})"
            generation = {k: f"{e['value']} ({e['origin']})" for k, e in used["generation"].items()}
            settings[name] = {"model": used["provenance"], **generation}
        return dict(sorted(settings.items(), key=lambda item: item[0] == "summarization"))  # translation 1st

    def run_pipeline(self, texts: list[str], lang: str, until: StageName, desc: str) -> list[Record]:
        """``Pipeline.summarize_texts`` in batches, with a progress bar over documents."""
        from tqdm import tqdm

        records: list[Record] = []
        with tqdm(total=len(texts), desc=desc, unit="doc", disable=not self.progress, leave=False) as bar:
            for start in range(0, len(texts), PIPELINE_BATCH):
                batch = texts[start : start + PIPELINE_BATCH]
                records += self.pipeline.summarize_texts(batch, lang=lang, until=until)
                bar.update(len(batch))
        for record in records:
            self.models.update(record.models)
        return records


def translation_text(record: Record, paragraph_sep: str = "\n") -> str:
    """The English text of a translated record: title first, then one line per paragraph."""
    paragraphs = [record.title_en or "", *(" ".join(p) for p in record.english)]
    return paragraph_sep.join(p for p in paragraphs if p)


@dataclass
class DocInfo:
    """What a system noted about one document (outputs/SYSTEM.jsonl): what clean and segment kept, the
    English translation behind a summary (for the checks), and the error the document failed with."""

    lines: int | None = None  # non-empty input lines (NTREX: sentences)
    paragraphs: int | None = None  # paragraphs out, the title counted
    sentences: int | None = None
    removed: list[str] | None = None  # the kinds of what clean removed
    title_untranslated: bool | None = None  # True or None
    error: StageError | None = None
    translation: str | None = None

    @classmethod
    def of(cls, record: Record, translation: bool = False) -> DocInfo:
        return cls(
            lines=sum(1 for line in record.raw.split("\n") if line.strip()),
            paragraphs=len(record.paragraphs) + (1 if record.title else 0),
            sentences=sum(len(p) for p in record.sentences),
            removed=[r.kind for r in record.removed],
            title_untranslated=bool(record.title and record.lang != "en" and record.title_en is None) or None,
            error=record.error,
            translation=translation_text(record) if translation else None,
        )


@dataclass
class NoParams:
    pass


@dataclass
class KParams:
    k: int = setting(3, "sentences", min=1)


@dataclass(eq=False, repr=False)  # its info and references can be long
class System:
    """Base class. ``Params`` is the dataclass its benchmark ``params`` are built into."""

    kind: ClassVar[str] = "translation"  # "translation" or "summary" (summaries get checks)
    Params: ClassVar[Any] = NoParams
    name: str
    params: Any  # a built ``Params``
    type: str = ""  # the registry name
    info: list[DocInfo] = field(default_factory=list)  # none: no pipeline ran, nothing to note
    references: list[str] | None = None

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        raise NotImplementedError

    def runs(self, lang: str) -> list[tuple[str, StageName]]:
        """The pipeline runs (language, last stage) ``run`` makes for source language ``lang``."""
        return []


class Identity(System):
    """The source unchanged: the floor any translation must beat."""

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        return [s.source for s in segments]


class PipelineSummarize(System):
    """The whole pipeline: the summary ``clsum summarize`` would write."""

    kind = "summary"
    until: ClassVar[StageName] = "summarize"

    def runs(self, lang: str) -> list[tuple[str, StageName]]:
        return [(lang, self.until)]

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        records = ctx.run_pipeline([s.source for s in segments], ctx.source_lang, self.until, self.name)
        self.info = [DocInfo.of(r, translation=self.kind == "summary") for r in records]
        return [self.output(r) if r.ok else "" for r in records]

    def output(self, record: Record) -> str:
        return record.summary or ""


class PipelineTranslate(PipelineSummarize):
    """clean -> detect -> segment -> translate, exactly as ``clsum summarize`` runs them."""

    kind = "translation"
    until = "translate"

    @dataclass
    class Params:
        paragraph_sep: str = setting("\n", "between the translated title and paragraphs")

    params: Params

    def output(self, record: Record) -> str:
        return translation_text(record, self.params.paragraph_sep)


class LeadK(System):
    """The first k sentences (Lead-3 is the classic news baseline)."""

    kind = "summary"
    Params = KParams
    params: KParams

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        # One sentence per line: ROUGE-Lsum splits summaries at newlines.
        return ["\n".join(extractive.lead(s.source, ctx.source_lang, self.params.k)) for s in segments]


class TextRank(System):
    """Graph-based extractive summary (TF-IDF cosine graph + PageRank), language-agnostic."""

    kind = "summary"

    @dataclass
    class Params(KParams):
        max_words: int | None = setting(
            extractive.MAX_SENTENCE_WORDS, "longer sentences are splitter failures: skipped; null: keep all"
        )

    params: Params

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        k, max_words = self.params.k, self.params.max_words
        return ["\n".join(extractive.textrank(s.source, ctx.source_lang, k, max_words)) for s in segments]


class Published(System):
    """Outputs published with the dataset (e.g. CNN/DM ``bart``): scored, not generated."""

    kind = "summary"

    @dataclass
    class Params:
        field: str = setting("bart", "the dataset's field with the published outputs")

    params: Params

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        field_name = self.params.field
        missing = [s.id for s in segments if field_name not in s.extra]
        if missing:
            problem = unknown("published field", field_name, sorted({k for s in segments for k in s.extra}))
            raise ConfigError(f"system {self.name!r}: segment {missing[0]}: {problem}")
        return [s.extra[field_name] for s in segments]


_EXTRACTORS: dict[str, Callable[[str, str, int], list[str]]] = {
    "textrank": extractive.textrank,
    "lead-k": extractive.lead,
}


class SummarizeThenTranslate(System):
    """Extract in the source language, then translate the extract: the other stage ordering.
    ``reference: english-summary`` scores it against the extractor run on the English original (NTREX
    has no reference summaries)."""

    kind = "summary"

    @dataclass
    class Params(KParams):
        extractor: Literal["textrank", "lead-k"] = setting("textrank", "textrank or lead-k")
        reference: Literal["reference", "english-summary"] = setting(
            "reference", "the dataset's, or english-summary: the extractor run on the English original"
        )

    params: Params

    def runs(self, lang: str) -> list[tuple[str, StageName]]:
        return [] if lang == "en" else [(lang, "translate")]

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        extract, k = _EXTRACTORS[self.params.extractor], self.params.k
        outputs = ["\n".join(extract(s.source, ctx.source_lang, k)) for s in segments]
        if ctx.source_lang != "en":  # translate the extracts
            records = ctx.run_pipeline(outputs, ctx.source_lang, "translate", self.name)
            self.info = [DocInfo.of(r) for r in records]
            outputs = [translation_text(r) if r.ok else "" for r in records]
        if self.params.reference == "english-summary":
            self.references = ["\n".join(extract(s.reference, "en", k)) for s in segments]
        return outputs


class CrossLingualConsistency(System):
    """Summary of the translated document vs. the same summarizer's summary of the English original
    (``textrank``/``lead-k`` extract from the pipeline's translation): high scores mean the translation
    changes little of what the summarizer picks up."""

    kind = "summary"

    @dataclass
    class Params(KParams):
        summarizer: Literal["pipeline", "textrank", "lead-k"] = setting(
            "pipeline", "pipeline (the configured model), textrank or lead-k"
        )

    params: Params

    def runs(self, lang: str) -> list[tuple[str, StageName]]:
        if self.params.summarizer == "pipeline":
            return [(lang, "summarize"), ("en", "summarize")]
        return [(lang, "translate")]

    def run(self, segments: list[Segment], ctx: RunContext) -> list[str]:
        (lang, until), *english = self.runs(ctx.source_lang)
        src = ctx.run_pipeline([s.source for s in segments], lang, until, self.name)
        self.info = [DocInfo.of(r, translation=True) for r in src]
        if not english:
            extract, k = _EXTRACTORS[self.params.summarizer], self.params.k
            self.references = ["\n".join(extract(s.reference, "en", k)) for s in segments]
            return ["\n".join(extract(translation_text(r), "en", k)) if r.ok else "" for r in src]
        eng = ctx.run_pipeline([s.reference for s in segments], "en", "summarize", f"{self.name} (en)")
        self.references = [(r.summary or "") if r.ok else "" for r in eng]
        for info, record in zip(self.info, eng, strict=True):  # the English side failing fails it too
            if record.error and not info.error:
                info.error = StageError(f"{record.error.stage} (English side)", record.error.message)
        return [(r.summary or "") if r.ok else "" for r in src]


SYSTEM_TYPES: dict[str, type[System]] = {
    "identity": Identity,
    "pipeline-translate": PipelineTranslate,
    "pipeline-summarize": PipelineSummarize,
    "lead-k": LeadK,
    "textrank": TextRank,
    "published": Published,
    "summarize-then-translate": SummarizeThenTranslate,
    "cross-lingual-consistency": CrossLingualConsistency,
}


def build(name: str, type_: str, params: dict[str, Any] | None = None, where: str = "") -> System:
    """A system of a registered type, its ``params`` (YAML) built into its ``Params``: the one check of
    both. ``where`` starts a message (default: the system's name)."""
    where = where or f"system {shown(name)}"
    if type_ not in SYSTEM_TYPES:
        raise ConfigError(f"{where}: {unknown('system type', type_, SYSTEM_TYPES)}")
    cls = SYSTEM_TYPES[type_]
    return cls(name, build_settings(cls.Params, params or {}, f"{where}.params", what="param"), type_)
