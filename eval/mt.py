"""BLEU, chrF/chrF++ and TER through sacrebleu, with its sufficient statistics for fast resampling.

A corpus score is a function of per-segment statistics summed over segments, so a bootstrap resample
only needs the per-segment statistics once (``stats``) and ``compute`` on each resample's sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from clsum.config import unknown
from clsum.errors import ConfigError
from clsum.eval.options import CHRF_WORD_ORDERS

MT_METRICS = ("bleu", "chrf", "ter")


@dataclass
class MTResult:
    score: float  # sacrebleu's corpus score (0-100)
    signature: str  # sacrebleu's own signature, verbatim
    stats: np.ndarray  # (segments, statistics) sufficient statistics
    compute: Callable[[np.ndarray], float]  # summed statistics -> corpus score
    per_segment: list[float]  # sentence-level scores (sacrebleu sentence_score)


def build(metric: str, bleu_tokenize: str | None = None, chrf_word_order: int = 0) -> Metric:
    if metric == "bleu":
        if bleu_tokenize is not None and bleu_tokenize not in BLEU.TOKENIZERS:
            raise ConfigError(unknown("BLEU tokenizer", bleu_tokenize, BLEU.TOKENIZERS))
        return BLEU(tokenize=bleu_tokenize)
    if metric == "chrf":
        if chrf_word_order not in CHRF_WORD_ORDERS:
            raise ConfigError(f"chrF word order must be 0, 1 or 2 (2 = chrF++), got {chrf_word_order}")
        return CHRF(word_order=chrf_word_order)
    if metric == "ter":
        return TER()
    raise ConfigError(unknown("sacrebleu metric", metric, MT_METRICS))


def _sentence_metric(metric: str, bleu_tokenize: str | None, chrf_word_order: int) -> Metric:
    # Sentence BLEU needs effective order, or any segment missing a 4-gram match scores 0.
    if metric == "bleu":
        return BLEU(tokenize=bleu_tokenize, effective_order=True)
    return build(metric, bleu_tokenize, chrf_word_order)


def score(
    metric: str, hyps: list[str], refs: list[str], bleu_tokenize: str | None = None, chrf_word_order: int = 0
) -> MTResult:
    scorer = build(metric, bleu_tokenize, chrf_word_order)
    # One pass over the segments (TER is slow, ~0.4 s per 50-word segment): corpus and sentence scores
    # both come from the same sufficient statistics, exactly as corpus_score and sentence_score do.
    scorer._check_corpus_score_args(hyps, [refs])
    raw = scorer._extract_corpus_statistics(hyps, [refs])
    stats = np.asarray(raw, dtype=np.float64).reshape(len(hyps), -1)
    corpus = scorer._aggregate_and_compute(raw)  # what corpus_score does
    signature = str(scorer.get_signature().format())

    def compute(sums: np.ndarray) -> float:
        return float(scorer._compute_score_from_stats(_as_stats(metric, sums)).score)

    sentence = _sentence_metric(metric, bleu_tokenize, chrf_word_order)
    per_segment = [float(sentence._compute_score_from_stats(_as_stats(metric, row)).score) for row in stats]
    return MTResult(float(corpus.score), signature, stats, compute, per_segment)


def _as_stats(metric: str, values: np.ndarray) -> list[float] | list[int]:
    # BLEU's statistics are integer counts; chrF's and TER's are numbers indexed from a list.
    return [int(round(v)) for v in values] if metric == "bleu" else [float(v) for v in values]
