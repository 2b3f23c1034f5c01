"""Versions of every package that can change a result, for manifests and score signatures."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = (
    "clsum",
    "torch",
    "transformers",
    "tokenizers",
    "sentencepiece",
    "ctranslate2",  # the fast backend: the engine that made the outputs
    "numpy",
    "sacrebleu",
    "rouge-score",
    "nltk",  # rouge_score's Porter stemmer
    "ftfy",
    "py3langid",
    "pysbd",
    "trafilatura",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
