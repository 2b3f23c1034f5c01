"""The models a config names: which device, which backend, which generation settings, loaded once
and only when needed; and the facts a run's manifest records about them (``run_facts``)."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from clsum.config import Config
from clsum.errors import ClsumError, ModelError
from clsum.pipeline.runtime import generation, hub
from clsum.pipeline.runtime.backends import Options, resolve
from clsum.pipeline.runtime.backends.ctranslate2 import ct2_threads
from clsum.pipeline.runtime.ct2cache import ct2_model_dir
from clsum.pipeline.runtime.generation import GenerationSettings, Origin, Task
from clsum.pipeline.runtime.seq2seq import Seq2Seq, check_length

log = logging.getLogger(__name__)


def backend_options(config: Config) -> Options:
    """The config's backend settings (top-level ``backend``, ``compute_type``, ``threads``)."""
    return Options(config.backend, config.compute_type, config.threads)


# The config keys that set generation settings, per section (None: the model's own).
GENERATION_KEYS = {
    "translation": ("num_beams", "max_length", "min_length"),
    "summarization": ("num_beams", "max_length", "min_length", "prefix"),
}


def configured_models(config: Config) -> list[tuple[str, str, Task]]:
    """Every model ``config`` names: its role, its spec and the task it is used for (a translator's
    ``task_specific_params`` entry is ``translation_<lang>_to_en``), with the section's settings."""

    def task(params: str, section: str) -> Task:
        values = ((key, getattr(getattr(config, section), key)) for key in GENERATION_KEYS[section])
        return Task(params, section, tuple(sorted((k, v) for k, v in values if v is not None)))

    models = [
        (f"translation.models.{lang}", spec, task(f"translation_{lang}_to_en", "translation"))
        for lang, spec in sorted(config.translation.models.items())
    ]
    return [
        *models,
        ("summarization.model", config.summarization.model, task("summarization", "summarization")),
    ]


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
    """Loads each model ``config`` names once, on ``device``, and only when a document needs it.

    A model serves a role (``translation.models.de``, ``summarization.model``) with the settings of
    that role's task; roles whose settings come out the same share one loaded model.
    """

    def __init__(self, config: Config, device: str) -> None:
        self.device = device
        self.options = backend_options(config)
        resolve(self.options, device)  # a precision the device lacks fails now, not per document
        self._specs = {role: (spec, task) for role, spec, task in configured_models(config)}
        self._loaded: dict[tuple[str, Task], Seq2Seq] = {}
        self._roles: dict[str, Seq2Seq] = {}
        self._lock = threading.Lock()  # the prefetch thread loads translators too

    def _get(self, role: str) -> Seq2Seq:
        with self._lock:
            if role in self._roles:
                return self._roles[role]
            spec, task = self._specs[role]
            # A task the model has no task_specific_params entry for is the same as no task:
            # languages that share a multilingual model share one loaded model.
            if not generation.task_params(hub.load("config", hub.ModelRef(spec)), task.params):
                task = replace(task, params=None)
            if (spec, task) not in self._loaded:
                log.info("loading %s on %s", spec, self.device)
                self._loaded[spec, task] = Seq2Seq(spec, self.device, self.options, task)
            self._roles[role] = self._loaded[spec, task]
            return self._roles[role]

    def translator(self, lang: str) -> Seq2Seq:
        return self._get(f"translation.models.{lang}")

    def check_translators(self, languages: list[str]) -> None:
        """Raise ConfigError for a setting a translator of ``languages`` cannot honor (max_length
        past its positions), from its config.json alone: translators load on the first document
        in their language, too late to refuse a setting. A model whose config cannot be read yet
        (not downloaded, missing) is left to fail in one line when it loads."""
        for role in sorted({f"translation.models.{lang}" for lang in languages} & set(self._specs)):
            spec, task = self._specs[role]
            read = _read_settings(spec, task)
            if not isinstance(read, str):
                check_length(hub.ModelRef(spec), *read)

    def summarizer(self) -> Seq2Seq:
        return self._get("summarization.model")

    def provenance(self) -> dict[str, str]:
        """Provenance of every model loaded so far, keyed by the spec in the config."""
        return {model.ref.spec: model.provenance for model in self._roles.values()}

    def generation(self) -> dict[str, ModelSummary]:
        """Per role used so far: the model, its engine and its generation settings with origins."""
        return {
            role: ModelSummary(
                model=model.ref.spec,
                provenance=model.provenance,
                backend=model.backend,
                compute_type=model.compute_type,
                task=model.settings.task,
                settings_from=model.settings.source,
                generation=model.settings.table(),
            )
            for role, model in sorted(self._roles.items())
        }


