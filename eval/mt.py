"""BLEU, chrF/chrF++ and TER through sacrebleu, with its sufficient statistics for resampling
(``eval.bootstrap``: a corpus score is a function of per-segment statistics summed over segments)."""

from __future__ import annotations

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from clsum.eval.bootstrap import Compute, Stats
from clsum.eval.options import ScoreOptions
from clsum.eval.scores import Score

MT_METRICS = ("bleu", "chrf", "ter")


def build(metric: str, options: ScoreOptions, sentence: bool = False) -> Metric:
    """sacrebleu's metric (options already validated: ``eval.options.validate``). Sentence BLEU needs
    effective order, or any segment missing a 4-gram match scores 0."""
    if metric == "bleu":
        return BLEU(tokenize=options.bleu_tokenize, effective_order=sentence)
    return CHRF(word_order=options.chrf_word_order) if metric == "chrf" else TER()


def score(metric: str, hyps: list[str], refs: list[str], options: ScoreOptions, tail: list[str]) -> Stats:
    """The corpus score signed with sacrebleu's own signature, then ``tail``; per segment, sentence scores."""
    scorer = build(metric, options)
    # One pass over the segments (TER is slow, ~0.4 s per 50-word segment): corpus and sentence scores
    # both come from the same sufficient statistics, exactly as corpus_score and sentence_score do.
    scorer._check_corpus_score_args(hyps, [refs])
    raw = scorer._extract_corpus_statistics(hyps, [refs])
    stats = np.asarray(raw, dtype=np.float64).reshape(len(hyps), -1)
    corpus = scorer._aggregate_and_compute(raw)  # what corpus_score does
    sentence = build(metric, options, sentence=True)
    per_segment = [float(sentence._compute_score_from_stats(_as_stats(metric, row)).score) for row in stats]
    signature = "|".join([metric, str(scorer.get_signature().format()), *tail])
    result = Score(metric, float(corpus.score), signature, None, per_segment)
    return Stats(result, stats, _corpus_scores(metric, scorer))


def _corpus_scores(metric: str, scorer: Metric) -> Compute:
    """sacrebleu's corpus score of each row of summed statistics; for BLEU and chrF at once, operation
    for operation as sacrebleu computes one row (tests/test_metrics compares them)."""
    if isinstance(scorer, BLEU):  # build()'s: smoothing "exp", no effective order
        return lambda sums: _bleu_many(np.rint(sums), scorer.max_ngram_order)
    if isinstance(scorer, CHRF):  # build()'s: no eps smoothing
        return lambda sums: _chrf_many(sums, scorer.order, scorer.beta)
    return lambda sums: np.array(
        [scorer._compute_score_from_stats(_as_stats(metric, row)).score for row in sums]
    )


def _bleu_many(sums: np.ndarray, order: int) -> np.ndarray:
    """BLEU.compute_bleu (smooth 'exp', no effective order) over rows [sys, ref, correct..., total...]."""
    sys_len, ref_len = sums[:, 0], sums[:, 1]
    correct, total = sums[:, 2 : 2 + order], sums[:, 2 + order : 2 + 2 * order]
    with np.errstate(divide="ignore", invalid="ignore"):
        short = np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0)
        bp = np.where(sys_len < ref_len, short, 1.0)
        precisions = np.zeros_like(correct)
        alive = np.ones(len(sums), dtype=bool)  # no order with total 0 yet (sacrebleu breaks there)
        smooth = np.ones(len(sums))
        for n in range(order):
            alive &= total[:, n] != 0
            zero = correct[:, n] == 0
            smooth = np.where(alive & zero, smooth * 2, smooth)
            value = np.where(zero, 100.0 / (smooth * total[:, n]), 100.0 * correct[:, n] / total[:, n])
            precisions[:, n] = np.where(alive, value, 0.0)
    logs = np.log(precisions, out=np.full_like(precisions, -9999999999.0), where=precisions != 0.0)
    # cumsum adds left to right, as Python's sum() does (np.sum may pair them differently).
    score = bp * np.exp(np.cumsum(logs, axis=1)[:, -1] / order)
    return np.where(correct.any(axis=1), score, 0.0)


def _chrf_many(sums: np.ndarray, order: int, beta: int) -> np.ndarray:
    """CHRF._compute_f_score (no eps smoothing) over rows of [hyp, ref, match] per order."""
    n_hyp, n_ref, n_match = np.moveaxis(sums.reshape(len(sums), order, 3), 2, 0)
    both = (n_hyp > 0) & (n_ref > 0)
    effective = both.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Summed left to right (cumsum), as sacrebleu's loop adds them.
        avg_prec = np.cumsum(np.where(both, n_match / n_hyp, 0.0), axis=1)[:, -1] / effective
        avg_rec = np.cumsum(np.where(both, n_match / n_ref, 0.0), axis=1)[:, -1] / effective
        avg_prec, avg_rec = np.where(effective > 0, avg_prec, 0.0), np.where(effective > 0, avg_rec, 0.0)
        score = (1 + beta**2) * avg_prec * avg_rec / ((beta**2 * avg_prec) + avg_rec)
    return np.where(avg_prec + avg_rec != 0, 100 * score, 0.0)


def _as_stats(metric: str, values: np.ndarray) -> list[float] | list[int]:
    # BLEU's statistics are integer counts; chrF's and TER's are numbers indexed from a list.
    return [int(round(v)) for v in values] if metric == "bleu" else [float(v) for v in values]
