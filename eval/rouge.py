"""ROUGE on top of rouge_score (Google's reimplementation of ROUGE-1.5.5), with a Unicode-aware
tokenizer, a choice of ROUGE-Lsum sentence split, and ROUGE-L by rapidfuzz's LCS (no quadratic table);
docs/evaluation.md (ROUGE details) says what each option does and why.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata

from nltk.stem import porter
from rapidfuzz.distance import LCSseq
from rouge_score import rouge_scorer, scoring, tokenizers

log = logging.getLogger(__name__)

ROUGE_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
MAX_LCS_CELLS = 1_000_000  # hypothesis words x reference words (1,000 x 1,000) in rouge_score's table
LSUM_CAP_WORDS = math.isqrt(MAX_LCS_CELLS)  # words per side that ROUGE-Lsum keeps above the limit
SPLITTERS = ("newline", "ptb", "pysbd")  # what actually split a text (named so in signatures)
_FORCED = {"newline": "newline", "ptb": "ptb", "sentences": "pysbd"}  # lsum_split -> splitter
# PTB-tokenized text: a sentence-final mark standing alone as a token ("Friday . The").
_PTB_FINAL = re.compile(r"\s[.!?](?=\s|$)")
# The end of a PTB sentence: the mark, then any closing-quote tokens ('' or ' or "), then space.
_PTB_BREAK = re.compile(r"(\s[.!?](?:\s(?:''|'|\"))*)\s+")

# A word is a run of letters/digits in any script (\w minus the underscore).
_WORD_RE = re.compile(r"[^\W_]+")


class UnicodeTokenizer:
    """Lowercased runs of Unicode letters and digits; Porter-stemmed like rouge_score (words > 3 chars)."""

    def __init__(self, stem: bool) -> None:
        self._stemmer = porter.PorterStemmer() if stem else None

    def tokenize(self, text: str) -> list[str]:
        # NFC so that a decomposed "e" + combining accent matches a precomposed "é".
        tokens = _WORD_RE.findall(unicodedata.normalize("NFC", text).lower())
        if self._stemmer is None:
            return tokens
        return [self._stemmer.stem(t) if len(t) > 3 else t for t in tokens]


@dataclass(frozen=True)
class RougeResult:
    """Per-segment precision, recall and F-measure on a 0-1 scale, in input order."""

    precision: list[float]
    recall: list[float]
    fmeasure: list[float]
    # rougeLsum only: side ("hyp"/"ref") -> splitter -> how many texts it split.
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    capped: int = 0  # rougeLsum only: pairs cut to LSUM_CAP_WORDS words per side


@cache
def _split_sentences(text: str) -> tuple[str, ...]:
    # pipeline.segment's English pysbd splitter (with its abbreviation fixes); no torch behind it.
    from clsum.pipeline.segment import split_sentences

    return tuple(split_sentences(text, "en"))


def split_for_lsum(text: str, mode: str = "auto") -> tuple[str, str]:
    """(text with one sentence per line, as rouge_score's rougeLsum expects; the splitter used, one of
    ``SPLITTERS``)."""
    splitter = "newline" if "\n" in text else "ptb" if _PTB_FINAL.search(text) else "pysbd"
    splitter = splitter if mode == "auto" else _FORCED[mode]
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if splitter == "newline":
        lines = paragraphs
    elif splitter == "ptb":
        lines = [s for p in paragraphs for s in _PTB_BREAK.sub("\\1\n", p).split("\n")]
    else:
        lines = [s for p in paragraphs for s in _split_sentences(p) if s]
    return "\n".join(lines), splitter


def _first_words(text: str, words: int) -> str:
    """The first ``words`` whitespace words of a one-sentence-per-line text, lines kept."""
    kept, left = [], words
    for line in text.split("\n"):
        tokens = line.split()
        if left <= 0:
            break
        kept.append(" ".join(tokens[:left]))
        left -= len(tokens)
    return "\n".join(kept)


def _rouge_l(target: list[str], prediction: list[str]) -> scoring.Score:
    """rouge_score's ROUGE-L (``_score_lcs``) with the LCS length from rapidfuzz: the same score
    without rouge_score's quadratic table, so a pair of any length is scored exactly."""
    if not target or not prediction:
        return scoring.Score(precision=0.0, recall=0.0, fmeasure=0.0)
    lcs = LCSseq.similarity(target, prediction)
    precision, recall = lcs / len(prediction), lcs / len(target)
    return scoring.Score(precision, recall, scoring.fmeasure(precision, recall))


