"""The models a config names: which device, which backend, loaded once and only when needed."""

from __future__ import annotations

import logging
import threading

from clsum.config import Config
from clsum.errors import ModelError
from clsum.pipeline.runtime import hub
from clsum.pipeline.runtime.backends import Options, resolve
from clsum.pipeline.runtime.ct2cache import ct2_model_dir
from clsum.pipeline.runtime.seq2seq import Seq2Seq

log = logging.getLogger(__name__)


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
        self._lock = threading.Lock()  # the prefetch thread loads translators too

    def _get(self, spec: str) -> Seq2Seq:
        with self._lock:
            if spec not in self._loaded:
                log.info("loading %s on %s", spec, self.device)
                self._loaded[spec] = Seq2Seq(spec, self.device, self.options)
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


def describe(spec: str, options: Options | None = None, device: str = "cpu") -> str:
    """Where a model resolves from, without loading it (for ``clsum models list``)."""
    ref = hub.ModelRef(spec)
    if ref.looks_local:
        try:
            hub.check_model_dir(ref.spec)
        except ModelError as exc:
            return f"NOT AVAILABLE: {exc}"
        where = f"local directory {ref.location}"
    elif commit := hub.cached_commit(ref):
        where = f"Hugging Face cache {hub.hf_cache_dir()} (revision {commit})"
    elif hub.offline():
        return "NOT AVAILABLE: not cached, and offline (HF_HUB_OFFLINE=1)"
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
    return f"runs on ctranslate2 {compute}: converted at {path}"


def download(spec: str, options: Options | None = None) -> str:
    """Fetch tokenizer and weights into the HF cache (or check a local dir loads), converting them
    when the backend is ctranslate2; returns provenance."""
    ref = hub.ModelRef(spec)
    if not ref.looks_local and hub.offline() and not hub.cached_commit(ref):
        raise ModelError(hub.cannot_download(ref))  # not the load error: it says to run this command
    model = Seq2Seq(spec, "cpu", options)
    _ = model.engine
    return model.provenance