class ModelSummary(TypedDict):
    """What made a model's text: weights, backend, precision and every generation setting's origin."""

    model: str
    provenance: str
    backend: str
    compute_type: str
    task: str | None
    settings_from: str  # the checkpoint file that held the model's own settings
    generation: dict[str, Origin]


def _read_settings(spec: str, task: Task) -> tuple[Any, GenerationSettings] | str:
    """``spec``'s transformers config and its generation settings for ``task``, read from its
    cached files without loading weights; why not, when they cannot be read (not downloaded yet)."""
    ref = hub.ModelRef(spec)
    if not ref.is_local and hub.cached_commit(ref) is None:
        return "known once the model is downloaded"
    try:
        model_config = hub.load("config", ref)
    except ModelError as exc:
        return f"unavailable ({exc})"
    return model_config, generation.resolve(ref, model_config, task)  # its errors are the caller's


def describe_generation(spec: str, task: Task) -> list[str]:
    """The generation settings ``spec`` gets for ``task`` (``_read_settings``), one line per origin
    in the order the layers apply: ``origin: name=value, ...``."""
    try:
        read = _read_settings(spec, task)
    except ClsumError as exc:  # listing models: one line for each, whatever is wrong with it
        read = f"unavailable ({exc})"
    if isinstance(read, str):
        return [f"generation settings: {read}"]
    settings = read[1]
    grouped: dict[str, list[str]] = {}
    for name, value in settings.values().items():
        grouped.setdefault(settings.origins[name], []).append(f"{name}={value!r}")
    last = (generation.NO_PREFIX, generation.DEFAULT)
    order = [settings.source, *(o for o in grouped if o not in (settings.source, *last)), *last]
    lines = (f"  {origin}: " + ", ".join(grouped[origin]) for origin in order if origin in grouped)
    return ["generation settings, by origin:", *lines]


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


# Where a run's numbers came from, for its manifest (docs/reproducibility.md): int8 outputs may
# differ between CPUs, so the instruction sets int8 kernels run on are recorded.
ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "CT2_FORCE_CPU_ISA")
# /proc/cpuinfo flags that pick int8 kernels (VNNI: 8-bit dot products in one instruction)
ISA_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
BATCH_POLICY = (
    "inputs of one token length per batch (no padding), at most batch_size rows and batch_tokens "
    "tokens; each batch decoded whole, batches in parallel over the workers"
)


class CpuIsa(TypedDict):
    flags: list[str] | None  # of ``ISA_FLAGS``; None: /proc/cpuinfo not readable
    env: dict[str, str]  # the ISA settings in the environment


class RunFacts(TypedDict):
    cpu_isa: CpuIsa
    engines: dict[str, dict[str, str | int]]  # per model spec: backend, precision, workers x threads
    batch_policy: str


def proc_field(path: Path, name: str) -> str | None:
    """The value of the first ``name: value`` line of a /proc file (/proc/cpuinfo: the first CPU's),
    None where there is none or the file is not readable."""
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_isa(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuIsa:
    """The ISA flags this CPU has (of ``ISA_FLAGS``) and the ISA settings in the environment."""
    flags = set((proc_field(cpuinfo, "flags") or "").split())
    return CpuIsa(
        flags=[f for f in ISA_FLAGS if f in flags] if flags else None,
        env={name: os.environ[name] for name in ISA_ENV if name in os.environ},
    )


def run_facts(backends: dict[str, dict[str, str]], threads: int, device: str) -> RunFacts:
    """The manifest's ``runtime``: ``backends`` (backend and compute type per model spec), each with the
    workers x threads it decodes with on ``device``; the CPU's ISA; the batch policy."""
    engines: dict[str, dict[str, str | int]] = {}
    for spec, choice in backends.items():
        workers, each = ct2_threads(threads, device) if choice["backend"] == "ctranslate2" else (1, threads)
        engines[spec] = {**choice, "workers": workers, "threads_per_worker": each}
    return RunFacts(cpu_isa=cpu_isa(), engines=engines, batch_policy=BATCH_POLICY)
