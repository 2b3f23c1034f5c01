"""Turn the systems' raw results into the reported numbers, the table and the summary line."""

from __future__ import annotations

import statistics
from typing import Any

from clsum.bench import measure
from clsum.bench.baselines import Decoding
from clsum.bench.inputs import Doc

REFERENCE = "naive"  # the fp32 outputs other systems are compared with
SAME_SETTINGS = "ctranslate2-plain"  # decodes with clsum's settings: outputs compared token for token


def summarize_results(
    results: dict[str, dict[str, Any]],
    docs: list[Doc],
    decoding: Decoding,
    arch: dict[str, measure.Arch],
    peak: dict[str, Any],
) -> dict[str, Any]:
    """The report's numbers; ``arch`` holds every model's architecture by directory."""
    source_tokens = sum(n for d in docs for n in d.unit_tokens)
    flops = _flops_per_article(results, docs, decoding, arch)
    systems = {name: _system(name, results, source_tokens, flops, peak) for name in results}
    return {
        "systems": systems,
        "flops_per_article": flops,
        "flops_formula": measure.__doc__,
        "source_tokens": source_tokens,
        "sentences": sum(d.n_sentences for d in docs),
        "matmul_peak": peak,
        "settings": decoding.to_dict(),
        "settings_origins": decoding.origins(),
        "summary_line": summary_line(systems),
    }


def _system(
    name: str,
    results: dict[str, dict[str, Any]],
    source_tokens: int,
    flops: float | None,
    peak: dict[str, Any],
) -> dict[str, Any]:
    r = results[name]
    per_s = r["documents"] / r["seconds"] if r["seconds"] > 0 else 0.0
    achieved = flops * per_s if flops else None
    return {
        "articles_per_min": round(60 * per_s, 2),
        "source_tokens_per_s": round(source_tokens / r["seconds"], 1),
        "seconds": round(r["seconds"], 2),
        "setup_seconds": round(r["setup_seconds"], 2),
        "load_seconds": None if r["load_seconds"] is None else round(r["load_seconds"], 2),
        "stage_seconds": {k: round(v, 2) for k, v in r["stage_seconds"].items()},
        "peak_rss_mb": round(r["peak_rss_bytes"] / 2**20, 1),
        "achieved_gflops": None if achieved is None else round(achieved / 1e9, 2),
        "share_of_fp32_peak": _share(achieved, peak.get("fp32_gflops")),
        "share_of_int8_peak": _share(achieved, peak.get("int8_gops")),
        "chrf_vs_naive": _agreement(results, name),
        # documents whose translation / summary is not the plain CTranslate2 loop's, token for token
        "differing_vs_ctranslate2_plain": (
            differing(results[SAME_SETTINGS]["docs"], r["docs"])
            if SAME_SETTINGS in results and name != SAME_SETTINGS
            else None
        ),
        "mean_summary_chars": round(statistics.fmean(len(d["summary"]) for d in r["docs"]), 1),
        # decoder steps per output (forced BOS/EOS included), baselines only: forced lengths match
        "mean_translation_tokens": _mean([t for d in r["docs"] for t in d["out_tokens"]]),
        "mean_summary_tokens": _mean([d["summary_tokens"] for d in r["docs"] if d["out_tokens"]]),
        "backend": r.get("backend"),
        "torch_threads": r.get("torch_threads"),
        "outputs": [{k: d[k] for k in ("id", "translation", "summary")} for d in r["docs"]],
    }


def summary_line(systems: dict[str, dict[str, Any]]) -> str:
    def ratio(other: str, system: str = "clsum") -> str:
        if system not in systems or other not in systems or not systems[other]["articles_per_min"]:
            return "nan"
        return f"{systems[system]['articles_per_min'] / systems[other]['articles_per_min']:.2f}"

    apm = systems["clsum"]["articles_per_min"] if "clsum" in systems else float("nan")
    diff = (systems.get("clsum") or {}).get("differing_vs_ctranslate2_plain")
    n = len((systems.get("clsum") or {}).get("outputs", []))
    differ = "nan" if diff is None else f"tr:{diff['translation']}/{n},sum:{diff['summary']}/{n}"
    # the ray engine against the local one (clsum bench --engine ray)
    ray = "".join(
        f" {name}_vs_clsum={ratio('clsum', name)}" for name in systems if name.startswith("clsum-ray")
    )
    return (
        f"speedup_vs_naive={ratio('naive')} speedup_vs_ctranslate2={ratio('ctranslate2-plain')} "
        f"differing_vs_ctranslate2={differ} articles_per_min={apm:.1f}{ray}"
    )


