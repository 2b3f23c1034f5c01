"""What a score depends on besides its inputs: ``ScoreOptions`` and the valid choices of each option.
Free of heavy imports, so the command line builds its options, defaults and choices from here at startup.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from clsum.errors import ConfigError
from clsum.settings import build, setting, unknown

LOWER_IS_BETTER = ("ter",)  # every other metric: higher is better


def metric_label(metric: str) -> str:
    """A metric's name as tables and plots show it (lower-is-better metrics say so)."""
    return f"{metric} (lower is better)" if metric in LOWER_IS_BETTER else metric


# Significance tests of ``metrics.compare`` (the first is the default; see eval.bootstrap), and the
# name each one has in a signature's ``test:`` field.
METHODS = ("auto", "permutation", "paired-bootstrap", "ar", "sacrebleu-paired-bootstrap")
# All 2^k swaps up to this many differing segments (1024 corpus scores per system); Monte Carlo above.
EXACT_MAX_DIFFERING = 10
# Fewest differing segments from which 'auto' uses the percentile bootstrap. In the calibration study
# (eval.calibration, docs/evaluation.md) its false-positive rate at 0.05 was above 5% up to about 125
# differing segments (BLEU 7.5% [5.1, 10.5] at n = 250) and 3.3-4.7% at about 500 (n = 1000).
BOOTSTRAP_MIN_DIFFERING = 400
# The test that actually ran (eval.bootstrap.PairedResult.test) -> its name in a signature.
TEST_SIGNATURES = {
    "paired-bootstrap": "paired-bootstrap-percentile",
    "permutation-exact": "permutation-exact",
    "permutation-mc": "permutation-montecarlo",
    "sacrebleu-paired-bootstrap": "sacrebleu-paired-bootstrap-folded",
}
SEED_MAX = 2**32 - 1  # numpy's RandomState (sacrebleu's paired bootstrap) takes no more


@dataclass(frozen=True)
class ScoreOptions:
    rouge_tokenizer: Literal["unicode", "rouge-score"] = setting(
        "unicode", "unicode-aware, or rouge_score's own (a-z0-9)"
    )
    stem: bool = setting(True, "Porter stemming, as rouge_score")
    lsum_split: Literal["auto", "newline", "ptb", "sentences"] = setting(
        "auto", "newlines, else PTB marks if tokenized, else pysbd"
    )
    chrf_word_order: Literal[0, 1, 2] = setting(0, "2 = chrF++")
    bleu_tokenize: str | None = setting(None, "null: sacrebleu's default (13a)")
    bootstrap: int = setting(1000, "bootstrap resamples; 0 disables the CI")
    seed: int = setting(12345, "seed of the resampling", max=SEED_MAX)


DEFAULTS = ScoreOptions()  # what a benchmark and 'clsum score' use unless told otherwise


def validate(options: ScoreOptions, where: str = "score options") -> None:
    """The one check of score options, however they were made (a benchmark's are checked when it loads,
    not after its systems ran): BLEU tokenizers from sacrebleu's own list, imported only here."""
    build(ScoreOptions, dataclasses.asdict(options), where, what="option")
    if options.bleu_tokenize is not None:
        from sacrebleu.metrics import BLEU

        if options.bleu_tokenize not in BLEU.TOKENIZERS:
            raise ConfigError(unknown("BLEU tokenizer", options.bleu_tokenize, BLEU.TOKENIZERS))
