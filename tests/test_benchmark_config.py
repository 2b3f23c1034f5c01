"""Benchmark YAMLs: loading, 'did you mean' errors, and every shipped config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clsum.errors import ConfigError
from clsum.eval.benchmark import (
    BenchmarkConfig,
    load_benchmark,
    parse_benchmark,
    resolve,
    shipped_configs,
)
from clsum.eval.metrics import METRICS
from clsum.eval.systems import SYSTEM_TYPES
from tests.helpers import minimal_benchmark as minimal
from tests.tables import table

SHIPPED = {
    "flores-de-en",
    "flores-nl-en",
    "ntrex-de-en",
    "ntrex-nl-en",
    "cnndm-frank250",
    "wikilingua-de-en",
    "wikilingua-nl-en",
}


def test_the_documented_tables_are_the_ones_the_fields_give() -> None:
    """docs/configuration.md states the benchmark keys and every system type's params as the
    dataclasses do (print these tables to regenerate it)."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    keys = table(("", BenchmarkConfig))
    params = table(*((f"{name}.", t.Params) for name, t in SYSTEM_TYPES.items()))
    assert keys in page and "| `score.bootstrap` | `1000` |" in keys
    assert params in page and "| `textrank.max_words` | `60` |" in params


def test_minimal_config_loads_with_defaults() -> None:
    cfg = parse_benchmark(minimal())
    assert isinstance(cfg, BenchmarkConfig)
    assert cfg.dataset.source == "local" and cfg.dataset.limit is None
    assert cfg.systems[0].params == {} and cfg.systems[0].metrics is None
    assert cfg.pipeline.config is None and cfg.pipeline.set == []


def test_every_shipped_config_loads() -> None:
    assert set(shipped_configs()) == SHIPPED
    for name, path in shipped_configs().items():
        cfg = load_benchmark(path)
        assert cfg.name == name, path
        assert cfg.description


def test_bare_name_resolves_to_shipped_file() -> None:
    assert resolve("flores-de-en") == shipped_configs()["flores-de-en"]
    with pytest.raises(ConfigError, match="did you mean 'flores-de-en'"):
        resolve("flores-de-em")


def test_cnndm_config_has_the_published_system() -> None:
    cfg = load_benchmark("cnndm-frank250")
    names = {s.name: s for s in cfg.systems}
    assert names["bart-large-cnn-published"].type == "published"
    assert names["bart-large-cnn-published"].params == {"field": "bart"}
    assert names["lead-3"].params == {"k": 3}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(sytems=[]), "unknown key 'sytems' \\(did you mean 'systems'\\? available: "),
        (
            lambda d: d["dataset"].update(name="flores200"),
            "unknown dataset 'flores200' \\(did you mean 'flores'",
        ),
        (lambda d: d["systems"][0].update(type="identiy"), "did you mean 'identity'"),
        (lambda d: d.update(metrics=["chfr"]), "unknown metric 'chfr' \\(did you mean 'chrf'"),
        (lambda d: d.update(task="translation"), "unknown task 'translation' \\(did you mean 'translate'"),
        (lambda d: d["dataset"].update(lagn="nl"), "key 'dataset.lagn' \\(did you mean 'dataset.lang'"),
        (lambda d: d["systems"][0].update(params={"kk": 3}), "systems.0..params: unknown param 'kk'"),
        (lambda d: d.pop("metrics"), "missing required key 'metrics'"),
    ],
)
def test_mistakes_fail_with_a_suggestion(edit: Any, message: str) -> None:
    data = minimal()
    edit(data)
    with pytest.raises(ConfigError, match=message):
        parse_benchmark(data)


def test_far_off_names_list_what_is_available() -> None:
    data = minimal()
    data["systems"][0]["type"] = "zzz"
    with pytest.raises(ConfigError, match="available: identity, pipeline-translate"):
        parse_benchmark(data)


def test_bad_params_and_duplicate_names() -> None:
    data = minimal()
    data["systems"] = [{"name": "lead", "type": "lead-k", "params": {"k": 0}}]
    with pytest.raises(ConfigError, match=r"systems\[0\]\.params: k must be at least 1, got 0"):
        parse_benchmark(data)
    data["systems"] = [{"name": "a", "type": "identity"}, {"name": "a", "type": "identity"}]
    with pytest.raises(ConfigError, match="two systems are named 'a'"):
        parse_benchmark(data)


def test_per_system_metrics_are_checked() -> None:
    data = minimal()
    data["systems"][0]["metrics"] = ["rouge3"]
    with pytest.raises(ConfigError, match="unknown metric 'rouge3'"):
        parse_benchmark(data)


