"""Benchmark configs: a YAML file names a dataset, the systems to run and the metrics to score. Checked
whole when loaded (docs/evaluation.md, System types): a typo would otherwise measure something else."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from clsum.errors import ConfigError
from clsum.eval.data import language
from clsum.eval.options import ScoreOptions
from clsum.eval.options import validate as validate_options
from clsum.settings import build, read_yaml, setting, shown, unknown


@dataclass
class DatasetConfig:
    name: str = setting(doc="a dataset clsum knows (`clsum eval --list`)")
    lang: str | None = setting(
        None, "source language (references are English); null: a one-language dataset's"
    )
    source: Literal["local", "datasets"] = setting(
        "local", "local: the data root (`$CLSUM_DATA`); datasets: the Hugging Face hub (online)"
    )
    split: str = setting("test", "the split, for `source: datasets` only (local files fix their own)")
    limit: int | None = setting(None, "the first N segments/documents; null: all", min=1)


@dataclass
class SystemConfig:
    name: str = setting(doc="its name in reports")
    type: str = setting(doc="a system type (below)")
    params: dict[str, Any] = setting(factory=dict, doc="the type's params (below)")
    metrics: list[str] | None = setting(None, "null: the benchmark's metrics", min=1)
    note: str = setting("", "shown next to the system's scores in every report (e.g. tuned on the test set)")


@dataclass
class PipelineSettings:
    """The clsum config pipeline systems run with (then ``clsum eval --config/--set`` on top)."""

    config: str | None = setting(None, "a clsum config file (relative to the repository root, or absolute)")
    set: list[str] = setting(factory=list, doc="`KEY=VALUE` settings on top of it")


@dataclass
class BenchmarkConfig:
    name: str = setting(doc="the benchmark's name")
    dataset: DatasetConfig = setting(doc="where the segments come from")
    task: Literal["translate", "documents", "summarize", "end-to-end"] = setting(
        doc="translate, documents, summarize or end-to-end"
    )
    systems: list[SystemConfig] = setting(doc="`{name, type, params, metrics, note}` each", min=1)
    metrics: list[str] = setting(doc="metric names (`clsum score --help`)", min=1)
    description: str = setting("", "shown in reports")
    score: ScoreOptions = field(default_factory=ScoreOptions)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    path: str | None = field(default=None, init=False)  # the file it was loaded from (not a YAML key)

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


def load_benchmark(name_or_path: str | Path) -> BenchmarkConfig:
    path = resolve(name_or_path)
    config = parse_benchmark(read_yaml(path, "benchmark config"), where=str(path))
    config.path = str(path)
    return config


def parse_benchmark(data: Any, where: str = "benchmark") -> BenchmarkConfig:
    """A config from parsed YAML, with what the types cannot say checked: names the registries know,
    each system's params, no system name twice."""
    from clsum.eval.metrics import resolve_metrics  # the one authority on metric names
    from clsum.eval.systems import build as build_system

    config = build(BenchmarkConfig, data, where)
    ds, names = config.dataset, [s.name for s in config.systems]
    try:
        ds.lang = language(ds.name, ds.lang)  # the name too; one-language datasets fill in their language
        if ds.split != "test" and ds.source == "local":
            raise ConfigError("dataset.split applies to source: datasets only (local files fix their split)")
        for i, system in enumerate(config.systems):
            build_system(system.name, system.type, system.params, where=f"systems[{i}]")
            if system.name in names[:i]:
                raise ConfigError(f"two systems are named {shown(system.name)}")
            resolve_metrics([*config.metrics, *(system.metrics or [])])
        validate_options(config.score, "score")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return config
