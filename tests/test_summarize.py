"""Long documents: hierarchical rounds until ONE summary of at most max_length tokens is left."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from clsum.config import SummarizationConfig, load_config
from clsum.pipeline.runtime import Output
from clsum.pipeline.summarize import summarize
from clsum.record import Record
from clsum.runner import Pipeline
from tests.articles import long_dutch_article


def _summarize(tiny_overrides: list[str], text: str, *extra: str) -> tuple[Pipeline, Record]:
    pipe = Pipeline(load_config(None, [*tiny_overrides, *extra]))
    (record,) = pipe.summarize_texts([text])
    assert record.ok, record.error
    return pipe, record


def _tokens(pipe: Pipeline, text: str) -> int:
    return pipe.models.summarizer().count_tokens([text], special=False)[0]


def test_a_very_long_document_converges_to_one_summary(
    tiny_overrides: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # ~60 chunks: more rounds than the old cap of five allowed.
    text = long_dutch_article(60)
    with caplog.at_level(logging.WARNING):
        pipe, record = _summarize(tiny_overrides, text)
    limit = pipe.models.summarizer().max_output_tokens
    assert record.chunks >= 40 and record.coverage == 1.0
    assert record.summary and _tokens(pipe, record.summary) <= limit
    assert "keeping them joined" not in caplog.text


def test_summaries_too_long_to_pair_up_are_made_shorter_until_one_is_left(
    tiny_overrides: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Two summaries of 40 tokens never fit the tiny summarizer's 64-token input together, so the
    # rounds used to stop shrinking and keep a heap of joined partial summaries.
    with caplog.at_level(logging.WARNING):
        pipe, record = _summarize(tiny_overrides, long_dutch_article(12), "summarization.max_length=40")
    assert record.chunks >= 8
    assert record.summary and _tokens(pipe, record.summary) <= 40
    assert "keeping them joined" not in caplog.text


class _WordyModel:
    """A summarizer whose outputs, decoded, take twice the tokens it was allowed to generate (as
    when byte-level BPE decodes invalid UTF-8 to U+FFFD): a token is a word here."""

    max_input_tokens, max_output_tokens, prefix, provenance = 64, 24, "", "wordy"
    settings = SimpleNamespace(config=SimpleNamespace(min_length=0))

    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, texts: list[str], special: bool = True) -> list[int]:
        return [len(t.split()) + (2 if special else 0) for t in texts]

    def generate_outputs(
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
