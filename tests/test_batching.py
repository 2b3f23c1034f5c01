"""Batching without padding: batch shapes respect the budget and hold one length, and batching never
changes an output."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from clsum.pipeline.runtime import Seq2Seq
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.seq2seq import equal_length_batches
from tests import tinymodels

GERMAN = tinymodels.CORPUS_DE[:14] + [" ".join(tinymodels.CORPUS_DE[20:23]), "Ja.", "Nein, danke."]
ENGLISH = [" ".join(tinymodels.CORPUS_EN[i : i + 2])[: 40 + 5 * i] for i in range(0, 24, 2)]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("budget", "rows"), [(64, 100), (200, 3), (1000, 1000), (5, 8)])
def test_batches_respect_budget_and_row_cap_and_cover_every_input(seed: int, budget: int, rows: int) -> None:
    lengths = [random.Random(seed).randint(1, 90) for _ in range(57)]
    random.Random(seed).shuffle(lengths)
    batches = equal_length_batches(lengths, budget, rows)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= rows
        assert len({lengths[i] for i in batch}) == 1  # one length: no padding
        assert len(batch) * lengths[batch[0]] <= budget or len(batch) == 1  # over budget: alone
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)


def test_batches_fill_the_budget() -> None:
    assert equal_length_batches([10] * 10, 40, 100) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert equal_length_batches([3, 50, 2, 3], 10, 100) == [[2], [0, 3], [1]]
    assert equal_length_batches([], 10, 10) == []


@pytest.fixture(scope="module")
def fp32_models(tiny_models: dict[str, Path], sharp_bart: Path) -> dict[str, tuple[Seq2Seq, list[str]]]:
    out = {}
    for key, path, texts in (("de", tiny_models["de"], GERMAN), ("summarizer", sharp_bart, ENGLISH)):
        for backend in ("transformers", "ctranslate2"):
            model = Seq2Seq(str(path), "cpu", Options(backend, "float32"))
            out[f"{key}-{backend}"] = (model, texts)
    return out


# The transformers halves take about 2.5 s each (generate one text at a time): slow lane.
ALL = [
    pytest.param("de-transformers", marks=pytest.mark.slow),
    "de-ctranslate2",
    pytest.param("summarizer-transformers", marks=pytest.mark.slow),
    "summarizer-ctranslate2",
]


@pytest.mark.parametrize("name", ALL)
def test_batched_greedy_fp32_equals_one_at_a_time(name: str, fp32_models: dict[str, Any]) -> None:
    model, texts = fp32_models[name]
    single = [model.generate([t], batch_size=1)[0] for t in texts]
    assert len({o.text for o in single}) > 1, (
        "every input gives the same output: the comparison proves nothing"
    )
    for budget, rows in ((None, 64), (120, 64), (300, 5), (1 << 20, 1 << 10)):
        assert model.generate(texts, batch_size=rows, batch_tokens=budget) == single, (budget, rows)


@pytest.mark.parametrize("name", ["de-transformers", "de-ctranslate2"])
def test_generate_batches_by_length_and_token_budget(
    name: str, fp32_models: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, texts = fp32_models[name]
    engine = model.engine
    shapes: list[tuple[int, int]] = []
    real = engine.generate_all

    def spy(batches: list[list[list[int]]], settings: Any) -> Any:
        for batch in batches:
            assert len({len(row) for row in batch}) == 1  # no padding
            shapes.append((len(batch), len(batch[0])))
        return real(batches, settings)

    monkeypatch.setattr(engine, "generate_all", spy)
    done: list[int] = []
    model.generate(texts, batch_size=6, batch_tokens=100, progress=done.append)
    assert len(shapes) > 1 and sum(done) == len(texts) == sum(rows for rows, _ in shapes)
    assert done == [rows for rows, _ in shapes]  # progress: once per batch, with its size
    assert all(rows <= 6 and (rows * longest <= 100 or rows == 1) for rows, longest in shapes)


# --- int8: an output never depends on the inputs beside it ------------------------------------------


def _long_texts(model: Seq2Seq) -> list[str]:
    """Inputs of 150-850 tokens, two of each length (the same sentences, the later ones reversed)."""
    rng = random.Random(0)
    texts = []
    for n in (30, 60, 90, 110, 140, 170):
        first, *rest = [rng.choice(tinymodels.CORPUS_EN) for _ in range(n // 6 + 1)]
        texts += [" ".join([first, *rest]), " ".join([first, *reversed(rest)])]
    return texts


@pytest.fixture(scope="module")
def sensitive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.backendmodels import padding_sensitive_bart

    return padding_sensitive_bart(tmp_path_factory.mktemp("sensitive") / "bart")


def test_the_model_can_show_padding_effects(sensitive: Path) -> None:
    """Outputs of a padded int8 batch differ from each input alone: the test below can fail."""
    model = Seq2Seq(str(sensitive), "cpu", Options("ctranslate2", "int8", threads=1))
    texts = _long_texts(model)
    tok, translator = model.tokenizer, model.engine.translator  # type: ignore[attr-defined]
    options = model.engine.options(model.settings.config)  # type: ignore[attr-defined]
    source = [tok.convert_ids_to_tokens(ids) for ids in model._ids(texts)]
    prefix = [["<s>"]] * len(source)
    alone = [translator.translate_batch([s], prefix[:1], **options)[0].hypotheses[0] for s in source]
    padded = [r.hypotheses[0] for r in translator.translate_batch(source, prefix, **options)]
    assert alone != padded


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_int8_outputs_do_not_depend_on_threads_or_batch_settings(sensitive: Path, threads: int) -> None:
    reference = Seq2Seq(str(sensitive), "cpu", Options("ctranslate2", "int8", threads=1))
    texts = _long_texts(reference)
    alone = [reference.generate([t], batch_size=1)[0] for t in texts]
    assert len({o.text for o in alone}) > len(texts) // 2, (
        "outputs do not depend on the input: the test proves nothing"
    )
    model = Seq2Seq(str(sensitive), "cpu", Options("ctranslate2", "int8", threads=threads))
    for rows, budget in ((64, None), (2, None), (64, 2000), (3, 1 << 20)):
        assert model.generate(texts, batch_size=rows, batch_tokens=budget) == alone, (threads, rows, budget)
    assert model.generate(texts[::-1], batch_size=64) == alone[::-1]  # other neighbours, same outputs


def test_equal_lengths_are_batched_together(sensitive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The invariance above is not the trivial one of batches of one row."""
    model = Seq2Seq(str(sensitive), "cpu", Options("ctranslate2", "int8", threads=1))
    texts = _long_texts(model)
    rows: list[int] = []
    real = model.engine.generate_all

    def spy(batches: list[list[list[int]]], settings: Any) -> Any:
        rows.extend(len(b) for b in batches)
        return real(batches, settings)

    monkeypatch.setattr(model.engine, "generate_all", spy)
    model.generate(texts, batch_size=64)
    counts = model.count_tokens(texts)
    assert counts[::2] == counts[1::2] and len(set(counts)) == len(texts) // 2
    assert rows == [2] * (len(texts) // 2)


def test_a_runs_outputs_do_not_depend_on_speed_settings(
    sensitive: Path, tiny_overrides: list[str], tmp_path: Path
) -> None:
    """Whole runs (summaries.jsonl) under other threads, document batches, generate() batches,
    cache and prefetch: the same summaries, with an int8 summarizer that padding can change."""
    from clsum.config import load_config
    from clsum.pipeline.write import SUMMARIES, read_rows
    from clsum.runner import Pipeline

    texts = _long_texts(Seq2Seq(str(sensitive), "cpu"))
    source = tmp_path / "docs.jsonl"
    rows = [json.dumps({"id": str(i), "text": t, "lang": "en"}) for i, t in enumerate(texts)]
    source.write_text("\n".join(rows) + "\n")
    base = [*tiny_overrides, f"summarization.model={sensitive}", "backend=ctranslate2", "compute_type=int8"]
    variants = (
        ["threads=1", "doc_batch_size=1"],
        ["threads=2", "doc_batch_size=6", "summarization.batch_size=8"],
        ["threads=3", "doc_batch_size=12", "summarization.batch_tokens=3000", "prefetch=false"],
    )
    summaries = []
    for n, sets in enumerate(variants):
        Pipeline(load_config(None, [*base, *sets])).run(source, tmp_path / str(n))
        summaries.append({r["id"]: r["summary"] for r in read_rows(tmp_path / str(n) / SUMMARIES)})
    assert len(set(summaries[0].values())) > len(texts) // 2
    assert summaries[0] == summaries[1] == summaries[2]
