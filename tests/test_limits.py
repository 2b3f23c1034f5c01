"""Input limits: a document past input.max_bytes or input.max_tokens is an error record, one just
under is summarized, and no document is held in memory whole before its size is known."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from clsum.config import Config, load_config, output_settings
from clsum.pipeline import limits
from clsum.pipeline.ingest import ingest, open_source
from clsum.runner import Pipeline
from tests.articles import NL_BODY, long_dutch_article
from tests.helpers import set_args


def _pipeline(tiny_overrides: list[str], *extra: str) -> Pipeline:
    return Pipeline(load_config(None, [*tiny_overrides, *extra]))


def test_limits_are_settings_outside_the_hash() -> None:
    config = load_config(None, ["input.max_bytes=1000", "input.max_tokens=0"])
    assert (config.input.max_bytes, config.input.max_tokens) == (1000, 0)
    # Raising a limit redoes only the documents it refused; adding the section changed no stored key.
    assert config.hash() == Config().hash() and "input" not in output_settings(config)


def test_a_file_over_max_bytes_is_an_error_record_one_at_the_limit_is_read(tmp_path: Path) -> None:
    (tmp_path / "at.txt").write_bytes(b"x" * 999 + b".")
    (tmp_path / "over.txt").write_bytes(b"x" * 1000 + b".")
    at, over = ingest(tmp_path, max_bytes=1000)
    assert at.ok and len(at.raw) == 1000
    assert over.error is not None and over.error.stage == "ingest"
    assert over.error.message == "too large: 1001 bytes > limit 1000; raise input.max_bytes to allow"


def test_a_huge_file_is_refused_without_being_read(tmp_path: Path) -> None:
    with (tmp_path / "huge.txt").open("wb") as fh:
        fh.truncate(200_000_000)  # sparse: costs no disk
    tracemalloc.start()
    try:
        (record,) = ingest(tmp_path, max_bytes=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record.error is not None
    assert record.error.message == "too large: 200000000 bytes > limit 1000; raise input.max_bytes to allow"
    assert peak < 1_000_000


def test_jsonl_texts_over_max_bytes_are_error_records(tmp_path: Path) -> None:
    lines = [
        {"id": "ok", "text": "é" * 50},  # 100 bytes as UTF-8
        {"id": "big", "text": "é" * 51},
        {"id": "huge", "text": "x" * 10_000},  # a line longer than any text of 100 bytes can be
        {"id": "after", "text": "weer gewoon"},
    ]
    file = tmp_path / "docs.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    assert len(open_source(file, max_bytes=100)) == 4
    records = ingest(file, max_bytes=100)
    assert [(r.id, r.ok) for r in records] == [
        ("ok", True),
        ("big", False),
        ("docs.jsonl:3", False),
        ("after", True),
    ]
    assert records[1].error is not None
    assert records[1].error.message == "too large: 102 bytes > limit 100; raise input.max_bytes to allow"
    assert records[2].error is not None and records[2].error.message.startswith(
        "too large: line 3 is longer than 600 bytes"
    )


def test_api_texts_over_max_bytes_are_error_records(tiny_overrides: list[str]) -> None:
    at, over = _pipeline(tiny_overrides, "input.max_bytes=300").summarize_texts(
        [("x" * 298) + "é", ("x" * 299) + "é"], until="clean"
    )
    assert at.ok and over.error is not None
    assert over.error.message == "too large: 301 bytes > limit 300; raise input.max_bytes to allow"


def _tokens(pipe: Pipeline, text: str) -> int:
    (record,) = pipe.summarize_texts([text], until="clean")
    return sum(pipe.models.translator("nl").count_tokens(record.paragraphs, special=False))


def test_a_document_past_max_tokens_fails_one_just_under_is_summarized(tiny_overrides: list[str]) -> None:
    text = long_dutch_article(3)
    n = _tokens(_pipeline(tiny_overrides), text)
    (under,) = _pipeline(tiny_overrides, f"input.max_tokens={n}").summarize_texts([text])
    assert under.ok and under.summary
    (past,) = _pipeline(tiny_overrides, f"input.max_tokens={n - 1}").summarize_texts([text])
    assert past.error is not None and past.error.stage == "segment"
    assert past.error.message == f"too long: {n} tokens > limit {n - 1}; raise input.max_tokens to allow"
    assert not past.sentences  # refused before it was split


def test_english_documents_are_counted_with_the_summarizer(tiny_overrides: list[str]) -> None:
    text = "The council approved the plan. " * 200  # 1,000 words
    pipe = _pipeline(tiny_overrides)
    n = sum(pipe.models.summarizer().count_tokens([text.strip()], special=False))
    assert n > 1100
    # Fewer words than the limit: counted by the summarizer, after segmentation (English skips
    # translation, and loads no model before it).
    (record,) = _pipeline(tiny_overrides, "input.max_tokens=1100").summarize_texts([text])
    assert record.error is not None and record.error.stage == "summarize"
    assert record.error.message == f"too long: {n} tokens > limit 1100; raise input.max_tokens to allow"
    # More words than the limit: surely too long, counted before pysbd splits it.
    (record,) = _pipeline(tiny_overrides, "input.max_tokens=900").summarize_texts([text], until="segment")
    assert record.error is not None and record.error.stage == "segment" and not record.sentences
    assert record.error.message == f"too long: {n} tokens > limit 900; raise input.max_tokens to allow"


def test_token_counting_goes_in_bounded_pieces() -> None:
    seen: list[int] = []

    def count(texts: list[str]) -> list[int]:
        seen.append(sum(len(t) for t in texts))
        return [len(t.split()) for t in texts]

    words = "woord " * 50_000  # 300,000 characters in one paragraph
    assert limits.count_tokens([words, "nog twee"], count) == 50_002
    assert max(seen) <= limits.COUNT_PIECE_CHARS


def test_a_run_writes_the_refused_document_as_an_error_and_the_rest(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "kort.txt").write_text(NL_BODY, encoding="utf-8")
    (tmp_path / "in" / "lang.txt").write_text(long_dutch_article(40), encoding="utf-8")
    result = _pipeline(tiny_overrides, "input.max_tokens=2000").run(tmp_path / "in", tmp_path / "out")
    assert (result.summarized, result.failed, result.failures) == (1, 1, {"segment": 1})
    (row,) = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert row["id"] == "lang.txt" and row["error"].startswith("too long: ")
    assert row["error"].endswith(" tokens > limit 2000; raise input.max_tokens to allow")


def test_the_cli_applies_the_configured_byte_limit(tiny_overrides: list[str], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from clsum.cli import main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "kort.txt").write_text(NL_BODY, encoding="utf-8")
    (tmp_path / "in" / "groot.txt").write_text(NL_BODY * 4, encoding="utf-8")
    sets = set_args(*tiny_overrides, "input.max_bytes=500")
    result = CliRunner().invoke(
        main, ["summarize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", *sets]
    )
    assert result.exit_code == 3
    (row,) = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert row["id"] == "groot.txt"
    assert row["error"] == f"too large: {len(NL_BODY) * 4} bytes > limit 500; raise input.max_bytes to allow"
