from __future__ import annotations

from pathlib import Path

import pytest

from clsum.config import Config, load_config
from clsum.errors import ConfigError
from clsum.settings import keys
from tests.tables import config_table

ROOT = Path(__file__).resolve().parents[1]


def test_the_documented_table_is_the_one_the_fields_give() -> None:
    """docs/configuration.md states every key, default and meaning as the dataclasses do: a changed
    default (or a new key) fails here until the page is regenerated (tests/tables.py)."""
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = config_table()
    assert table in page
    assert "| `seed` | `0` | yes |" in table and "| `doc_batch_size` | `16` | no |" in table


def test_config_show_output_loads_back_as_the_same_config(tmp_path: Path) -> None:
    """What 'clsum config show' prints is a complete config file (the template users start from)."""
    path = tmp_path / "shown.yaml"
    path.write_text(Config().to_yaml(), encoding="utf-8")
    assert load_config(path) == Config()


def test_cpu_fast_config_loads() -> None:
    config = load_config(ROOT / "configs" / "cpu-fast.yaml")
    assert config.summarization.model == "sshleifer/distilbart-cnn-6-6"
    assert config.translation.models["de"] == "Helsinki-NLP/opus-mt-de-en"


def test_overrides_apply_in_order_with_yaml_typed_values() -> None:
    config = load_config(
        None,
        [
            "summarization.num_beams=2",
            "summarization.num_beams=3",
            "device=cpu",
            "summarization.prefix=summarize: ",
            "summarization.truncate=true",
        ],
    )
    assert config.summarization.num_beams == 3 and config.device == "cpu"
    assert config.summarization.prefix == "summarize: " and config.summarization.truncate is True


def test_adding_a_language_keeps_the_defaults_and_null_removes_one() -> None:
    config = load_config(
        None, ["translation.models.fr=Helsinki-NLP/opus-mt-fr-en", "translation.models.nl=null"]
    )
    assert config.languages == ["de", "fr"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "summarization.num_beam=2",
            "unknown config key 'summarization.num_beam' (did you mean 'summarization.num_beams'? available:",
        ),
        ("devise=cpu", "did you mean 'device'?"),
        ("zzz=1", "available: device, seed"),
        ("summarization.num_beams=two", "summarization.num_beams must be a whole number, got 'two'"),
        ("summarization.num_beams=-1", "summarization.num_beams must be at least 1"),
        ("threads=-1", "threads must not be negative, got -1"),
        ("prefetch=1", "prefetch must be true or false, got 1"),
        ("summarization.model=12", "summarization.model must be a string, got 12"),
        ("engine=rai", "unknown engine 'rai' (did you mean 'ray'?"),
        # 19.2: torch.manual_seed overflowed on the first document ("clean failed: Overflow")
        ("seed=99999999999999999999999999", "seed must be at most 4294967295, got 9999"),
        ("translation.models.en=x", "English passes through"),
        ("translation=3", "translation must be a mapping"),
        ("translation.models.de= ", "translation.models.de must be a model id or directory, got ''"),
    ],
)
def test_bad_settings_fail_with_a_helpful_message(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_config(None, [override])
    assert message in str(info.value)


def test_a_key_under_a_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot set 'seed.x': 'seed' is not a section"):
        load_config(None, ["seed=1", "seed.x=1"])


def test_hash_ignores_batch_sizes_but_not_settings_that_change_outputs() -> None:
    base = load_config().hash()
    assert load_config(None, ["translation.batch_size=3", "doc_batch_size=2"]).hash() == base
    assert load_config(None, ["summarization.num_beams=2"]).hash() != base
    assert load_config(None, ["seed=1"]).hash() != base


def test_all_keys_lists_the_documented_contract() -> None:
    valid = set(keys(Config))
    for key in (
        "translation.models.<key>",
        "summarization.model",
        "summarization.prefix",
        "translation.num_beams",
        "summarization.num_beams",
        "summarization.max_length",
        "summarization.min_length",
        "device",
        "translation.batch_size",
        "summarization.batch_size",
        "doc_batch_size",
    ):
        assert key in valid


def test_yaml_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("summarization: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="must contain a mapping"):
        load_config(listy)