def rouge(
    hyps: list[str],
    refs: list[str],
    metrics: tuple[str, ...] = ROUGE_METRICS,
    tokenizer: str = "unicode",
    stem: bool = True,
    lsum_split: str = "auto",
) -> dict[str, RougeResult]:
    """Per-segment ROUGE scores for each requested ROUGE variant (options checked by ``eval.options``).
    ROUGE-L by rapidfuzz, the rest by rouge_score: ROUGE-Lsum's union LCS has no linear form, so a pair
    above MAX_LCS_CELLS is scored on its first LSUM_CAP_WORDS words per side."""
    tok = UnicodeTokenizer(stem) if tokenizer == "unicode" else tokenizers.DefaultTokenizer(stem)
    ngrams = rouge_scorer.RougeScorer([m for m in metrics if m in ("rouge1", "rouge2")], tokenizer=tok)
    lsum = rouge_scorer.RougeScorer(["rougeLsum"], tokenizer=tok)
    rows: dict[str, list[scoring.Score]] = {m: [] for m in metrics}
    splits: dict[str, Counter[str]] = {"hyp": Counter(), "ref": Counter()}
    capped = 0
    for hyp, ref in zip(hyps, refs, strict=True):
        if "rougeLsum" in metrics:  # rouge_score splits its input on "\n"; the other variants ignore newlines
            hyp, hyp_splitter = split_for_lsum(hyp, lsum_split)
            ref, ref_splitter = split_for_lsum(ref, lsum_split)
            splits["hyp"][hyp_splitter] += 1
            splits["ref"][ref_splitter] += 1
        # rouge_score's argument order is (target, prediction).
        scores = ngrams.score(ref, hyp) if ngrams.rouge_types else {}
        if "rougeL" in metrics:
            scores["rougeL"] = _rouge_l(tok.tokenize(ref), tok.tokenize(hyp))
        if "rougeLsum" in metrics:
            if len(hyp.split()) * len(ref.split()) > MAX_LCS_CELLS:
                ref, hyp = _first_words(ref, LSUM_CAP_WORDS), _first_words(hyp, LSUM_CAP_WORDS)
                capped += 1
            scores["rougeLsum"] = lsum.score(ref, hyp)["rougeLsum"]
        for name in metrics:
            rows[name].append(scores[name])
    if capped:
        log.warning(
            "ROUGE-Lsum: %d of %d pairs are longer than %d x %d words; scored on their first %d words each",
            capped, len(hyps), LSUM_CAP_WORDS, LSUM_CAP_WORDS, LSUM_CAP_WORDS,
        )  # fmt: skip
    counted = {side: {k: c[k] for k in SPLITTERS if c[k]} for side, c in splits.items()}
    out = {}
    for m in metrics:
        precision, recall, fmeasure = ([float(s[i]) for s in rows[m]] for i in range(3))
        out[m] = RougeResult(precision, recall, fmeasure, *((counted, capped) if m == "rougeLsum" else ()))
    return out


def signature_fields(
    metric: str, result: RougeResult, tokenizer: str, stem: bool, lsum_split: str
) -> list[str]:
    """The settings that change a ROUGE score, sacrebleu style (``key:value``)."""
    fields = [metric, f"tok:{tokenizer}", f"stem:{'yes' if stem else 'no'}"]
    if metric == "rougeLsum":  # split:auto[hyp:newline=250,ref:ptb=230+pysbd=20]: what split each side
        sides = (f"{side}:" + "+".join(f"{k}={n}" for k, n in c.items()) for side, c in result.splits.items())
        fields.append(f"split:{lsum_split}[{','.join(sides)}]")
        fields += [f"cap:{result.capped}x{LSUM_CAP_WORDS}w"] if result.capped else []
    return [*fields, f"impl:rouge_score-{metadata.version('rouge-score')}"]
