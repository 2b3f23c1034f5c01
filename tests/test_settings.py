"""The one settings loader and builder (clsum.settings), through both kinds of settings file.

Every case here failed before the loader was shared: config files dropped the first of two
``translation:`` sections, non-UTF-8 files raised a 39-line UnicodeDecodeError, and an alias bomb
under a known key made a message of megabytes (6 levels: 4.3 MB; 9 levels: 124 s, 9.3 GB).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from clsum.cli import main
from clsum.config import load_config
from clsum.errors import ConfigError
from clsum.eval.benchmark import load_benchmark, parse_benchmark
from clsum.settings import MAX_NODES, read_yaml
from tests.helpers import minimal_benchmark as minimal

BENCHMARK = yaml.safe_dump(minimal(), sort_keys=False)
LOADERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "config": (load_config, "seed: 1\n"),
    "benchmark": (load_benchmark, BENCHMARK),
}


def _error(loader: str, tmp_path: Path, content: bytes | str) -> str:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    load, _ = LOADERS[loader]
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("loader", LOADERS)
def test_a_key_given_twice_names_both_lines(loader: str, tmp_path: Path) -> None:
    _, body = LOADERS[loader]
    message = _error(loader, tmp_path, body + "pipeline:\n  set: []\n  set: [a=b]\n")
    last = len(body.splitlines()) + 3
    assert f"line {last}: key 'set' is given twice (first on line {last - 1})" in message


def test_two_sections_of_a_config_file_are_refused(tmp_path: Path) -> None:
    text = "translation:\n  num_beams: 2\nseed: 1\ntranslation:\n  max_length: 50\n"
    assert "line 4: key 'translation' is given twice (first on line 1)" in _error("config", tmp_path, text)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("# Köln\n".encode("cp1252"), "is not UTF-8: byte 0xf6 on line 1"),
        ("seed: 1\n".encode("utf-16"), "is not UTF-8: it looks like UTF-16"),
        ("seed: 1\n".encode("utf-16-le"), "is not UTF-8: it looks like UTF-16"),  # no byte order mark
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(
    loader: str, tmp_path: Path, content: bytes, problem: str
) -> None:
    assert problem in _error(loader, tmp_path, content)


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfseed: 3\n")
    assert load_config(path).seed == 3


def _bomb(levels: int, key: str) -> str:
    """A 'billion laughs' value under ``key``: each level lists the previous one nine times."""
    lines = [f"{key}:", "  - &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", LOADERS)
def test_an_alias_bomb_is_refused_by_the_loader(loader: str, tmp_path: Path) -> None:
    message = _error(loader, tmp_path, _bomb(6, "seed" if loader == "config" else "description"))
    assert f"aliases expand to more than {MAX_NODES} values" in message and len(message) < 300


@pytest.mark.parametrize(
    ("loader", "key", "problem"),
    [("config", "threads", "a whole number"), ("benchmark", "description", "a string")],
)
def test_a_value_that_is_too_big_to_show_is_cut_short(
    loader: str, key: str, problem: str, tmp_path: Path
) -> None:
    _, body = LOADERS[loader]
    message = _error(loader, tmp_path, body + _bomb(3, key))  # 913 values: within the bound
    assert f"{key} must be {problem}, got [[" in message and len(message) < 300


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    assert "an alias refers to the value that holds it" in _error("config", tmp_path, "seed: &a [*a]\n")


def test_merge_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {num_beams: 2}\n", encoding="utf-8")
    assert read_yaml(path)["base"] == {"num_beams": 2}
    path.write_text("a: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", encoding="utf-8")
    assert read_yaml(path)["c"] == {"x": 1, "y": 3}


def test_encoding_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes("# Köln\nseed: 1\n".encode("cp1252"))
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"config file {path} is not UTF-8" in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(name=42), "name must be a string, got 42"),  # accepted before
        (lambda d: d.update(systems=[]), "systems must have at least 1 item(s), got 0"),
        (lambda d: d["systems"][0].update(note=["x"]), "systems[0].note must be a string"),
        (lambda d: d["dataset"].update(limit=0), "dataset.limit must be at least 1, got 0"),
        (lambda d: d["pipeline"].update(set="device=cpu"), "pipeline.set must be a list"),
    ],
)
def test_benchmark_values_are_typed(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    data = minimal()
    data["pipeline"] = {}
    edit(data)
    with pytest.raises(ConfigError) as info:
        parse_benchmark(data)
    assert message in str(info.value)


@pytest.mark.parametrize(("max_length", "fails"), [(65, False), (66, True)])
def test_max_length_beyond_the_positions_fails_before_the_first_document(
    tiny_overrides: list[str], tmp_path: Path, max_length: int, fails: bool
) -> None:
    """19.2: the tiny BART has 64 positions, so it can generate 65 tokens (the start token
    included); 66 failed every document late ("No position encodings are defined for positions >=
    64" on CTranslate2, "IndexError: index out of range" on transformers)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("The train to Berlin was an hour late this morning.\n")
    sets = [f"--set={s}" for s in [*tiny_overrides, f"summarization.max_length={max_length}"]]
    result = CliRunner().invoke(main, ["summarize", str(tmp_path / "in"), "-o", str(tmp_path / "o"), *sets])
    if not fails:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    assert "max_length 66 (config summarization.max_length) is more than" in result.output
    assert "its 64 positions allow at most 65" in result.output
    for name in ("summaries.jsonl", "errors.jsonl"):  # refused before the first document
        path = tmp_path / "o" / name
        assert not path.exists() or not path.read_text().strip(), name
