"""Long documents: hierarchical rounds until ONE summary of at most max_length tokens is left."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from clsum.config import SummarizationConfig, load_config
from clsum.pipeline.runtime import Output
from clsum.pipeline.summarize import summarize
from clsum.record import Record
from clsum.runner import Pipeline
from tests.articles import long_dutch_article


def _tokens(pipe: Pipeline, text: str) -> int:
    return pipe.models.summarizer().count_tokens([text], special=False)[0]


@dataclass
class _Spied:
    """A summarized record, the texts of each generate() call and each generated row's length."""

    pipe: Pipeline
    record: Record
    calls: list[list[str]] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)


def _summarize(tiny_overrides: list[str], text: str, monkeypatch: pytest.MonkeyPatch, *extra: str) -> _Spied:
    pipe = Pipeline(load_config(None, [*tiny_overrides, *extra]))
    model = pipe.models.summarizer()
    spied = _Spied(pipe, Record(id="-"))
    generate, generate_all = model.generate, model.engine.generate_all

    def outputs_spy(texts: list[str], *args: Any, **kwargs: Any) -> list[Output]:
        out = generate(texts, *args, **kwargs)
        spied.calls.append([o.text for o in out])
        return out

    def engine_spy(batches: list[list[list[int]]], config: Any) -> Iterator[list[list[int]]]:
        for rows in generate_all(batches, config):
            spied.lengths.extend(len(r) for r in rows)
            yield rows

    monkeypatch.setattr(model, "generate", outputs_spy)
    monkeypatch.setattr(model.engine, "generate_all", engine_spy)
    (spied.record,) = pipe.summarize_texts([text])
    assert spied.record.ok, spied.record.error
    return spied


def _one_summary_within(spied: _Spied, limit: int) -> None:
    """The product's promise, on any CPU: no row was generated past ``limit`` (engines leave the
    decoder start token out), and the summary is the one output of the last round, or its outputs
    joined when the tokenizer counts that within ``limit``. One output's text, re-tokenized, may
    count more; int8 decodes differ between CPUs, so no particular decode's length is pinned."""
    last, summary = spied.calls[-1], spied.record.summary
    assert summary and spied.lengths and max(spied.lengths) <= limit - 1
    if len(last) > 1:
        assert summary == " ".join(t for t in last if t) and _tokens(spied.pipe, summary) <= limit
    else:
        assert last == [summary]


def test_a_very_long_document_converges_to_one_summary(
    tiny_overrides: list[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~60 chunks: more rounds than the old cap of five allowed.
    with caplog.at_level(logging.WARNING):
        spied = _summarize(tiny_overrides, long_dutch_article(60), monkeypatch)
    assert spied.record.chunks >= 40 and spied.record.coverage == 1.0 and len(spied.calls) >= 3
    _one_summary_within(spied, spied.pipe.models.summarizer().max_output_tokens)
    assert "keeping them joined" not in caplog.text


def test_summaries_too_long_to_pair_up_are_made_shorter_until_one_is_left(
    tiny_overrides: list[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two summaries of 40 tokens never fit the tiny summarizer's 64-token input together, so the
    # rounds used to stop shrinking and keep a heap of joined partial summaries.
    with caplog.at_level(logging.WARNING):
        spied = _summarize(tiny_overrides, long_dutch_article(12), monkeypatch, "summarization.max_length=40")
    assert spied.record.chunks >= 8
    _one_summary_within(spied, 40)
    assert "keeping them joined" not in caplog.text


class _WordyModel:
    """A summarizer whose outputs, decoded, take twice the tokens it was allowed to generate (as
    when byte-level BPE decodes invalid UTF-8 to U+FFFD): a token is a word here."""

    max_input_tokens, max_output_tokens, provenance = 64, 24, "wordy"
    settings = SimpleNamespace(config=SimpleNamespace(min_length=0), prefix="")

    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, texts: list[str], special: bool = True) -> list[int]:
        return [len(t.split()) + (2 if special else 0) for t in texts]

    def generate(
        self,
        texts: list[str],
        batch_size: int,
        progress: object = None,
        batch_tokens: int | None = None,
        max_length: int | None = None,
        **overrides: object,
    ) -> list[Output]:
        self.calls += 1
        if self.calls > 100:
            raise RuntimeError("the rounds do not end")
        return [Output(" ".join(["word."] * 2 * (max_length or self.max_output_tokens))) for _ in texts]


def test_rounds_end_even_when_decoded_summaries_outgrow_their_length() -> None:
    model = _WordyModel()
    record = Record(id="x", lang="en", sentences=[[f"Sentence number {i} is here." for i in range(200)]])
    models = SimpleNamespace(summarizer=lambda: model)
    summarize([record], models, SummarizationConfig())  # type: ignore[arg-type]
    assert record.ok and record.chunks > 10
    # One output of the last round, generated at the configured length: not a heap of them.
    assert record.summary == " ".join(["word."] * 2 * model.max_output_tokens)
