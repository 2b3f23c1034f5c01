"""Scoring: every score on a 0-100 scale, with a signature naming every setting that changes it
(sacrebleu style) and a seeded bootstrap 95% CI; docs/evaluation.md (Confidence intervals and
signatures) lists the fields.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from clsum.config import unknown
from clsum.errors import ConfigError, InputError
from clsum.eval import bootstrap, mt, rouge
from clsum.eval.options import DEFAULTS, METHODS, TEST_SIGNATURES, ScoreOptions, validate
from clsum.eval.scores import Comparison, Score

log = logging.getLogger(__name__)

CHEAP_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf", "ter")  # no model needed
OPTIONAL_METRICS = ("bertscore", "comet")
METRICS = CHEAP_METRICS + OPTIONAL_METRICS
# Slow ones are scored on request only: sacrebleu's TER is pure Python (about 0.4 s per 50-word
# segment, over a minute for 250 summaries); BERTScore and COMET run models.
SLOW_METRICS = ("ter", *OPTIONAL_METRICS)
DEFAULT_METRICS = tuple(m for m in METRICS if m not in SLOW_METRICS)  # seconds on 250 summaries


@dataclass(frozen=True)
class ModelMetric:
    module: str  # import name
    package: str  # distribution name (pip install ...)
    repo: str  # Hugging Face model repo with the default weights
    weights_file: str  # a file that is present once the weights are cached


# Scored only when the package is installed and the weights are already in the Hugging Face cache,
# else skipped with the reason, never 0. The weights are read from their cache folder, never by hub
# name, so scoring never downloads (and never has to switch the whole process offline to make sure).
MODEL_METRICS = {
    "bertscore": ModelMetric("bert_score", "bert-score", "roberta-large", "config.json"),
}


def resolve_metrics(names: Iterable[str] | None) -> list[str]:
    """None -> the fast defaults; names may be comma-separated; unknown names are a ConfigError."""
    if names is None:
        return list(DEFAULT_METRICS)
    resolved = list(dict.fromkeys(n.strip() for item in names for n in item.split(",") if n.strip()))
    for name in resolved:
        if name not in METRICS:
            raise ConfigError(unknown("metric", name, METRICS))
    if not resolved:
        raise ConfigError(f"no metrics given; available: {', '.join(METRICS)}")
    return resolved


def _tail(n: int, options: ScoreOptions) -> list[str]:
    seed = [f"seed:{options.seed}"] if options.bootstrap else []
    return [f"n:{n}", f"bs:{options.bootstrap}", *seed, f"version:clsum-{metadata.version('clsum')}"]


def statistics(
    hyps: list[str], refs: list[str], names: list[str], options: ScoreOptions = DEFAULTS
) -> dict[str, bootstrap.Stats]:
    """Each cheap metric's score (no CI yet) with the per-segment statistics resampling needs."""
    validate(options)
    if len(hyps) != len(refs):
        raise InputError(f"{len(hyps)} hypotheses but {len(refs)} references")
    if not refs:
        raise InputError("nothing to score: no segments")
    out: dict[str, bootstrap.Stats] = {}
    tail = _tail(len(hyps), options)
    if chosen := [m for m in names if m in rouge.ROUGE_METRICS]:
        tok, stem, split = options.rouge_tokenizer, options.stem, options.lsum_split
        for name, r in rouge.rouge(hyps, refs, tuple(chosen), tok, stem, split).items():
            precision, recall, f = (np.asarray(x) * 100 for x in (r.precision, r.recall, r.fmeasure))
            signature = "|".join(rouge.signature_fields(name, r, tok, stem, split) + tail)
            details = {"precision": float(precision.mean()), "recall": float(recall.mean())}
            s = Score(name, float(f.mean()), signature, None, f.tolist(), details=details)
            out[name] = bootstrap.Stats(s, f[:, None], bootstrap.mean_of(len(f)))
    for name in (m for m in names if m in mt.MT_METRICS):
        out[name] = mt.score(name, hyps, refs, options, tail)
    return out


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cached_folder(repo: str, filename: str) -> Path | None:
    """The snapshot folder of ``repo`` in the HF cache when it holds ``filename``, else None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename)
    if not isinstance(found, str):
        return None
    return Path(found).parents[len(Path(filename).parts) - 1]


def _model_stats(name: str, hyps: list[str], refs: list[str], tail: list[str]) -> bootstrap.Stats | str:
    """A model-based metric's score and statistics, or why it cannot be computed offline right now."""
    if name == "comet":  # COMET-22 scores (source, hypothesis, reference) triples
        return "COMET needs the source texts, which clsum does not pass it"
    metric = MODEL_METRICS[name]
    if not _installed(metric.module):
        return f"{metric.module} is not installed (pip install {metric.package})"
    folder = _cached_folder(metric.repo, metric.weights_file)
    if folder is None:
        return f"weights for {metric.repo} not in the HF cache"
    if "t5" in str(folder):  # bert_score loads any model_type containing "t5" as a T5 encoder
        return f"bert_score would read {folder} as a T5 model (its path has 't5')"
    import bert_score
    from bert_score.utils import model2layers

    # The cache folder as model_type: transformers reads local files only. bert_score keys its
    # layer table by hub name, so the layer it would pick for the name is passed explicitly.
    _, _, f1 = bert_score.score(
        hyps, refs, model_type=str(folder), num_layers=model2layers[metric.repo], lang="en", verbose=False
    )
    f = np.asarray(f1.tolist(), dtype=np.float64) * 100
    impl = f"impl:bert_score-{metadata.version(metric.package)}"
    signature = "|".join([name, f"model:{metric.repo}", "idf:no", "rescale:no", impl, *tail])
    return bootstrap.Stats(
        Score(name, float(f.mean()), signature, None, f.tolist()), f[:, None], bootstrap.mean_of(len(f))
    )


