"""The one module that talks to the model runtime (torch + transformers, or CTranslate2).

Stages see only ``Seq2Seq``: count tokens, know the input limit, generate text for a batch. Which
inference backend runs the model (``pipeline/backends``) is decided here and nowhere else.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clsum.config import Config
from clsum.errors import ModelError
from pipeline.backends import Engine, Options, resolve
from pipeline.backends.transformers import TransformersEngine
from pipeline.batching import token_budget_batches

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


def backend_options(config: Config) -> Options:
    """The config's backend settings (top-level ``backend``, ``compute_type``, ``threads``)."""
    return Options(config.backend, config.compute_type, config.threads)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but no CUDA GPU is available (use device=cpu)")
    return device


class Seq2Seq:
    """A tokenizer + seq2seq model pair. The tokenizer loads at once, the weights on first use.

    ``options`` pick the backend and precision; constructed directly it is the reference
    (transformers, float32 on CPU), while the pipeline passes the config's (default: auto).
    """

    def __init__(self, spec: str, device: str, options: Options | None = None) -> None:
        self.ref = ModelRef(spec)
        self.device = device
        self.options = options or Options()
        self.backend, self.compute_type = resolve(self.options, device)
        self._model: Engine | None = None  # the inference engine holding the weights
        self._generation_config: Any = None
        self.tokenizer = _load("tokenizer", self.ref)

    @property
    def engine(self) -> Engine:
        if self._model is None:
            self._model = self._load_engine()
        return self._model

    @property
    def model(self) -> Any:
        """The transformers model (loaded for the transformers backend only)."""
        engine = self.engine
        if not isinstance(engine, TransformersEngine):
            raise ModelError(f"{self.ref.spec} runs on {self.backend}, which has no transformers model")
        return engine.model

    def _load_engine(self) -> Engine:
        if self.backend == "ctranslate2":
            try:
                return self._ct2_engine()
            except ModelError as exc:
                if self.options.backend != "auto":
                    raise
                log.warning("%s; using transformers instead", exc)
                self.backend, self.compute_type = resolve(
                    Options("transformers", "auto", self.options.threads), self.device
                )
        model = _load("model", self.ref)
        self._generation_config = model.generation_config
        return TransformersEngine(model, self.tokenizer, self.device, self.compute_type, self.options.threads)

    def _ct2_engine(self) -> Engine:
        from pipeline.backends.ctranslate2 import Ct2Engine

        path = ct2_model_dir(self.ref.spec, self.compute_type, commit=self._commit())
        return Ct2Engine(
            path, self.tokenizer, self.generation_config, self.device, self.compute_type, self.options.threads
        )

    @property
    def generation_config(self) -> Any:
        """The model's generation defaults (read from its files; no weights needed)."""
        if self._generation_config is None:
            from transformers import GenerationConfig

            try:
                self._generation_config = GenerationConfig.from_pretrained(
                    self.ref.location, revision=self.ref.revision or "main"
                )
            except OSError:  # no generation_config.json: derived from config.json, as transformers does
                self._generation_config = GenerationConfig.from_model_config(_load("config", self.ref))
        return self._generation_config

    @functools.cached_property
    def max_input_tokens(self) -> int:
        """Asked for every batch; without a tokenizer limit it reads config.json, so once only."""
        limit = int(getattr(self.tokenizer, "model_max_length", _NO_LIMIT) or _NO_LIMIT)
        if limit >= _NO_LIMIT:
            config = _load("config", self.ref)
            limit = int(getattr(config, "max_position_embeddings", 512))
        return limit

    @property
    def max_output_tokens(self) -> int | None:
        """The model's own generation length limit (used to decide if partial summaries fit)."""
        return getattr(self.generation_config, "max_length", None)

    @property
    def precision(self) -> str:
        """Which backend and precision make the outputs, e.g. ``ctranslate2 int8``."""
        return f"{self.backend} {self.compute_type}"

    @property
    def provenance(self) -> str:
        """``id@commit (backend precision)`` for hub models, ``dir#sha256-prefix (...)`` for local dirs."""
        return f"{self._weights_id()} ({self.precision})"

    def _weights_id(self) -> str:
        if self.ref.is_local:
            return f"{self.ref.location}#{local_dir_hash(Path(self.ref.location))}"
        return f"{self.ref.repo_id}@{self._commit() or 'unknown'}"

    def _commit(self) -> str | None:
        if self.ref.is_local:
            return None
        return getattr(self.tokenizer, "_commit_hash", None) or _cached_commit(self.ref)

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
        batch_tokens: int | None = None,
        **overrides: Any,
    ) -> list[str]:
        """Generate for every text, batching by token length; results come back in input order.

        A batch holds at most ``batch_size`` texts and, when ``batch_tokens`` is set, at most that
        many padded input tokens (rows x longest row). ``overrides`` with value None are dropped so
        the model's own generation_config applies. ``progress`` gets the texts finished per batch.
        """
        if not texts:
            return []
        settings = {k: v for k, v in overrides.items() if v is not None}
        ids = self.tokenizer(texts, add_special_tokens=True, verbose=False)["input_ids"]
        lengths = [len(x) for x in ids]
        out: list[str] = [""] * len(texts)
        for idx in token_budget_batches(lengths, batch_tokens or 1 << 62, batch_size):
            longest = max(lengths[i] for i in idx)
            # Inputs were already split to fit, so truncation here would only hide a bug: refuse it.
            if longest > self.max_input_tokens:
                raise ModelError(f"{self.ref.spec}: input of {longest} tokens exceeds its limit")
            outputs = self.engine.generate([ids[i] for i in idx], settings)
            self._warn_if_cut(outputs, settings)
            texts_out = self.tokenizer.batch_decode(outputs, skip_special_tokens=True)
            for i, text in zip(idx, texts_out, strict=True):
                out[i] = text.strip()
            if progress is not None:
                progress(len(idx))
        return out

    def _warn_if_cut(self, outputs: list[list[int]], settings: dict[str, Any]) -> None:
        """Output that ends without EOS at max_length was cut by the length limit: say so."""
        limit = settings.get("max_length") or self.generation_config.max_length
        eos = self.generation_config.eos_token_id
        if limit is None or eos is None:
            return
        eos_ids = eos if isinstance(eos, list) else [eos]
        # limit - 1: HF's max_length counts the decoder start token, which outputs do not include
        cut = sum(1 for row in outputs if len(row) >= limit - 1 and row and row[-1] not in eos_ids)
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


