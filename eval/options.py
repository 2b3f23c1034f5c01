"""What a score depends on besides its inputs: ``ScoreOptions`` and the valid choices of each option.

Free of heavy imports (no numpy, sacrebleu or rouge_score), so the command line builds its options,
defaults and choices from here at startup instead of repeating them; the metrics validate against
the same tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

ROUGE_TOKENIZERS = ("unicode", "rouge-score")
LSUM_SPLITS = ("auto", "newline", "sentences")
CHRF_WORD_ORDERS = (0, 1, 2)  # 2 = chrF++
# Significance tests of ``metrics.compare`` (the first is the default; see eval.bootstrap), and the
# name each one has in a signature's ``test:`` field.
METHODS = ("paired-bootstrap", "ar", "sacrebleu-paired-bootstrap")
TEST_SIGNATURES = {
    "paired-bootstrap": "paired-bootstrap-percentile",
    "ar": "approximate-randomization",
    "sacrebleu-paired-bootstrap": "sacrebleu-paired-bootstrap-folded",
}


@dataclass(frozen=True)
class ScoreOptions:
    rouge_tokenizer: str = "unicode"  # or "rouge-score"
    stem: bool = True
    lsum_split: str = "auto"  # auto (newlines if present else sentence splitter) | newline | sentences
    chrf_word_order: int = 0  # 2 = chrF++
    bleu_tokenize: str | None = None  # None: sacrebleu default (13a)
    bootstrap: int = 1000  # 0 disables the CI
    seed: int = 12345


DEFAULTS = ScoreOptions()  # what a benchmark and 'clsum score' use unless told otherwise