def score(
    hyps: list[str],
    refs: list[str],
    metrics: Iterable[str] | None = None,
    options: ScoreOptions = DEFAULTS,
) -> dict[str, Score]:
    """Score hypotheses against references (same order), metric name -> Score, in request order."""
    names = resolve_metrics(metrics)
    cheap = statistics(hyps, refs, [m for m in names if m in CHEAP_METRICS], options)
    out: dict[str, Score] = {}
    for name in names:
        item = cheap.get(name) or _model_stats(name, hyps, refs, _tail(len(hyps), options))
        if isinstance(item, str):
            log.warning("%s skipped: %s", name, item)
            out[name] = Score.skip(name, item)
            continue
        if options.bootstrap:
            item.score.ci = bootstrap.confidence_interval(
                item.stats, item.compute, options.bootstrap, options.seed
            )
        out[name] = item.score
    return out


def compare(
    hyps_a: list[str],
    hyps_b: list[str],
    refs: list[str],
    metrics: Iterable[str] | None = None,
    options: ScoreOptions = DEFAULTS,
    method: str = "auto",
) -> dict[str, Comparison]:
    """Significance of B - A per cheap metric (model-based metrics are not compared)."""
    names = resolve_metrics(metrics)
    if method not in METHODS:
        raise ConfigError(unknown("comparison method", method, METHODS))
    if options.bootstrap < 1:
        raise ConfigError("comparing systems needs bootstrap >= 1 resamples/trials")
    if skipped := [m for m in names if m in OPTIONAL_METRICS]:
        log.warning("not comparing model-based metrics: %s", ", ".join(skipped))
    cheap = [m for m in names if m in CHEAP_METRICS]
    stats_a, stats_b = statistics(hyps_a, refs, cheap, options), statistics(hyps_b, refs, cheap, options)
    return {name: _compare_one(stats_a[name], stats_b[name], options, method) for name in cheap}


def _compare_one(a: bootstrap.Stats, b: bootstrap.Stats, options: ScoreOptions, method: str) -> Comparison:
    result = bootstrap.TESTS[method](a.stats, b.stats, a.compute, options.bootstrap, options.seed)
    test_field = f"test:{TEST_SIGNATURES[result.test]}|k:{result.differing}"
    signature = a.score.signature.replace("|bs:", f"|{test_field}|bs:", 1)
    if result.test == "permutation-exact":  # no random draws: the trials are the 2^k swaps
        signature = signature.replace(f"|bs:{options.bootstrap}", f"|swaps:{result.trials}", 1)
    return Comparison(
        a.score.metric,
        a.score.score or 0.0,
        b.score.score or 0.0,
        method=method,
        n=len(a.stats),
        caveat=bootstrap.caveat(result),
        signature=signature,
        **vars(result),  # delta, p_value, ci, differing, test, trials
    )
