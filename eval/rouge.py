"""ROUGE on top of rouge_score (Google's reimplementation of ROUGE-1.5.5).

rouge_score's own tokenizer keeps only ``[a-z0-9]``, so "Müller" becomes "m ller" and German or Dutch
words lose letters. The default here is a Unicode-aware tokenizer (every letter and digit is a word
character); ``tokenizer="rouge-score"`` hands tokenization back to rouge_score to reproduce its
numbers exactly. ROUGE-Lsum needs sentences: rouge_score splits its input on newlines, so text without
newlines is sentence-split first (as the published CNN/DM numbers were computed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from nltk.stem import porter
from rouge_score import rouge_scorer

from clsum.config import unknown
from clsum.errors import ConfigError
from clsum.eval.options import LSUM_SPLITS, ROUGE_TOKENIZERS

ROUGE_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# Names used in signatures: what the split actually does.
_SPLIT_NAMES = {"auto": "newline-or-pysbd", "newline": "newline", "sentences": "pysbd"}

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


def check_options(tokenizer: str, lsum_split: str) -> None:
    if tokenizer not in ROUGE_TOKENIZERS:
        raise ConfigError(unknown("ROUGE tokenizer", tokenizer, ROUGE_TOKENIZERS))
    if lsum_split not in LSUM_SPLITS:
        raise ConfigError(unknown("ROUGE-Lsum split", lsum_split, LSUM_SPLITS))


def _scorer(metrics: tuple[str, ...], tokenizer: str, stem: bool) -> rouge_scorer.RougeScorer:
    custom = UnicodeTokenizer(stem) if tokenizer == "unicode" else None
    return rouge_scorer.RougeScorer(list(metrics), use_stemmer=stem, tokenizer=custom)


@cache
def _split_sentences(text: str) -> tuple[str, ...]:
    # pipeline.segment's English pysbd splitter (with its abbreviation fixes); no torch behind it.
    from clsum.pipeline.segment import split_sentences

    return tuple(split_sentences(text, "en"))


def split_for_lsum(text: str, mode: str = "auto") -> str:
    """Text with one sentence per line, as rouge_score's rougeLsum expects."""
    if mode == "newline" or (mode == "auto" and "\n" in text):
        return "\n".join(line for line in text.split("\n") if line.strip())
    return "\n".join(s for paragraph in text.split("\n") for s in _split_sentences(paragraph.strip()) if s)


def rouge(
    hyps: list[str],
    refs: list[str],
    metrics: tuple[str, ...] = ROUGE_METRICS,
    tokenizer: str = "unicode",
    stem: bool = True,
    lsum_split: str = "auto",
) -> dict[str, RougeResult]:
    """Per-segment ROUGE scores for each requested ROUGE variant."""
    check_options(tokenizer, lsum_split)
    scorer = _scorer(metrics, tokenizer, stem)
    lsum = "rougeLsum" in metrics
    rows: dict[str, tuple[list[float], list[float], list[float]]] = {m: ([], [], []) for m in metrics}
    for hyp, ref in zip(hyps, refs, strict=True):
        if lsum:  # rouge_score splits rougeLsum input on "\n"; the other variants ignore newlines
            hyp, ref = split_for_lsum(hyp, lsum_split), split_for_lsum(ref, lsum_split)
        # rouge_score's argument order is (target, prediction).
        for name, s in scorer.score(ref, hyp).items():
            for column, value in zip(rows[name], (s.precision, s.recall, s.fmeasure), strict=True):
                column.append(float(value))
    return {m: RougeResult(*rows[m]) for m in metrics}


def signature_fields(metric: str, tokenizer: str, stem: bool, lsum_split: str) -> list[str]:
    """The settings that change a ROUGE score, sacrebleu style (``key:value``)."""
    fields = [metric, f"tok:{tokenizer}", f"stem:{'yes' if stem else 'no'}"]
    if metric == "rougeLsum":
        fields.append(f"split:{_SPLIT_NAMES[lsum_split]}")
    fields.append(f"impl:rouge_score-{metadata.version('rouge-score')}")
    return fields