def test_shipped_metrics_are_known_to_the_metrics_engine() -> None:
    known = set(METRICS)
    for path in shipped_configs().values():
        cfg = load_benchmark(path)
        used = set(cfg.metrics) | {m for s in cfg.systems for m in s.metrics or []}
        assert used <= known, path


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_benchmark(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_benchmark(tmp_path / "nope.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(minimal()))
    assert load_benchmark(good).path == str(good)


def test_unknown_score_option_is_caught_when_loading() -> None:
    data = minimal()
    data["score"] = {"bootstrapp": 100}
    with pytest.raises(ConfigError, match="unknown key 'score.bootstrapp' \\(did you mean 'score.bootstrap'"):
        parse_benchmark(data)
    data["score"] = {"bootstrap": 100, "rouge_tokenizer": "rouge-score"}
    assert parse_benchmark(data).score.bootstrap == 100


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ({"seed": "12345"}, "score.seed must be a whole number, got '12345'"),
        ({"seed": 2**40}, "score.seed must be at most 4294967295"),  # numpy's RandomState refused it
        ({"bootstrap": "100"}, "score.bootstrap must be a whole number, got '100'"),
        ({"bootstrap": -1}, "score.bootstrap must not be negative, got -1"),
        ({"stem": "no"}, "score.stem must be true or false, got 'no'"),
        ({"chrf_word_order": True}, "unknown score.chrf_word_order 'True' \\(available: 0, 1, 2\\)"),
        ({"lsum_split": "pysbd"}, "unknown score.lsum_split 'pysbd' \\(available: auto, newline, ptb"),
        ({"bleu_tokenize": "moses"}, "unknown BLEU tokenizer 'moses'"),
    ],
)
def test_score_option_types_are_checked_when_loading(score: dict[str, Any], message: str) -> None:
    data = minimal()
    data["score"] = score
    with pytest.raises(ConfigError, match=message):
        parse_benchmark(data)


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump(minimal()) + "score:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(ConfigError, match=r"line 13: key 'seed' is given twice \(first on line 12"):
        load_benchmark(path)
    path.write_text(yaml.safe_dump(minimal()) + "metrics: [bleu]\n")  # top level too
    with pytest.raises(ConfigError, match="key 'metrics' is given twice"):
        load_benchmark(path)


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (
            {"name": "cnndm-frank250", "lang": "de"},
            "dataset cnndm-frank250: unknown language 'de' \\(available: en",
        ),
        ({"name": "wmt19", "lang": "nl"}, "dataset wmt19: unknown language 'nl' \\(available: de"),
        ({"name": "flores"}, "dataset flores needs a source language \\(dataset.lang: de, nl, en"),
        ({"name": "flores", "lang": "de", "split": "dev"}, "dataset.split applies to source: datasets only"),
        ({"name": "flores", "lang": "de", "limit": True}, "dataset.limit must be a whole number, got True"),
    ],
)
def test_dataset_language_and_split_are_checked_when_loading(dataset: dict[str, Any], message: str) -> None:
    data = minimal()
    data["dataset"] = dataset
    with pytest.raises(ConfigError, match=message):
        parse_benchmark(data)


def test_a_one_language_dataset_fills_in_its_language() -> None:
    data = minimal()
    data["dataset"] = {"name": "wmt19"}
    assert parse_benchmark(data).dataset.lang == "de"


def test_pipeline_config_may_name_a_shipped_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pipeline.config: configs/cpu-fast.yaml`` is the file shipped with clsum when the folder the
    run starts in has no such file; ``--set`` of the benchmark still applies on top."""
    from clsum.eval.harness import pipeline_config

    monkeypatch.chdir(tmp_path)
    data = {**minimal(), "pipeline": {"config": "configs/cpu-fast.yaml", "set": ["translation.num_beams=3"]}}
    config = pipeline_config(parse_benchmark(data))
    assert config.backend == "ctranslate2" and config.summarization.num_beams == 2
    assert config.translation.num_beams == 3


def test_aligned_data_files_are_read_checked_and_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clsum.errors import InputError
    from clsum.eval.data import load

    monkeypatch.setenv("CLSUM_DATA", str(tmp_path))

    folder = tmp_path / "wmt-newstest2019-de-en"
    folder.mkdir()
    (folder / "newstest2019.deu").write_bytes(b"Hallo\r\nWelt\n")
    (folder / "newstest2019.eng").write_bytes(b"Hello\nworld\n")
    ds = load("wmt19", "de")
    assert (ds.name, ds.source_lang) == ("newstest2019-de-en", "de")
    assert [(s.id, s.source, s.reference) for s in ds.segments] == [
        ("wmt19-1", "Hallo", "Hello"),
        ("wmt19-2", "Welt", "world"),
    ]
    assert list(ds.files) == [
        "wmt-newstest2019-de-en/newstest2019.deu",
        "wmt-newstest2019-de-en/newstest2019.eng",
    ]
    (folder / "newstest2019.eng").write_bytes(b"Hello\n")
    with pytest.raises(InputError, match=r"^newstest2019: files are not line-aligned \(2, 1 lines\)$"):
        load("wmt19", "de")
    (folder / "newstest2019.eng").unlink()
    with pytest.raises(InputError, match="newstest2019.eng is missing"):
        load("wmt19", "de")
