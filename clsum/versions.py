"""Versions of every package that can change a result, for manifests and score signatures."""

from __future__ import annotations

import contextlib
import importlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

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


def git_hash(repo: Path) -> str | None:
    """HEAD of the git checkout at ``repo``, ``+dirty`` with uncommitted changes; None if none."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if status.strip() else head


def clsum_commit() -> str | None:
    """The commit of clsum itself, as recorded when it was built or installed (docs/architecture.md:
    "Installed code assumes no checkout"); None when nothing was (a wheel built without git)."""
    with contextlib.suppress(ImportError):
        recorded: str | None = importlib.import_module("clsum._build_info").COMMIT
        return recorded
    # Every clsum distribution found: in a checkout, the build's clsum.egg-info (no direct_url.json)
    # can come before the installed one on sys.path.
    for dist in metadata.distributions(name="clsum"):
        url = json.loads(dist.read_text("direct_url.json") or "{}")
        if url.get("dir_info", {}).get("editable") and url.get("url", "").startswith("file:"):
            return git_hash(Path(url2pathname(urlparse(url["url"]).path)))
    return None
