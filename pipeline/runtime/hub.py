"""Where a model comes from: a local directory or the Hugging Face hub cache, and what exactly it is.

``load`` is the one call that reads model files with transformers; every failure becomes a
``ModelError`` naming the model and what to do. Provenance (hub commit, or a content hash of a local
directory) is computed here so a record can say exactly which weights made it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clsum.errors import ModelError


@dataclass(frozen=True)
class ModelRef:
    """A model as written in the config: a local directory, or a hub id with optional @revision."""

    spec: str

    @property
    def is_local(self) -> bool:
        return Path(self.spec).expanduser().is_dir()

    @property
    def repo_id(self) -> str:
        return self.spec.split("@", 1)[0]

    @property
    def revision(self) -> str | None:
        return self.spec.split("@", 1)[1] if "@" in self.spec and not self.is_local else None

    @property
    def location(self) -> str:
        return str(Path(self.spec).expanduser()) if self.is_local else self.repo_id


def load(kind: str, ref: ModelRef) -> Any:
    """``kind`` (tokenizer, model or config) of ``ref`` through transformers' Auto classes."""
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    loader: Any = {"tokenizer": AutoTokenizer, "model": AutoModelForSeq2SeqLM, "config": AutoConfig}[kind]
    try:
        return loader.from_pretrained(ref.location, revision=ref.revision)
    except (OSError, ValueError) as exc:
        raise ModelError(_not_found_message(ref, exc)) from exc


def _not_found_message(ref: ModelRef, exc: Exception) -> str:
    if Path(ref.spec).expanduser().exists() or "/" not in ref.spec or ref.spec.startswith((".", "/", "~")):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot load model from {ref.spec!r}: {first}"
    where = "offline (HF_HUB_OFFLINE=1)" if offline() else "from the Hugging Face Hub"
    return (
        f"model {ref.spec!r} is not in the Hugging Face cache ({hf_cache_dir()}) and could not be "
        f"fetched {where}: run 'clsum models download' on a machine with internet access, "
        "or point the config at a local model directory"
    )


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_commit(ref: ModelRef) -> str | None:
    """The commit the cache's ``refs/<revision>`` points at, if the model is cached."""
    folder = hf_cache_dir() / f"models--{ref.repo_id.replace('/', '--')}"
    ref_file = folder / "refs" / (ref.revision or "main")
    if ref_file.is_file():
        return ref_file.read_text().strip()
    return ref.revision if ref.revision and (folder / "snapshots" / ref.revision).is_dir() else None


def local_dir_hash(path: Path) -> str:
    """Content hash of a local model directory (file names and bytes), so provenance is exact.

    Hashing a 1 GB model takes seconds, and provenance is asked for every batch: the hash is kept
    for as long as no file in the directory changes name, size or modification time.
    """
    files = sorted(p for p in path.rglob("*") if p.is_file())
    stamp = (str(path.resolve()), tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if stamp not in _DIR_HASHES:
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode())
            with file.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        _DIR_HASHES[stamp] = digest.hexdigest()[:16]
    return _DIR_HASHES[stamp]


_DIR_HASHES: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}
