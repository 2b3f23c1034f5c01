"""What a score depends on besides its inputs: ``ScoreOptions`` and the valid choices of each option.

Free of heavy imports (no numpy, sacrebleu or rouge_score), so the command line builds its options,
defaults and choices from here at startup instead of repeating them; the metrics validate against
the same tuples. ``check`` validates the type and range of every option, so a benchmark YAML with
``seed: "12345"`` or ``stem: "no"`` fails when it is loaded, not after its systems have run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from clsum.config import unknown
from clsum.errors import ConfigError

LOWER_IS_BETTER = ("ter",)  # every other metric: higher is better


def metric_label(metric: str) -> str:
    """A metric's name as tables and plots show it (lower-is-better metrics say so)."""
    return f"{metric} (lower is better)" if metric in LOWER_IS_BETTER else metric


ROUGE_TOKENIZERS = ("unicode", "rouge-score")
LSUM_SPLITS = ("auto", "newline", "ptb", "sentences")  # see eval.rouge
CHRF_WORD_ORDERS = (0, 1, 2)  # 2 = chrF++
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


@dataclass(frozen=True)
class ScoreOptions:
    rouge_tokenizer: str = "unicode"  # or "rouge-score"
    stem: bool = True
    lsum_split: str = "auto"  # newlines, else PTB marks if tokenized, else pysbd (see eval.rouge)
    chrf_word_order: int = 0  # 2 = chrF++
    bleu_tokenize: str | None = None  # None: sacrebleu default (13a)
    bootstrap: int = 1000  # 0 disables the CI
    seed: int = 12345


DEFAULTS = ScoreOptions()  # what a benchmark and 'clsum score' use unless told otherwise


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with one option's value, or None."""
    if name == "stem":
        return None if isinstance(value, bool) else "must be true or false"
    if name in ("bootstrap", "seed"):
        return None if is_int(value) and value >= 0 else "must be a whole number >= 0"
    if name == "chrf_word_order":
        return None if is_int(value) and value in CHRF_WORD_ORDERS else "must be 0, 1 or 2 (2 = chrF++)"
    if name == "bleu_tokenize":
        return None if value is None or isinstance(value, str) else "must be a sacrebleu tokenizer name"
    choices = {"rouge_tokenizer": ROUGE_TOKENIZERS, "lsum_split": LSUM_SPLITS}[name]
    if not isinstance(value, str) or value not in choices:
        return unknown(name.replace("_", " "), str(value), choices)
    return None


def check(values: dict[str, Any], where: str = "score options") -> None:
    """ConfigError on the first unknown option or wrongly typed value (``values``: ScoreOptions fields)."""
    names = [f.name for f in dataclasses.fields(ScoreOptions)]
    for name, value in values.items():
        if name not in names:
            raise ConfigError(f"{where}: {unknown('option', str(name), names)}")
        problem = _problem(name, value)
        if problem is not None:
            if problem.startswith("unknown"):
                raise ConfigError(f"{where}: {problem}")
            raise ConfigError(f"{where}: {name} {problem}, got {value!r}")