def ct2_model_dir(spec: str, compute_type: str, commit: str | None = None, convert: bool = True) -> Path:
    """The CTranslate2 conversion of ``spec`` at ``compute_type``, converted once on first use.

    Cached under ``$CLSUM_CT2_CACHE`` or ``$HF_HOME/clsum-ct2``, keyed by repo id + commit (hub
    models) or directory name + content hash (local directories) + compute type.
    """
    from pipeline.backends.ctranslate2 import converted_dir

    ref = ModelRef(spec)
    if ref.is_local:
        name, key = f"local--{Path(ref.location).name}", local_dir_hash(Path(ref.location))
    else:
        name, key = ref.repo_id, commit or _cached_commit(ref) or ref.revision or "unknown"
    return converted_dir(name, key, ref.location, ref.revision, compute_type, convert=convert)


def describe(spec: str, options: Options | None = None, device: str = "cpu") -> str:
    """Where a model resolves from, without loading it (for ``clsum models list``)."""
    ref = ModelRef(spec)
    if ref.is_local:
        where = f"local directory {ref.location}"
    elif commit := _cached_commit(ref):
        where = f"Hugging Face cache {hf_cache_dir()} (revision {commit})"
    elif offline():
        return "NOT AVAILABLE: not cached and HF_HUB_OFFLINE=1"
    else:
        return "not cached: downloaded from the Hugging Face Hub on first use"
    return where if options is None else f"{where}; {_describe_backend(spec, options, device)}"


def _describe_backend(spec: str, options: Options, device: str) -> str:
    backend, compute = resolve(options, device)
    if backend != "ctranslate2":
        return f"runs on {backend} {compute}"
    path = ct2_model_dir(spec, compute, convert=False)
    if not path.is_dir():
        return f"runs on ctranslate2 {compute}: not converted yet (on first use or 'clsum models download')"
    state = f"converted at {path}"
    return f"runs on ctranslate2 {compute}: {state}"


def download(spec: str, options: Options | None = None) -> str:
    """Fetch tokenizer and weights into the HF cache (or check a local dir loads), converting them
    when the backend is ctranslate2; returns provenance."""
    model = Seq2Seq(spec, "cpu", options)
    _ = model.engine
    return model.provenance


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


class Models:
    """Loads each configured model once, and only when a document needs it."""

    def __init__(
        self, translation: dict[str, str], summarizer: str, device: str, options: Options | None = None
    ) -> None:
        self._translation = translation
        self._summarizer_spec = summarizer
        self.device = device
        self.options = options
        if options is not None:
            resolve(options, device)  # a precision the device lacks fails now, not per document
        self._loaded: dict[str, Seq2Seq] = {}

    def _get(self, spec: str) -> Seq2Seq:
        if spec not in self._loaded:
            log.info("loading %s on %s", spec, self.device)
            extra = {} if self.options is None else {"options": self.options}
            self._loaded[spec] = Seq2Seq(spec, self.device, **extra)
        return self._loaded[spec]

    def translator(self, lang: str) -> Seq2Seq:
        return self._get(self._translation[lang])

    def summarizer(self) -> Seq2Seq:
        return self._get(self._summarizer_spec)

    def provenance(self) -> dict[str, str]:
        """Provenance of every model loaded so far, keyed by the spec in the config."""
        return {spec: model.provenance for spec, model in self._loaded.items()}

    def backends(self) -> dict[str, dict[str, str]]:
        """Backend and compute type of every model loaded so far, keyed by the spec in the config."""
        return {
            spec: {"backend": model.backend, "compute_type": model.compute_type}
            for spec, model in self._loaded.items()
        }
