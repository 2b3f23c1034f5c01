"""Optional model-based metrics (BERTScore, COMET): computed only when the package is installed and its
weights are already in the Hugging Face cache (clsum never downloads while scoring); otherwise the
score is marked skipped with the reason, never reported as 0.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from clsum.eval import bootstrap

if TYPE_CHECKING:
    from clsum.eval.metrics import Score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelMetric:
    name: str
    module: str  # import name
    package: str  # distribution name (pip install ...)
    repo: str  # Hugging Face model repo with the default weights
    weights_file: str  # a file that is present once the weights are cached


MODEL_METRICS = {
    "bertscore": ModelMetric("bertscore", "bert_score", "bert-score", "roberta-large", "config.json"),
    "comet": ModelMetric(
        "comet", "comet", "unbabel-comet", "Unbabel/wmt22-comet-da", "checkpoints/model.ckpt"
    ),
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cached(repo: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo, filename), str)


def unavailable_reason(metric: ModelMetric) -> str | None:
    """Why ``metric`` cannot be computed offline right now, or None when it can."""
    if not _installed(metric.module):
        return f"{metric.module} is not installed (pip install {metric.package})"
    if not _cached(metric.repo, metric.weights_file):
        return f"weights for {metric.repo} not in the HF cache"
    if metric.name == "comet":  # COMET-22 scores (source, hypothesis, reference) triples
        return "COMET needs the source texts, which 'clsum score' does not take"
    return None


def _skipped(name: str, reason: str) -> Score:
    from clsum.eval.metrics import Score

    log.warning("%s skipped: %s", name, reason)
    return Score(name, None, f"{name}|skipped", None, None, skipped=reason)


def _bertscore(
    metric: ModelMetric, hyps: list[str], refs: list[str], tail: list[str], bs: int, seed: int
) -> Score:
    import bert_score

    from clsum.eval.metrics import Score

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights were found in the cache; never download
    _, _, f1 = bert_score.score(hyps, refs, model_type=metric.repo, lang="en", verbose=False)
    f = np.asarray(f1.tolist(), dtype=np.float64) * 100
    fields = [metric.name, f"model:{metric.repo}", "idf:no", "rescale:no"]
    signature = "|".join([*fields, f"impl:bert_score-{metadata.version(metric.package)}", *tail])
    ci = bootstrap.confidence_interval(f[:, None], bootstrap.mean_of(len(f)), bs, seed) if bs else None
    return Score(metric.name, float(f.mean()), signature, ci, f.tolist())


def score(name: str, hyps: list[str], refs: list[str], tail: list[str], bs: int = 0, seed: int = 0) -> Score:
    """A model-based score, or a skipped Score saying why it could not be computed."""
    metric = MODEL_METRICS[name]
    reason = unavailable_reason(metric)
    if reason is not None:
        return _skipped(name, reason)
    return _bertscore(metric, hyps, refs, tail, bs, seed)
