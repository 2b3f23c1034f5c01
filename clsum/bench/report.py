"""The systems' raw results turned into the reported numbers, the table and the summary line: typed,
with one serializer (``to_json``) for the JSON the command writes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from clsum.bench import measure
from clsum.bench.baselines import ByStage, Decoding
from clsum.bench.job import Doc, DocResult, Output, SystemResult
from clsum.bench.standins.models import BenchModels, Lengths

REFERENCE = "naive"  # the fp32 outputs other systems are compared with
SAME_SETTINGS = "ctranslate2-plain"  # decodes with clsum's settings: outputs compared token for token


@dataclass(frozen=True)
class Differing:
    """How many documents' translations, and how many summaries, differ from a reference run's."""

    translation: int
    summary: int

    @classmethod
    def between(cls, reference: Sequence[Output], other: Sequence[Output]) -> Differing:
        ref = {d.id: d for d in reference}

        def count(part: str) -> int:
            return sum(1 for d in other if d.id not in ref or getattr(d, part) != getattr(ref[d.id], part))

        return cls(count("translation"), count("summary"))


@dataclass(frozen=True)
class Context:
    """How the numbers were obtained: command, models, inputs, machine, versions."""

    command: str
    threads: int
    forced_lengths: bool
    forced_output_tokens: Lengths | None
    models: BenchModels
    seconds_building_models: float
    seconds_converting_ct2: float
    seconds_total: float
    inputs: Inputs
    machine: Machine
    versions: dict[str, str]
    clsum_overrides: list[str]


def to_json(report: BenchReport | InvarianceReport) -> dict[str, Any]:
    """The JSON the command writes: the report's fields, then its context's, at the top level."""
    out = asdict(report)
    context = out.pop("context") or {}
    return {**out, **context}


@dataclass(frozen=True)
class Inputs:
    folder: str
    documents: int
    langs: list[str]
    limit_per_lang: int


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int | None
    platform: str


@dataclass
class SystemNumbers:
    articles_per_min: float
    source_tokens_per_s: float
    seconds: float
    setup_seconds: float
    load_seconds: float | None
    stage_seconds: dict[str, float]
    peak_rss_mb: float
    memory_measure: str
    achieved_gflops: float | None
    share_of_fp32_peak: float | None
    share_of_int8_peak: float | None
    chrf_vs_naive: dict[str, float | None] | None
    # documents whose translation / summary is not the plain CTranslate2 loop's, token for token
    differing_vs_ctranslate2_plain: Differing | None
    mean_summary_chars: float
    # decoder steps per output (forced BOS/EOS included), baselines only: forced lengths match
    mean_translation_tokens: float | None
    mean_summary_tokens: float | None
    backend: list[str] | None
    torch_threads: int | None
    outputs: list[Output]


@dataclass
class BenchReport:
    systems: dict[str, SystemNumbers]
    flops_per_article: float | None
    flops_formula: str | None
    source_tokens: int
    sentences: int
    matmul_peak: measure.MatmulPeak
    settings: ByStage[dict[str, Any]]  # the runtime's values(): generation_config.json's keys
    settings_origins: ByStage[dict[str, str]]
    summary_line: str
    context: Context | None = None

    @classmethod
    def of(
        cls,
        results: dict[str, SystemResult],
        docs: list[Doc],
        decoding: Decoding,
        arch: dict[str, measure.Arch],
        peak: measure.MatmulPeak,
    ) -> BenchReport:
        """The report's numbers; ``arch`` holds every model's architecture by directory."""
        source_tokens = sum(n for d in docs for n in d.unit_tokens)
        flops = _flops_per_article(results, docs, decoding, arch)
        systems = {name: _system(r, results, source_tokens, flops, peak) for name, r in results.items()}
        return cls(
            systems=systems,
            flops_per_article=flops,
            flops_formula=measure.__doc__,
            source_tokens=source_tokens,
            sentences=sum(len(p) for d in docs for p in d.sentences),
            matmul_peak=peak,
            settings=decoding.by_stage(lambda s: s.values()),
            settings_origins=decoding.by_stage(lambda s: dict(s.origins)),
            summary_line=summary_line(systems),
        )

    def table(self) -> str:
        head = (
            f"{'system':18} {'art/min':>8} {'src tok/s':>9} {'steady s':>9} {'setup s':>8} "
            f"{'translate s':>11} {'summarize s':>11} {'peak RSS MB':>11} {'GFLOP/s':>8} "
            f"{'%peak f32/i8':>13} {'chrF tr/sum':>12} {'≠plain tr/sum':>13}"
        )
        lines = [head, "-" * len(head)]
        for name, s in self.systems.items():
            st = s.stage_seconds
            chrf = s.chrf_vs_naive
            agree = "-" if chrf is None else f"{_fmt(chrf['translation'])}/{_fmt(chrf['summary'])}"
            shares = [s.share_of_fp32_peak, s.share_of_int8_peak]
            share = "/".join("-" if x is None else f"{100 * x:.0f}%" for x in shares)
            diff = s.differing_vs_ctranslate2_plain
            differ = "-" if diff is None else f"{diff.translation}/{diff.summary}"
            lines.append(
                f"{name:18} {s.articles_per_min:8.2f} {s.source_tokens_per_s:9.1f} {s.seconds:9.1f} "
                f"{s.setup_seconds:8.1f} {st.get('translate', 0.0):11.1f} {st.get('summarize', 0.0):11.1f} "
                f"{s.peak_rss_mb:11.0f} {_fmt(s.achieved_gflops):>8} {share:>13} {agree:>12} {differ:>13}"
            )
        peak, flops = self.matmul_peak, self.flops_per_article
        lines.append(
            f"FLOPs/article {flops / 1e9:.1f} G (analytical); matmul peak fp32 {peak.fp32_gflops} GFLOP/s, "
            f"int8 {peak.int8_gops} GOP/s ({peak.threads} threads, {peak.size}^2)"
            if flops
            else "FLOPs/article: unknown (run the naive or ctranslate2-plain system)"
        )
        if self.context:
            lines.append("models: " + "; ".join(m.provenance for m in self.context.models.all()))
        return "\n".join(lines)


@dataclass
class InvarianceReport:
    """``clsum bench --invariance``: every variant's outputs against the first variant's."""

    reference: str
    documents: int
    differing: dict[str, Differing]
    outputs: dict[str, list[Output]]
    context: Context | None = None

    def table(self) -> str:
        n = self.documents
        lines = [f"{'variant':76} {'translations':>12} {'summaries':>10}", "-" * 100]
        for name, diff in self.differing.items():
            lines.append(f"{name:76} {diff.translation:>7} / {n:<3} {diff.summary:>5} / {n:<3}")
        lines.append(f"differing from the first variant ({self.reference}), token for token")
        return "\n".join(lines)


def _system(
    r: SystemResult,
    results: dict[str, SystemResult],
    source_tokens: int,
    flops: float | None,
    peak: measure.MatmulPeak,
) -> SystemNumbers:
    per_s = len(r.docs) / r.seconds if r.seconds > 0 else 0.0
    achieved = flops * per_s if flops else None
    plain = results.get(SAME_SETTINGS)
    return SystemNumbers(
        articles_per_min=round(60 * per_s, 2),
        source_tokens_per_s=round(source_tokens / r.seconds, 1),
        seconds=round(r.seconds, 2),
        setup_seconds=round(r.setup_seconds, 2),
        load_seconds=None if r.load_seconds is None else round(r.load_seconds, 2),
        stage_seconds={k: round(v, 2) for k, v in r.stage_seconds.items()},
        peak_rss_mb=round(r.peak_rss_bytes / 2**20, 1),
        memory_measure=r.memory_measure,
        achieved_gflops=None if achieved is None else round(achieved / 1e9, 2),
        share_of_fp32_peak=_share(achieved, peak.fp32_gflops),
        share_of_int8_peak=_share(achieved, peak.int8_gops),
        chrf_vs_naive=_agreement(results, r),
        differing_vs_ctranslate2_plain=(
            Differing.between(plain.docs, r.docs) if plain and r.system != SAME_SETTINGS else None
        ),
        mean_summary_chars=round(statistics.fmean(len(d.summary) for d in r.docs), 1),
        mean_translation_tokens=_mean([t for d in r.docs for t in d.out_tokens]),
        mean_summary_tokens=_mean([d.summary_tokens for d in r.docs if d.out_tokens]),
        backend=r.backend,
        torch_threads=r.torch_threads,
        outputs=r.outputs(),
    )


def summary_line(systems: dict[str, SystemNumbers]) -> str:
    def ratio(other: str, system: str = "clsum") -> str:
        if system not in systems or other not in systems or not systems[other].articles_per_min:
            return "nan"
        return f"{systems[system].articles_per_min / systems[other].articles_per_min:.2f}"

    clsum = systems.get("clsum")
    apm = clsum.articles_per_min if clsum else float("nan")
    diff = clsum.differing_vs_ctranslate2_plain if clsum else None
    n = len(clsum.outputs) if clsum else 0
    differ = "nan" if diff is None else f"tr:{diff.translation}/{n},sum:{diff.summary}/{n}"
    # the ray engine against the local one (clsum bench --engine ray)
    ray = "".join(
        f" {name}_vs_clsum={ratio('clsum', name)}" for name in systems if name.startswith("clsum-ray")
    )
    return (
        f"speedup_vs_naive={ratio('naive')} speedup_vs_ctranslate2={ratio('ctranslate2-plain')} "
        f"differing_vs_ctranslate2={differ} articles_per_min={apm:.1f}{ray}"
    )


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(achieved: float | None, peak_g: float | None) -> float | None:
    if not achieved or not peak_g:
        return None
    return round(achieved / (peak_g * 1e9), 4)


def _agreement(results: dict[str, SystemResult], r: SystemResult) -> dict[str, float | None] | None:
    """Corpus chrF (sacrebleu defaults) of ``r``'s outputs against the fp32 (naive) outputs."""
    from sacrebleu.metrics import CHRF

    if r.system == REFERENCE or REFERENCE not in results:
        return None
    ref = {d.id: d for d in results[REFERENCE].docs}
    pairs = [(d, ref[d.id]) for d in r.docs if d.id in ref]

    def chrf(part: str) -> float | None:
        hyps, refs = [getattr(d, part) for d, _ in pairs], [getattr(x, part) for _, x in pairs]
        return round(CHRF().corpus_score(hyps, [refs]).score, 2) if pairs else None

    return {part: chrf(part) for part in ("translation", "summary")}


def _flops_per_article(
    results: dict[str, SystemResult], docs: list[Doc], decoding: Decoding, arch: dict[str, measure.Arch]
) -> float | None:
    """Mean analytical FLOPs per article, from the output lengths a baseline actually generated."""
    base = next((results[s] for s in (REFERENCE, SAME_SETTINGS) if s in results), None)
    if base is None:
        return None
    by_id: dict[str, DocResult] = {d.id: d for d in base.docs}
    summarizer = arch[decoding.summarizer]
    summary_beam = decoding.summarization.config.num_beams
    total = 0.0
    for doc in docs:
        out = by_id[doc.id]
        translator = arch[decoding.translators[doc.lang]]
        beam = decoding.translation[doc.lang].config.num_beams
        total += sum(
            measure.generation_flops(translator, n, t, beam)
            for n, t in zip(doc.unit_tokens, out.out_tokens, strict=True)
        )
        total += measure.generation_flops(
            summarizer, out.summary_input_tokens, out.summary_tokens, summary_beam
        )
    return round(total / len(docs))
