"""Optional model-based metrics (BERTScore, COMET): computed only when the package is installed and its
weights are already in the Hugging Face cache; otherwise the score is marked skipped with the reason,
never reported as 0. Weights are read from their cache folder, never by hub name, so scoring never
downloads (and never has to switch the whole process offline to make sure).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from clsum.eval import bootstrap
from clsum.eval.scores import Score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelMetric:
    module: str  # import name
    package: str  # distribution name (pip install ...)
    repo: str  # Hugging Face model repo with the default weights
    weights_file: str  # a file that is present once the weights are cached


MODEL_METRICS = {
    "bertscore": ModelMetric("bert_score", "bert-score", "roberta-large", "config.json"),
    "comet": ModelMetric("comet", "unbabel-comet", "Unbabel/wmt22-comet-da", "checkpoints/model.ckpt"),
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cached_folder(repo: str, filename: str) -> Path | None:
    """The snapshot folder of ``repo`` in the HF cache when it holds ``filename``, else None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename)
    if not isinstance(found, str):
        return None
    return Path(found).parents[len(Path(filename).parts) - 1]


def _skipped(name: str, reason: str) -> Score:
    log.warning("%s skipped: %s", name, reason)
    return Score.skip(name, reason)


def score(name: str, hyps: list[str], refs: list[str], tail: list[str], bs: int = 0, seed: int = 0) -> Score:
    """A model-based score, or a skipped Score saying why it cannot be computed offline right now."""
    metric = MODEL_METRICS[name]
    if not _installed(metric.module):
        return _skipped(name, f"{metric.module} is not installed (pip install {metric.package})")
    folder = _cached_folder(metric.repo, metric.weights_file)
    if folder is None:
        return _skipped(name, f"weights for {metric.repo} not in the HF cache")
    if name == "comet":  # COMET-22 scores (source, hypothesis, reference) triples
        return _skipped(name, "COMET needs the source texts, which 'clsum score' does not take")
    if "t5" in str(folder):  # bert_score loads any model_type containing "t5" as a T5 encoder
        return _skipped(name, f"bert_score would read {folder} as a T5 model (its path has 't5')")
    import bert_score
    from bert_score.utils import model2layers

    # The cache folder as model_type: transformers reads local files only. bert_score keys its
    # layer table by hub name, so the layer it would pick for the name is passed explicitly.
    _, _, f1 = bert_score.score(
        hyps, refs, model_type=str(folder), num_layers=model2layers[metric.repo], lang="en", verbose=False
    )
    f = np.asarray(f1.tolist(), dtype=np.float64) * 100
    signature = (
        f"{name}|model:{metric.repo}|idf:no|rescale:no|impl:bert_score-{metadata.version(metric.package)}"
    )
    ci = bootstrap.confidence_interval(f[:, None], bootstrap.mean_of(len(f)), bs, seed) if bs else None
    return Score(name, float(f.mean()), "|".join([signature, *tail]), ci, f.tolist())
