"""Long documents: hierarchical rounds until ONE summary of at most max_length tokens is left."""

from __future__ import annotations

import logging

import pytest

from clsum.config import load_config
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