def table(report: dict[str, Any]) -> str:
    head = (
        f"{'system':18} {'art/min':>8} {'src tok/s':>9} {'steady s':>9} {'setup s':>8} {'translate s':>11} "
        f"{'summarize s':>11} {'peak RSS MB':>11} {'GFLOP/s':>8} {'%peak f32/i8':>13} {'chrF tr/sum':>12} "
        f"{'≠plain tr/sum':>13}"
    )
    lines = [head, "-" * len(head)]
    for name, s in report["systems"].items():
        st = s["stage_seconds"]
        chrf = s["chrf_vs_naive"]
        agree = "-" if chrf is None else f"{_fmt(chrf['translation'])}/{_fmt(chrf['summary'])}"
        shares = [s["share_of_fp32_peak"], s["share_of_int8_peak"]]
        share = "/".join("-" if x is None else f"{100 * x:.0f}%" for x in shares)
        diff = s["differing_vs_ctranslate2_plain"]
        differ = "-" if diff is None else f"{diff['translation']}/{diff['summary']}"
        lines.append(
            f"{name:18} {s['articles_per_min']:8.2f} {s['source_tokens_per_s']:9.1f} {s['seconds']:9.1f} "
            f"{s['setup_seconds']:8.1f} {st.get('translate', 0.0):11.1f} {st.get('summarize', 0.0):11.1f} "
            f"{s['peak_rss_mb']:11.0f} {_fmt(s['achieved_gflops']):>8} "
            f"{share:>13} {agree:>12} {differ:>13}"
        )
    peak = report["matmul_peak"]
    flops = report["flops_per_article"]
    lines.append(
        f"FLOPs/article {flops / 1e9:.1f} G (analytical); matmul peak fp32 {peak['fp32_gflops']} GFLOP/s, "
        f"int8 {peak.get('int8_gops')} GOP/s ({peak['threads']} threads, {peak['size']}^2)"
        if flops
        else "FLOPs/article: unknown (run the naive or ctranslate2-plain system)"
    )
    models = report.get("models", {})
    prov = [
        m["provenance"]
        for m in [*models.get("translation", {}).values(), models.get("summarization", {})]
        if m
    ]
    lines.append("models: " + "; ".join(prov))
    return "\n".join(lines)


def differing(reference: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, int]:
    """How many documents' translations, and how many summaries, differ between two runs."""
    ref = {d["id"]: d for d in reference}
    return {
        part: sum(1 for d in other if d["id"] not in ref or d[part] != ref[d["id"]][part])
        for part in ("translation", "summary")
    }


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(achieved: float | None, peak_g: float | None) -> float | None:
    if not achieved or not peak_g:
        return None
    return round(achieved / (peak_g * 1e9), 4)


def _agreement(results: dict[str, dict[str, Any]], name: str) -> dict[str, float | None] | None:
    if name == REFERENCE or REFERENCE not in results:
        return None
    ref = {d["id"]: d for d in results[REFERENCE]["docs"]}
    hyp = [d for d in results[name]["docs"] if d["id"] in ref]
    return {
        "translation": measure.chrf(
            [d["translation"] for d in hyp], [ref[d["id"]]["translation"] for d in hyp]
        ),
        "summary": measure.chrf([d["summary"] for d in hyp], [ref[d["id"]]["summary"] for d in hyp]),
    }


def _flops_per_article(
    results: dict[str, dict[str, Any]], docs: list[Doc], decoding: Decoding, arch: dict[str, measure.Arch]
) -> float | None:
    """Mean analytical FLOPs per article, from the output lengths a baseline actually generated."""
    base = next((results[s] for s in (REFERENCE, "ctranslate2-plain") if s in results), None)
    if base is None:
        return None
    by_id = {d["id"]: d for d in base["docs"]}
    summarizer = arch[decoding.summarizer]
    summary_beam = decoding.summarization.config.num_beams
    total = 0.0
    for doc in docs:
        out = by_id[doc.id]
        translator = arch[decoding.translators[doc.lang]]
        beam = decoding.translation[doc.lang].config.num_beams
        total += sum(
            measure.generation_flops(translator, n, t, beam)
            for n, t in zip(doc.unit_tokens, out["out_tokens"], strict=True)
        )
        total += measure.generation_flops(
            summarizer, out["summary_input_tokens"], out["summary_tokens"], summary_beam
        )
    return round(total / len(docs))
