"""The run-wide translation cache: boilerplate is translated once, settings are part of the key,
and the output is the same with and without it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clsum.config import load_config
from clsum.pipeline.tcache import TranslationCache
from clsum.runner import Pipeline
from tests.articles import DE_BODY, NL_BODY, SENTENCES_NL

BOILERPLATE = "Lees ook het laatste nieuws over de gemeente Utrecht op onze website."


def test_lru_keeps_the_most_recently_used_entries() -> None:
    cache = TranslationCache(2)
    ctx = cache.context("model@abc", {"num_beams": None})
    cache.store(ctx, {"a": "A", "b": "B"})
    assert cache.lookup(ctx, ["a"]) == {"a": "A"}  # "a" is now the most recent
    cache.store(ctx, {"c": "C"})
    assert cache.lookup(ctx, ["a", "b", "c"]) == {"a": "A", "c": "C"}
    assert (cache.hits, cache.misses, len(cache)) == (3, 1, 2)


def test_size_zero_stores_nothing() -> None:
    cache = TranslationCache(0)
    ctx = cache.context("m", {})
    cache.store(ctx, {"a": "A"})
    assert cache.lookup(ctx, ["a"]) == {} and len(cache) == 0


def test_key_depends_on_model_settings_and_text() -> None:
    base = TranslationCache.context("m@1", {"num_beams": 4, "max_length": None})
    keys = {
        TranslationCache.key(base, "x"),
        TranslationCache.key(base, "y"),
        TranslationCache.key(TranslationCache.context("m@2", {"num_beams": 4, "max_length": None}), "x"),
        TranslationCache.key(TranslationCache.context("m@1", {"num_beams": 2, "max_length": None}), "x"),
    }
    assert len(keys) == 4
    assert TranslationCache.key(base, "x") == TranslationCache.key(
        TranslationCache.context("m@1", {"max_length": None, "num_beams": 4}), "x"
    )


# --- with the tiny models ---------------------------------------------------------------------------


def _folder(root: Path) -> Path:
    """Four Dutch articles sharing a boilerplate sentence, in different batches of two."""
    root.mkdir()
    for i, sentence in enumerate(SENTENCES_NL[:4]):
        (root / f"{i}.txt").write_text(f"Bericht {i}.\n\n{sentence} {NL_BODY}\n\n{BOILERPLATE}\n")
    (root / "de.txt").write_text(f"Meldung.\n\n{DE_BODY}\n")
    return root


def _spy(pipe: Pipeline, calls: list[list[str]]) -> None:
    """Record the texts each translator's generate() is asked for."""
    for lang in ("de", "nl"):
        translator = pipe.models.translator(lang)
        real = translator.generate

        def generate(texts: list[str], *args: Any, _real: Any = real, **kwargs: Any) -> list[Any]:
            calls.append(list(texts))
            return list(_real(texts, *args, **kwargs))

        translator.generate = generate  # type: ignore[method-assign]


def _run(tiny_overrides: list[str], source: Path, out: Path, *extra: str) -> tuple[list[list[str]], Path]:
    pipe = Pipeline(load_config(None, [*tiny_overrides, "doc_batch_size=2", *extra]))
    calls: list[list[str]] = []
    _spy(pipe, calls)
    pipe.run(source, out)
    return calls, out


def _outputs(out: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("timings")
    return rows


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("tcache") / "in")


def test_boilerplate_repeated_across_batches_is_generated_once(
    tiny_overrides: list[str], source: Path, tmp_path: Path
) -> None:
    calls, out = _run(tiny_overrides, source, tmp_path / "out")
    generated = [text for call in calls for text in call]
    assert generated.count(BOILERPLATE) == 1
    assert generated.count(SENTENCES_NL[0]) == 1
    assert len(generated) == len(set(generated))  # nothing is generated twice in the whole run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["translation_cache"]["misses"] == len(generated)
    assert manifest["translation_cache"]["hits"] >= 1 + 3  # the boilerplate, and NL_BODY's 3 sentences


def test_output_is_identical_without_the_cache(
    tiny_overrides: list[str], source: Path, tmp_path: Path
) -> None:
    _, cached = _run(tiny_overrides, source, tmp_path / "cached")
    calls, uncached = _run(tiny_overrides, source, tmp_path / "uncached", "translation.cache_size=0")
    assert [t for call in calls for t in call].count(BOILERPLATE) == 2  # once per batch holding it
    assert json.loads((uncached / "manifest.json").read_text())["translation_cache"]["hits"] == 0
    assert _outputs(cached) == _outputs(uncached)
    config = load_config(None, tiny_overrides)
    assert config.hash() == load_config(None, [*tiny_overrides, "translation.cache_size=0"]).hash()


def test_changing_num_beams_misses(tiny_overrides: list[str]) -> None:
    pipe = Pipeline(load_config(None, tiny_overrides))
    calls: list[list[str]] = []
    _spy(pipe, calls)
    texts = [f"{BOILERPLATE} {NL_BODY}"]
    pipe.summarize_texts(texts, until="translate")
    pipe.summarize_texts(texts, until="translate")
    assert len(calls) == 1  # the second call was served from the cache
    pipe.config.translation.num_beams = 2
    pipe.summarize_texts(texts, until="translate")
    assert len(calls) == 2 and BOILERPLATE in calls[1]
