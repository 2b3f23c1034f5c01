"""Benchmark configs: a YAML file names a dataset, the systems to run and the metrics to score.

Loaded into dataclasses the same way as ``clsum.config``: unknown keys, dataset names, system types
and metrics fail with a ``ConfigError`` that names the closest valid choice, because a typo in a
benchmark otherwise silently measures something else. For the same reason a key given twice, a
wrongly typed score option (``seed: "12345"``, ``stem: "no"``), a language the dataset does not
have and a ``split`` that a local dataset would ignore fail when the file is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clsum.config import unknown
from clsum.errors import ConfigError
from clsum.eval import options
from clsum.eval.data import DATASETS, SOURCES, language

TASKS = ("translate", "documents", "summarize", "end-to-end")


@dataclass
class DatasetConfig:
    name: str
    lang: str | None = None  # source language (references are English); None: a one-language dataset's
    source: str = "local"  # local: the data root ($CLSUM_DATA); datasets: the HF hub (online)
    split: str = "test"  # only for source: datasets (local files fix their own split)
    limit: int | None = None  # first N segments/documents


@dataclass
class SystemConfig:
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] | None = None  # None: the benchmark's metrics
    note: str = ""  # shown next to the system's scores in every report (e.g. "tuned on the test set")


@dataclass
class PipelineSettings:
    """The clsum config pipeline systems run with (then ``clsum eval --config/--set`` on top)."""

    config: str | None = None  # relative to the repository root, or absolute
    set: list[str] = field(default_factory=list)


@dataclass
class BenchmarkConfig:
    name: str
    dataset: DatasetConfig
    task: str
    systems: list[SystemConfig]
    metrics: list[str]
    description: str = ""
    score: dict[str, Any] = field(default_factory=dict)  # ScoreOptions fields, e.g. bootstrap
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    path: str | None = None  # the file it was loaded from (not a YAML key)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def system(self, name: str) -> SystemConfig:
        for system in self.systems:
            if system.name == name:
                return system
        raise ConfigError(unknown("system", name, [s.name for s in self.systems]))


def shipped_configs() -> dict[str, Path]:
    """Bare name -> path of every benchmark shipped in configs/eval/ (package data of clsum)."""
    # files() of a regular (unzipped) install is a real folder; clsum is never run from a zip.
    folder = Path(str(resources.files("clsum") / "configs" / "eval"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the bare name of a shipped benchmark (``flores-de-en``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        raise ConfigError(f"benchmark config {path} does not exist")
    raise ConfigError(unknown("benchmark", str(name_or_path), list(shipped)))


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"line {line}: key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_benchmark_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping of a benchmark file; every failure is one ConfigError line."""
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # a SafeLoader
    except OSError as exc:
        raise ConfigError(f"cannot read benchmark config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"benchmark config {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    except ConfigError as exc:
        raise ConfigError(f"benchmark config {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"benchmark config {path} must contain a mapping of settings")
    return loaded


def load_benchmark(name_or_path: str | Path) -> BenchmarkConfig:
    path = resolve(name_or_path)
    config = parse_benchmark(read_benchmark_yaml(path), where=str(path))
    config.path = str(path)
    return config


def parse_benchmark(data: Any, where: str = "benchmark") -> BenchmarkConfig:
    """Build and validate a config from parsed YAML."""
    body = _fields(BenchmarkConfig, data, where, exclude={"path"})
    dataset = _fields(DatasetConfig, body["dataset"], f"{where}: dataset")
    if "split" in dataset and dataset.get("source", "local") == "local":
        raise ConfigError(
            f"{where}: dataset.split applies to source: datasets only (local files fix their split)"
        )
    body["dataset"] = DatasetConfig(**dataset)
    body["pipeline"] = PipelineSettings(
        **_fields(PipelineSettings, body.get("pipeline", {}), f"{where}: pipeline")
    )
    if not isinstance(body["systems"], list) or not body["systems"]:
        raise ConfigError(f"{where}: systems must be a non-empty list")
    body["systems"] = [
        SystemConfig(**_fields(SystemConfig, s, f"{where}: systems[{i}]"))
        for i, s in enumerate(body["systems"])
    ]
    body["metrics"] = _string_list(body["metrics"], f"{where}: metrics")
    config = BenchmarkConfig(**body)
    validate(config, where)
    return config


def _fields(cls: type, data: Any, where: str, exclude: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {data!r}")
    names = [f.name for f in dataclasses.fields(cls) if f.name not in (exclude or set())]
    for key in data:
        if key not in names:
            raise ConfigError(f"{where}: {unknown('key', str(key), names)}")
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [k for k in required if k not in data]
    if missing:
        raise ConfigError(f"{where}: missing required key {missing[0]!r}")
    return dict(data)


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a non-empty list of names, got {value!r}")
    return list(value)


def available_metrics() -> tuple[str, ...]:
    """Metric names the metrics engine accepts (it is the one authority on them)."""
    from clsum.eval.metrics import METRICS

    return tuple(METRICS)


def _check_score_options(values: Any, where: str) -> None:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: score must be a mapping of metric options")
    options.check(values, f"{where}: score")
    if values.get("bleu_tokenize") is not None:
        from clsum.eval.mt import build

        build("bleu", bleu_tokenize=values["bleu_tokenize"])  # sacrebleu's own list of tokenizers


def _check_dataset(ds: DatasetConfig, where: str) -> None:
    """The dataset's name, source and language (one-language datasets fill in their language)."""
    for what, value, valid in (("dataset", ds.name, DATASETS), ("dataset source", ds.source, SOURCES)):
        if value not in valid:
            raise ConfigError(f"{where}: {unknown(what, value, valid)}")
    try:
        ds.lang = language(ds.name, ds.lang)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if ds.limit is not None and (not options.is_int(ds.limit) or ds.limit < 1):
        raise ConfigError(f"{where}: dataset.limit must be a positive integer, got {ds.limit!r}")


def validate(config: BenchmarkConfig, where: str = "benchmark") -> None:
    from clsum.eval.systems import SYSTEM_TYPES

    _check_dataset(config.dataset, where)
    if config.task not in TASKS:
        raise ConfigError(f"{where}: {unknown('task', config.task, TASKS)}")
    metrics = available_metrics()
    names: set[str] = set()
    for system in config.systems:
        if system.type not in SYSTEM_TYPES:
            raise ConfigError(
                f"{where}: system {system.name!r}: {unknown('system type', system.type, list(SYSTEM_TYPES))}"
            )
        if system.name in names:
            raise ConfigError(f"{where}: two systems are named {system.name!r}")
        names.add(system.name)
        if not isinstance(system.params, dict):
            raise ConfigError(f"{where}: system {system.name!r}: params must be a mapping")
        SYSTEM_TYPES[system.type].check_params(system.params, f"{where}: system {system.name!r}")
        for metric in [*config.metrics, *(system.metrics or [])]:
            if metric not in metrics:
                raise ConfigError(f"{where}: {unknown('metric', metric, metrics)}")
    _check_score_options(config.score, where)
    if not isinstance(config.pipeline.set, list):
        raise ConfigError(f"{where}: pipeline.set must be a list of KEY=VALUE strings")
