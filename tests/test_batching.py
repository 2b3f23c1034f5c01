"""Token-budget batching: batch shapes respect the budget, and batching never changes greedy fp32 output."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from clsum.pipeline.runtime import Seq2Seq
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.batching import token_budget_batches
from tests import tinymodels

GERMAN = tinymodels.CORPUS_DE[:14] + [" ".join(tinymodels.CORPUS_DE[20:23]), "Ja.", "Nein, danke."]
ENGLISH = [" ".join(tinymodels.CORPUS_EN[i : i + 2])[: 40 + 5 * i] for i in range(0, 24, 2)]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("budget", "rows"), [(64, 100), (200, 3), (1000, 1000), (5, 8)])
def test_batches_respect_budget_and_row_cap_and_cover_every_input(seed: int, budget: int, rows: int) -> None:
    lengths = [random.Random(seed).randint(1, 90) for _ in range(57)]
    random.Random(seed).shuffle(lengths)
    batches = token_budget_batches(lengths, budget, rows)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= rows
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= budget or len(batch) == 1  # an input over budget alone is still generated
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)  # sorted by length: rows in a batch are alike, little padding


def test_batches_fill_the_budget() -> None:
    assert token_budget_batches([10] * 10, 40, 100) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert token_budget_batches([3, 50, 2], 10, 100) == [[2, 0], [1]]
    assert token_budget_batches([], 10, 10) == []


@pytest.fixture(scope="module")
def fp32_models(tiny_models: dict[str, Path], sharp_bart: Path) -> dict[str, tuple[Seq2Seq, list[str]]]:
    out = {}
    for key, path, texts in (("de", tiny_models["de"], GERMAN), ("summarizer", sharp_bart, ENGLISH)):
        for backend in ("transformers", "ctranslate2"):
            model = Seq2Seq(str(path), "cpu", Options(backend, "float32"))
            out[f"{key}-{backend}"] = (model, texts)
    return out


ALL = ["de-transformers", "de-ctranslate2", "summarizer-transformers", "summarizer-ctranslate2"]


@pytest.mark.parametrize("name", ALL)
def test_batched_greedy_fp32_equals_one_at_a_time(name: str, fp32_models: dict[str, Any]) -> None:
    model, texts = fp32_models[name]
    single = [model.generate([t], batch_size=1)[0] for t in texts]
    assert len(set(single)) > 1, "every input gives the same output: the comparison proves nothing"
    for budget, rows in ((None, 64), (120, 64), (300, 5), (1 << 20, 1 << 10)):
        assert model.generate(texts, batch_size=rows, batch_tokens=budget) == single, (budget, rows)


@pytest.mark.parametrize("name", ["de-transformers", "de-ctranslate2"])
def test_generate_batches_by_token_budget(
    name: str, fp32_models: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, texts = fp32_models[name]
    engine = model.engine
    shapes: list[tuple[int, int]] = []
    real = engine.generate

    def spy(batch: list[list[int]], settings: dict[str, Any]) -> list[list[int]]:
        shapes.append((len(batch), max(len(row) for row in batch)))
        return real(batch, settings)

    monkeypatch.setattr(engine, "generate", spy)
    done: list[int] = []
    model.generate(texts, batch_size=6, batch_tokens=100, progress=done.append)
    assert len(shapes) > 1 and sum(done) == len(texts) == sum(rows for rows, _ in shapes)
    assert done == [rows for rows, _ in shapes]  # progress: once per batch, with its size
    assert all(rows <= 6 and (rows * longest <= 100 or rows == 1) for rows, longest in shapes)
