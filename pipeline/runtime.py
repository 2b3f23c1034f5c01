"""The one module that talks to the model runtime (torch + transformers).

Stages see only ``Seq2Seq``: count tokens, know the input limit, generate text for a batch. Swapping
the backend (issue: CTranslate2) means changing this module and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clsum.errors import ModelError

log = logging.getLogger(__name__)

# Tokenizers report a huge sentinel when no limit is configured; treat that as "unknown".
_NO_LIMIT = 1_000_000


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


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but no CUDA GPU is available (use device=cpu)")
    return device


class Seq2Seq:
    """A tokenizer + seq2seq model pair. The tokenizer loads at once, the weights on first use."""

    def __init__(self, spec: str, device: str) -> None:
        self.ref = ModelRef(spec)
        self.device = device
        self._model: Any = None
        self.tokenizer = _load("tokenizer", self.ref)

    @property
    def model(self) -> Any:
        if self._model is None:
            model = _load("model", self.ref)
            self._model = model.to(self.device).eval()
        return self._model

    @property
    def max_input_tokens(self) -> int:
        limit = int(getattr(self.tokenizer, "model_max_length", _NO_LIMIT) or _NO_LIMIT)
        if limit >= _NO_LIMIT:
            config = _load("config", self.ref)
            limit = int(getattr(config, "max_position_embeddings", 512))
        return limit

    @property
    def max_output_tokens(self) -> int | None:
        """The model's own generation length limit (used to decide if partial summaries fit)."""
        return getattr(self.model.generation_config, "max_length", None)

    @property
    def provenance(self) -> str:
        """``id@commit`` for hub models, ``dir#sha256-prefix`` for local directories."""
        if self.ref.is_local:
            return f"{self.ref.location}#{local_dir_hash(Path(self.ref.location))}"
        commit = getattr(self.tokenizer, "_commit_hash", None) or _cached_commit(self.ref)
        return f"{self.ref.repo_id}@{commit or 'unknown'}"

    def count_tokens(self, texts: list[str], special: bool = True) -> list[int]:
        """Tokens each text occupies as model input, with or without the special tokens added."""
        if not texts:
            return []
        # verbose=False: counting text longer than the limit is how we find what to split
        ids = self.tokenizer(texts, add_special_tokens=special, verbose=False)["input_ids"]
        return [len(x) for x in ids]

    def generate(
        self,
        texts: list[str],
        batch_size: int,
        progress: Callable[[int], None] | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Generate for every text, batching by length; results come back in input order.

        ``overrides`` with value None are dropped so the model's own generation_config applies.
        ``progress`` is called with the number of texts finished after each batch.
        """
        import torch

        settings = {k: v for k, v in overrides.items() if v is not None}
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[str] = [""] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                outputs = self._generate_batch([texts[i] for i in idx], settings)
                for i, text in zip(idx, outputs, strict=True):
                    out[i] = text
                if progress is not None:
                    progress(len(idx))
        return out

    def _generate_batch(self, texts: list[str], settings: dict[str, Any]) -> list[str]:
        # Inputs were already split to fit, so truncation here would only hide a bug: refuse it.
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=False)
        if enc["input_ids"].shape[1] > self.max_input_tokens:
            raise ModelError(
                f"{self.ref.spec}: input of {enc['input_ids'].shape[1]} tokens exceeds its limit"
            )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        ids = self.model.generate(**enc, **settings)
        self._warn_if_cut(ids, settings)
        return [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def _warn_if_cut(self, ids: Any, settings: dict[str, Any]) -> None:
        """Output that ends without EOS at max_length was cut by the length limit: say so."""
        limit = settings.get("max_length") or self.model.generation_config.max_length
        eos = self.model.generation_config.eos_token_id
        if limit is None or eos is None or ids.shape[1] < limit:
            return
        eos_ids = eos if isinstance(eos, list) else [eos]
        last = ids[:, -1].tolist()
        cut = sum(1 for t in last if t not in eos_ids and t != self.tokenizer.pad_token_id)
        if cut:
            log.warning("%s: %d output(s) reached max_length=%d without ending", self.ref.spec, cut, limit)


def _load(kind: str, ref: ModelRef) -> Any:
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-weight loading bars; clsum shows its own progress

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


def _cached_commit(ref: ModelRef) -> str | None:
    """The commit the cache's ``refs/<revision>`` points at, if the model is cached."""
    folder = hf_cache_dir() / f"models--{ref.repo_id.replace('/', '--')}"
    ref_file = folder / "refs" / (ref.revision or "main")
    if ref_file.is_file():
        return ref_file.read_text().strip()
    return ref.revision if ref.revision and (folder / "snapshots" / ref.revision).is_dir() else None


def local_dir_hash(path: Path) -> str:
    """Content hash of a local model directory (file names and bytes), so provenance is exact."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def describe(spec: str) -> str:
    """Where a model resolves from, without loading it (for ``clsum models list``)."""
    ref = ModelRef(spec)
    if ref.is_local:
        return f"local directory {ref.location}"
    commit = _cached_commit(ref)
    if commit:
        return f"Hugging Face cache {hf_cache_dir()} (revision {commit})"
    if offline():
        return "NOT AVAILABLE: not cached and HF_HUB_OFFLINE=1"
    return "not cached: downloaded from the Hugging Face Hub on first use"


def download(spec: str) -> str:
    """Fetch tokenizer and weights into the HF cache (or check a local dir loads); returns provenance."""
    model = Seq2Seq(spec, device="cpu")
    _ = model.model
    return model.provenance


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


class Models:
    """Loads each configured model once, and only when a document needs it."""

    def __init__(self, translation: dict[str, str], summarizer: str, device: str) -> None:
        self._translation = translation
        self._summarizer_spec = summarizer
        self.device = device
        self._loaded: dict[str, Seq2Seq] = {}

    def _get(self, spec: str) -> Seq2Seq:
        if spec not in self._loaded:
            log.info("loading %s on %s", spec, self.device)
            self._loaded[spec] = Seq2Seq(spec, self.device)
        return self._loaded[spec]

    def translator(self, lang: str) -> Seq2Seq:
        return self._get(self._translation[lang])

    def summarizer(self) -> Seq2Seq:
        return self._get(self._summarizer_spec)

    def provenance(self) -> dict[str, str]:
        """Provenance of every model loaded so far, keyed by the spec in the config."""
        return {spec: model.provenance for spec, model in self._loaded.items()}
