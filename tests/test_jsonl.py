"""The one JSON Lines reader: split at "\n" only, bounded, a partial last line marked."""

from __future__ import annotations

import io
import json
from pathlib import Path

from clsum.pipeline.jsonl import Line, lines, text_lines


def test_lines_longer_than_the_cap_are_never_held() -> None:
    data = io.BytesIO(b"short\n" + b"y" * 5000 + b"\nlast")
    assert list(lines(data.readline, 10)) == [
        Line(1, b"short", True),
        Line(2, None, True),
        Line(3, b"last", False),  # no "\n": what a killed writer leaves
    ]


def test_only_newline_ends_a_line() -> None:
    text = '{"t": "a\u2028b\u2029c\x85d"}\r\n{"t": 2}\n'
    assert [(x.text, x.complete) for x in text_lines(text)] == [
        ('{"t": "a\u2028b\u2029c\x85d"}', True),
        ('{"t": 2}', True),
    ]
    raw = io.BytesIO(text.encode())
    assert [x.text for x in lines(raw.readline)] == [
        t.encode() for t in ('{"t": "a\u2028b\u2029c\x85d"}', '{"t": 2}')
    ]


def test_score_reads_jsonl_whose_texts_hold_line_separators(tmp_path: Path) -> None:
    from clsum.eval.textio import load_aligned

    texts = ["one\u2028two", "three\x85four"]
    for name in ("hyp.jsonl", "ref.jsonl"):
        rows = [json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
        (tmp_path / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert load_aligned(tmp_path / "ref.jsonl", tmp_path / "hyp.jsonl") == (texts, texts)
