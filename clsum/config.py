"""Typed configuration: YAML files and ``--set KEY=VALUE`` overrides loaded into dataclasses.

One small ``Config`` object is handed to every stage. Unknown keys fail loudly, naming the closest
valid key, because a typo in a config file otherwise silently runs with defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from clsum.errors import ConfigError

DEFAULT_TRANSLATION_MODELS = {
    "de": "Helsinki-NLP/opus-mt-de-en",
    "nl": "Helsinki-NLP/opus-mt-nl-en",
}


ENGINES = ("local", "ray")


def speed_only(default: Any) -> Any:
    """A field that changes speed or memory but never an output: left out of ``Config.hash``."""
    return field(default=default, metadata={"output": False})


@dataclass
class TranslationConfig:
    # language code -> hub id (optionally ``id@revision``) or local directory
    models: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TRANSLATION_MODELS))
    num_beams: int | None = None  # None: the model's own generation_config
    max_length: int | None = None
    batch_size: int = speed_only(32)  # sentences per generate() call
    max_input_tokens: int | None = None  # None: the tokenizer's model_max_length
    min_length: int | None = None  # HF semantics (counts the decoder start token)
    batch_tokens: int = speed_only(4096)  # input tokens (rows x length, no padding) per generate() call
    # sentence translations kept for the whole run (LRU); 0: no cache. The cache returns what
    # generating would, so its size changes no output.
    cache_size: int = speed_only(100000)


@dataclass
class SummarizationConfig:
    model: str = "sshleifer/distilbart-cnn-12-6"
    # text before every input; None: the model's own (task_specific_params, e.g. "summarize: " for T5)
    prefix: str | None = None
    num_beams: int | None = None
    max_length: int | None = None
    min_length: int | None = None
    batch_size: int = speed_only(4)  # chunks per generate() call
    max_input_tokens: int | None = None
    batch_tokens: int = speed_only(8192)  # input tokens (rows x length, no padding) per generate() call
    truncate: bool = False  # read only the first max_input_tokens instead of chunking


@dataclass
class InputConfig:
    # The most one document may cost (0: no limit); past one it is an error record. News articles
    # are far below both. A limit only decides whether a document is refused, never what a summary
    # says, and refused documents are retried on every run: so, like speed settings, not hashed.
    max_bytes: int = speed_only(10_000_000)  # as read: the file (HTML included) or a text's UTF-8
    max_tokens: int = speed_only(50_000)  # the cleaned text, as its first model's tokenizer counts


@dataclass
class RayConfig:
    """How ``engine: ray`` runs on a Ray cluster; none of it changes an output (README: Running on a
    cluster)."""

    address: str = ""  # "": $RAY_ADDRESS, else a Ray instance started on this machine for the run
    translate_actors: int = 0  # translation actors, each loading the models once; 0: from the cluster
    summarize_actors: int = 0  # summarization actors; 0: from the cluster's resources
    cpus_per_actor: float = 1.0  # CPUs each model actor reserves; its inference threads unless threads is set
    num_gpus_per_actor: float | None = None  # None: 1 when the cluster has GPUs and device is not cpu
    memory_per_actor_gb: float = 0.0  # memory each model actor reserves when Ray places it; 0: none
    # CPUs each read/clean/segment task reserves: they are light, and model actors must not take every
    # CPU slot from them (ray-project/ray#44687). Write tasks reserve none.
    task_cpus: float = 0.5


@dataclass
class Config:
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    doc_batch_size: int = speed_only(16)  # documents processed (and made durable) together
    backend: str = "auto"  # auto | transformers | ctranslate2
    compute_type: str = "auto"  # auto | float32 | int8 | float16 | bfloat16 | int8_float16 | ...
    threads: int = speed_only(0)  # CPU threads for inference; 0 = all cores
    # prepare the next document batch on a background thread during inference
    prefetch: bool = speed_only(True)
    input: InputConfig = field(default_factory=InputConfig, metadata={"output": False})  # limits only
    engine: str = speed_only("local")  # local | ray
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
    for item in overrides:
        key, value = _parse_override(item)
        _set_dotted(data, key, value)
    config: Config = _build(Config, data, prefix="")
    validate(config)
    return config


def read_yaml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A YAML mapping from ``path`` (empty file: {}); every failure is one ConfigError line."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {path} must contain a mapping of settings")
    return loaded


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    # Values are scalars: "summarize: " is the T5 prefix, not a YAML mapping.
    return key.strip(), raw if isinstance(value, (dict, list)) else value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def all_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every valid dotted key, used for 'did you mean' suggestions and documentation."""
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        hint = get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            keys.extend(all_keys(hint, f"{prefix}{f.name}."))  # type: ignore[arg-type]
        elif get_origin(hint) is dict:
            keys.append(f"{prefix}{f.name}.<key>")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def unknown(what: str, name: str, valid: Iterable[str]) -> str:
    """ "unknown WHAT 'name' (did you mean 'x'? available: a, b, ...)"; the guess only when one is close."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what} {name!r} ({guess}available: {', '.join(valid)})"


def _unknown_key(name: str) -> ConfigError:
    return ConfigError(unknown("config key", name, all_keys()))


def _first_leaf(key: str, value: Any) -> str:
    """'translaton' with value {'models': {'de': ...}} -> 'translaton.models.de', for suggestions."""
    while isinstance(value, dict) and value:
        first = next(iter(value))
        key, value = f"{key}.{first}", value[first]
    return key


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            raise _unknown_key(_first_leaf(dotted, value))
        kwargs[key] = _coerce(hints[key], value, dotted)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{key}.")  # type: ignore[arg-type]
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(hint):
            return None
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(inner, value, key)
    if origin is dict:
        return _coerce_mapping(value, key)
    return _coerce_scalar(hint, value, key)


def _coerce_mapping(value: Any, key: str) -> dict[str, str]:
    """Model mappings extend the defaults (adding ``fr`` keeps ``de`` and ``nl``); null removes."""
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, got {value!r}")
    out = dict(DEFAULT_TRANSLATION_MODELS)
    for k, v in value.items():
        if v is None:
            out.pop(str(k), None)
            continue
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{key}.{k} must be a model id or directory, got {v!r}")
        out[str(k)] = v
    return out


def _coerce_scalar(hint: Any, value: Any, key: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ConfigError(f"{key} must not be negative, got {value}")
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise ConfigError(f"{key} must not be negative, got {value}")
            return float(value)
    elif hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{key} must be {hint.__name__}, got {value!r}")


def validate(config: Config) -> None:
    """Checks that involve more than one field or a fixed set of values.

    Which backends and precisions exist is the backends package's to say: it checks them when a
    pipeline is built, before any document is read.
    """
    if config.device not in ("auto", "cpu", "cuda") and not config.device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {config.device!r}")
    for name, size in (
        ("doc_batch_size", config.doc_batch_size),
        ("translation.batch_size", config.translation.batch_size),
        ("summarization.batch_size", config.summarization.batch_size),
        ("translation.batch_tokens", config.translation.batch_tokens),
        ("summarization.batch_tokens", config.summarization.batch_tokens),
    ):
        if size < 1:
            raise ConfigError(f"{name} must be at least 1, got {size}")
    if config.engine not in ENGINES:
        raise ConfigError(unknown("engine", config.engine, ENGINES))
    if config.ray.cpus_per_actor <= 0:
        raise ConfigError(f"ray.cpus_per_actor must be more than 0, got {config.ray.cpus_per_actor}")
    if "en" in config.translation.models:
        raise ConfigError("translation.models.en is not allowed: English passes through untranslated")
    _validate_generation("translation", config.translation)
    _validate_generation("summarization", config.summarization)


# Room for one character (up to 4 byte-level tokens) and the special tokens around it: below this an
# input limit fails every document when it is split to fit.
MIN_INPUT_TOKENS = 8


def _validate_generation(section: str, cfg: TranslationConfig | SummarizationConfig) -> None:
    """Settings that would otherwise be ignored (0 reads as "unset") or fail every document late."""
    if cfg.num_beams is not None and cfg.num_beams < 1:
        raise ConfigError(
            f"{section}.num_beams must be at least 1 (null: the model's own), got {cfg.num_beams}"
        )
    if cfg.max_length is not None and cfg.max_length < 2:
        raise ConfigError(
            f"{section}.max_length must be at least 2 (it counts the decoder's start token), "
            f"got {cfg.max_length}"
        )
    if cfg.min_length is not None and cfg.max_length is not None and cfg.min_length > cfg.max_length:
        raise ConfigError(
            f"{section}.min_length ({cfg.min_length}) must not exceed {section}.max_length ({cfg.max_length})"
        )
    if cfg.max_input_tokens is not None and cfg.max_input_tokens < MIN_INPUT_TOKENS:
        raise ConfigError(
            f"{section}.max_input_tokens must be at least {MIN_INPUT_TOKENS} (room for a character "
            f"and the special tokens), got {cfg.max_input_tokens}"
        )
