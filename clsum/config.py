"""Typed configuration: YAML files and ``--set KEY=VALUE`` overrides built into one ``Config`` by
``clsum.settings``. Each field's default, range and meaning are stated once, here; the table in
docs/configuration.md is generated from them (``tests/tables.py``) and tested against them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clsum.errors import ConfigError
from clsum.settings import build, parse_value, read_yaml, setting, shown, unknown

__all__ = ["Config", "ConfigError", "load_config", "read_yaml", "unknown"]

DEFAULT_TRANSLATION_MODELS = {
    "de": "Helsinki-NLP/opus-mt-de-en",
    "nl": "Helsinki-NLP/opus-mt-nl-en",
}

ENGINES = ("local", "ray")
SEED_MAX = 2**32 - 1  # torch takes up to 2**64 - 1, numpy's RandomState this: a seed any generator takes
# Room for one character (up to 4 byte-level tokens) and the special tokens around it: below this an
# input limit fails every document when it is split to fit.
MIN_INPUT_TOKENS = 8
_MODEL_OWN = "null: the model's own"


def speed_only(default: Any, doc: str, **range_: Any) -> Any:
    """A field that changes speed or memory but never an output: left out of ``Config.hash``."""
    return setting(default, doc, output=False, **range_)


def _max_length(doc: str) -> Any:
    return setting(None, doc, min=2, why="it counts the decoder's start token")


def _input_limit(doc: str) -> Any:
    return setting(None, doc, min=MIN_INPUT_TOKENS, why="room for a character and the special tokens")


@dataclass
class TranslationConfig:
    models: dict[str, str] = setting(
        factory=lambda: dict(DEFAULT_TRANSLATION_MODELS),
        doc="language code -> hub id (`id@revision` pins one) or local directory; the keys are the "
        "supported languages: `translation.models.fr=Helsinki-NLP/opus-mt-fr-en` adds French, "
        "`=null` removes one",
        merge=True,
    )
    num_beams: int | None = setting(None, _MODEL_OWN, min=1, why=_MODEL_OWN)
    max_length: int | None = _max_length("null: the model's own; counts the decoder start token")
    batch_size: int = speed_only(32, "sentences per generate() call", min=1)
    max_input_tokens: int | None = _input_limit("null: the tokenizer's model_max_length")
    min_length: int | None = setting(None, "null: the model's own; counts the decoder start token")
    batch_tokens: int = speed_only(
        4096, "input tokens (rows x length; rows of one length, no padding) per generate() call", min=1
    )
    cache_size: int = speed_only(
        100000,
        "sentence translations kept for the whole run (LRU); 0: no cache (it returns what "
        "generating would, so its size changes no output)",
    )


@dataclass
class SummarizationConfig:
    model: str = setting("sshleifer/distilbart-cnn-12-6", "hub id (`id@revision`) or local directory")
    prefix: str | None = setting(
        None, 'text before every input; null: the model\'s own (T5: `summarize: `), "": none'
    )
    num_beams: int | None = setting(None, _MODEL_OWN, min=1, why=_MODEL_OWN)
    max_length: int | None = _max_length(
        "null: the model's own; counts the decoder start token; at most the model's positions"
    )
    min_length: int | None = setting(None, _MODEL_OWN)
    batch_size: int = speed_only(4, "chunks per generate() call", min=1)
    max_input_tokens: int | None = _input_limit("null: the tokenizer's model_max_length")
    batch_tokens: int = speed_only(
        8192, "input tokens (rows x length; rows of one length, no padding) per generate() call", min=1
    )
    truncate: bool = setting(False, "read only the first chunk instead of chunking and combining")


@dataclass
class InputConfig:
    # A limit only decides whether a document is refused, never what a summary says, and refused
    # documents are retried on every run: so, like speed settings, not hashed.
    max_bytes: int = speed_only(
        10_000_000,
        "the most one document may be as read (the file, HTML included, or a text's "
        "UTF-8); past it the document is an error record; 0: no limit",
    )
    max_tokens: int = speed_only(
        50_000,
        "the most tokens one cleaned document may have, as its first model's tokenizer "
        "counts them; 0: no limit",
    )


@dataclass
class RayConfig:
    """How ``engine: ray`` runs on a Ray cluster; none of it changes an output (docs/scaling.md)."""

    address: str = speed_only(
        "",
        '"": `$RAY_ADDRESS`, else the `ray start` cluster on this machine, else an instance of '
        "clsum's own; \"local\": always clsum's own",
    )
    translate_actors: int = speed_only(
        0, "translation actors, each loading the models once; 0: from the cluster"
    )
    summarize_actors: int = speed_only(0, "summarization actors; 0: from the cluster's resources")
    cpus_per_actor: float = speed_only(
        1.0, "CPUs each model actor reserves; its inference threads unless `threads` is set"
    )
    num_gpus_per_actor: float | None = speed_only(
        None, "null: 1 when the cluster has GPUs and `device` is not cpu, else 0"
    )
    memory_per_actor_gb: float = speed_only(0.0, "memory Ray reserves for each model actor; 0: none")
    # Model actors must not take every CPU slot from the light read tasks (ray-project/ray#44687).
    task_cpus: float = speed_only(0.5, "CPUs each read/clean/segment task reserves (write tasks: none)")
    # An autoscaler adds nodes on request; clsum's own instance never grows, so it never waits.
    placement_timeout_s: float = speed_only(
        600.0,
        "seconds a run waits for a cluster clsum did not start to fit the pools; 0: fail at once",
        min=0,
    )


@dataclass
class Config:
    device: str = setting("auto", "auto (CUDA if available), cpu, cuda or cuda:N")
    seed: int = setting(0, "torch seed, set before each batch", max=SEED_MAX)
    doc_batch_size: int = speed_only(16, "documents processed (and made durable) together", min=1)
    backend: str = setting(
        "auto", "auto, transformers or ctranslate2 (auto: ctranslate2 when the model converts)"
    )
    compute_type: str = setting("auto", "auto, float32, int8, float16, bfloat16, int8_float16, ...")
    threads: int = speed_only(0, "CPU threads for inference; 0: all cores")
    prefetch: bool = speed_only(True, "prepare the next batch on a background thread during inference")
    input: InputConfig = field(default_factory=InputConfig, metadata={"output": False})  # limits only
    engine: str = speed_only("local", "local, or ray: the same stages on a Ray cluster")
    translation: TranslationConfig = field(default_factory=TranslationConfig)
    summarization: SummarizationConfig = field(default_factory=SummarizationConfig)
    # Where and how the ray engine runs: speed only, so a run on Ray resumes a local one and vice versa.
    ray: RayConfig = field(default_factory=RayConfig, metadata={"output": False})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def hash(self) -> str:
        """Hash of every setting that can change an output (``speed_only`` fields cannot)."""
        canonical = json.dumps(output_settings(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def languages(self) -> list[str]:
        return sorted(self.translation.models)


def output_settings(obj: Any) -> dict[str, Any]:
    """The fields of a config (section) that can change an output, nested sections included."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.metadata.get("output", True):
            value = getattr(obj, f.name)
            out[f.name] = output_settings(value) if dataclasses.is_dataclass(value) else value
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Defaults, then the YAML file (if any), then each ``KEY=VALUE`` override in order."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_yaml(Path(path))
        build(Config, data, f"config file {path}", "config key")  # a mistake in the file names it
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {shown(item)}")
        _set_dotted(data, key.strip(), parse_value(raw))
    config = build(Config, data, what="config key")
    validate(config)
    return config


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {shown(key)}: {shown(part)} is not a section")
        node = child
    node[parts[-1]] = value


def validate(config: Config) -> None:
    """Checks that involve more than one field or a fixed set of values (the backends and precisions
    that exist are checked by the backends package, when a pipeline is built)."""
    if config.device not in ("auto", "cpu", "cuda") and not config.device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {shown(config.device)}")
    if config.ray.cpus_per_actor <= 0:
        raise ConfigError(f"ray.cpus_per_actor must be more than 0, got {config.ray.cpus_per_actor}")
    if config.engine not in ENGINES:
        raise ConfigError(unknown("engine", config.engine, ENGINES))
    if "en" in config.translation.models:
        raise ConfigError("translation.models.en is not allowed: English passes through untranslated")
    for lang, spec in config.translation.models.items():
        if not spec.strip():
            key = f"translation.models.{shown(lang)[1:-1]}"
            raise ConfigError(f"{key} must be a model id or directory, got {shown(spec)}")
    for section, cfg in (("translation", config.translation), ("summarization", config.summarization)):
        if cfg.min_length is not None and cfg.max_length is not None and cfg.min_length > cfg.max_length:
            lengths = f"({cfg.min_length}) must not exceed {section}.max_length ({cfg.max_length})"
            raise ConfigError(f"{section}.min_length {lengths}")
