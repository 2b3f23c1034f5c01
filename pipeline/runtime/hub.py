"""Where a model comes from (a local directory or the Hugging Face hub cache) and exactly which
weights it is; ``load`` is the one call that reads model files, every failure a ``ModelError``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clsum.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    """A model as written in the config: a local directory, or a hub id with optional @revision."""

    spec: str

    @property
    def is_local(self) -> bool:
        return Path(self.spec).expanduser().is_dir()

    @property
    def looks_local(self) -> bool:
        """A path, not a hub id: it exists, or it is written as only a path can be (hub ids are
        ``name`` or ``owner/name`` and never start with ``.``, ``/`` or ``~``)."""
        spec = self.spec
        return (
            Path(spec).expanduser().exists()
            or spec.startswith((".", "/", "~"))
            or "\\" in spec
            or self.repo_id.count("/") > 1
        )

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
    if ref.looks_local:
        check_model_dir(ref.spec)
    try:
        return loader.from_pretrained(ref.location, revision=ref.revision)
    except (OSError, ValueError) as exc:
        raise ModelError(_not_found_message(ref, exc)) from exc


# What transformers loads weights from (TensorFlow and Flax weights it no longer reads).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def check_model_dir(spec: str) -> None:
    """Raise ``ModelError`` naming the directory (as written) and what it lacks, unless it looks like
    a model directory."""
    shown = os.path.expanduser(spec)
    path = Path(shown)
    if not path.exists():
        raise ModelError(f"model directory {shown} does not exist")
    if not path.is_dir():
        raise ModelError(f"model path {shown} is a file, not a model directory")
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{shown} is not a model directory: it has no config.json (a transformers model "
            "directory holds config.json, the weights and the tokenizer files)"
        )
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise ModelError(f"model directory {shown} has no weights ({' or '.join(WEIGHT_FILES[::2])})")


def _not_found_message(ref: ModelRef, exc: Exception) -> str:
    if ref.looks_local:
        return f"cannot load model directory {ref.location}: {one_line(exc)}"
    if not offline():
        return f"cannot load model {ref.spec!r} from the Hugging Face Hub: {one_line(exc)}"
    why = (
        f"it cannot be downloaded: {_UNREACHABLE}"
        if _UNREACHABLE
        else "HF_HUB_OFFLINE=1 forbids downloading it"
    )
    return (
        f"model {ref.spec!r} is not in the Hugging Face cache ({hf_cache_dir()}), and {why}: "
        "run 'clsum models download' (same config) where there is internet access and copy the "
        "cache here, or point the config at a local model directory"
    )


def cannot_download(ref: ModelRef) -> str:
    """Why ``ref`` cannot be downloaded now (offline), for ``clsum models download`` itself."""
    if _UNREACHABLE:
        return f"cannot download {ref.spec!r}: {_UNREACHABLE}; check the network or proxy settings and retry"
    return f"cannot download {ref.spec!r}: HF_HUB_OFFLINE=1 is set; unset it and retry"


def one_line(exc: BaseException, limit: int = 400) -> str:
    """The whole message of ``exc`` on one line (its first line alone is often cut mid-sentence)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def offline() -> bool:
    """HF_HUB_OFFLINE is set, or ``offline_if_unreachable`` found no hub."""
    flag = os.environ.get("HF_HUB_OFFLINE", "").lower()
    return _UNREACHABLE is not None or flag in ("1", "true", "yes", "on")


# Why the hub could not be reached, once ``offline_if_unreachable`` found out (this process).
_UNREACHABLE: str | None = None


def offline_if_unreachable(timeout: float = 5.0) -> None:
    """One short request to the hub; if it gets no answer, huggingface_hub goes offline for this
    process: cached models load at once, and a missing one fails in one line, instead of minutes of
    retries per file. Process-wide, so only for entry points (the CLI), like ``configure_process``.
    """
    global _UNREACHABLE
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE:
        return
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)  # any HTTP answer will do
    except Exception as exc:  # whatever the HTTP client raises: DNS, refused, timeout, proxy, TLS
        _UNREACHABLE = f"{constants.ENDPOINT} cannot be reached ({one_line(exc, 200)})"
        constants.HF_HUB_OFFLINE = True
        log.info("%s; using the Hugging Face cache only", _UNREACHABLE)


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


def identity(ref: ModelRef) -> str:
    """What exactly ``ref`` names now, downloading nothing but config.json: a local directory's
    content hash, or the hub commit its revision resolves to in the cache (``refs/main`` moves when
    a newer snapshot is downloaded). A hub model not cached yet is resolved first (config.json only,
    as loading it would), so a run keys by the commit it will load; offline and not cached, by the
    revision as written (it cannot load then, so nothing is made under that key)."""
    if not ref.is_local and cached_commit(ref) is None and not offline():
        load("config", ref)
    return version(ref) or ""


def version(ref: ModelRef, commit: str | None = None) -> str | None:
    """Which weights ``ref`` names: a local directory's content hash, else its hub ``commit`` (when
    known), the cache's for its revision, or the revision as written (None: none of these)."""
    if ref.is_local:
        return local_dir_hash(Path(ref.location))
    return commit or cached_commit(ref) or ref.revision


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
