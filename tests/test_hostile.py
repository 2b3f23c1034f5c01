"""Hostile names and ids: nothing a single document holds can stop a run or make it unresumable.

A Linux file name may hold any bytes but ``/`` and NUL, so it need not be UTF-8; a JSON string may
hold a lone surrogate (``"\\ud800"``). UTF-8 can store neither. Such ids are escaped (and the row
says how), every row stays valid JSON, and a rerun finds every document done.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from clsum.cli import main
from clsum.pipeline.ingest import FILE_NAME_ESCAPE, ID_ESCAPE
from tests.articles import EN_BODY, NL_BODY
from tests.helpers import fake_pipeline, set_args


def _strict_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL output, read as strictly as any other tool would: UTF-8, no lone surrogates."""
    text = path.read_bytes().decode("utf-8")
    rows = [json.loads(line) for line in text.split("\n") if line]  # not splitlines(): U+2028 is text
    for row in rows:
        row["id"].encode("utf-8")  # raises on a lone surrogate
    return rows


def _write_bytes_name(folder: bytes, name: bytes, text: str) -> None:
    os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(text.encode("utf-8"))


def test_a_file_name_that_is_not_utf8_gets_an_escaped_id_and_the_batch_is_written(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    src = os.fsencode(tmp_path / "in")
    _write_bytes_name(src, b"bad\xffname.txt", f"Bericht.\n\n{NL_BODY}\n")
    for i in range(9):
        _write_bytes_name(src, f"doc{i}.txt".encode(), f"Bericht {i}.\n\n{NL_BODY}\n")
    out = tmp_path / "out"
    args = ["summarize", str(tmp_path / "in"), "-o", str(out), "-q", "--set", "doc_batch_size=8"]
    args += set_args(*tiny_overrides)
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    rows = {r["id"]: r for r in _strict_rows(out / "summaries.jsonl")}
    assert len(rows) == 10
    assert rows["bad\\xffname.txt"]["id_escape"] == FILE_NAME_ESCAPE
    assert rows["bad\\xffname.txt"]["summary"]
    assert "id_escape" not in rows["doc0.txt"]
    assert "bad\\xffname.txt" in (out / "summaries.md").read_text(encoding="utf-8")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert json.loads((out / "manifest.json").read_text())["counts"]["skipped"] == 10


def test_a_jsonl_id_with_a_lone_surrogate_is_escaped_and_the_run_completes(tmp_path: Path) -> None:
    lines = [
        {"id": "sur\ud800rogate", "text": EN_BODY, "lang": "en"},
        {"id": "sur\\ud800rogate", "text": EN_BODY, "lang": "en"},  # its escaped form, as a real id
        {"id": "fine", "text": EN_BODY + " Lone \udfff in the text.", "lang": "en"},
        {"id": "odd-lang", "text": EN_BODY, "lang": "e\ud800n"},
    ]
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="ascii")
    out = tmp_path / "out"
    result = fake_pipeline().run(source, out)
    assert (result.total, result.summarized, result.failed) == (4, 2, 2)
    summaries = {r["id"]: r for r in _strict_rows(out / "summaries.jsonl")}
    errors = {r["id"]: r for r in _strict_rows(out / "errors.jsonl")}
    assert summaries["sur\\ud800rogate"]["id_escape"] == ID_ESCAPE
    assert "\ufffd" in summaries["fine"]["source"]
    assert errors["sur\\ud800rogate#2"]["error"].startswith("duplicate id")
    assert errors["odd-lang"]["stage"] == "detect"
    assert fake_pipeline().run(source, out).skipped == 2


# Pieces of hostile names: bytes that are not UTF-8 (lone continuation bytes, a truncated sequence,
# an encoded surrogate), control characters, separators JSON and Markdown care about, the escaped
# form of a bad byte written literally (a collision), and ordinary non-ASCII text.
NAME_PIECES = [
    b"\xff", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\\xff", b"\\x80", b"#2", b" ", b"\n", b"\t", b"\r",
    b"\x1b", b"\x7f", b"-", b'"', b"'", b"`", b"$", b"%", b"\\", "\u2028".encode(), "\u202e".encode(),
    "e\u0301".encode(), "\U0001f600".encode(), "Straße".encode(), b"a", b"b",
]  # fmt: skip
ID_PIECES = [
    "\ud800", "\udfff", "\udcff", "\ud83d\ude00", "\\ud800", "\x00", "\x1f", "\u2028", "\u2029", "\n",
    '"', "\\", "#1", " ", "ü", "a", "b", "x" * 300,
]  # fmt: skip


def _fuzz_names(rng: random.Random, n: int) -> set[bytes]:
    names: set[bytes] = set()
    while len(names) < n:
        stem = b"".join(rng.choice(NAME_PIECES) for _ in range(rng.randint(1, 4)))
        folder = b"".join(rng.choice(NAME_PIECES) for _ in range(rng.randint(1, 2)))
        name = stem.replace(b"/", b"_") + b".txt"
        names.add(os.path.join(folder, name) if rng.random() < 0.3 else name)
    return {n for n in names if not os.path.basename(n).startswith(b".")}  # hidden files are skipped


def test_fuzz_odd_file_names_every_document_lands_once_and_resumes(tmp_path: Path) -> None:
    rng = random.Random(11)
    src = os.fsencode(tmp_path / "in")
    # One sure collision: a bad byte, and its escaped form written literally by someone.
    names = _fuzz_names(rng, 80) | {b"clash\xff.txt", b"clash\\xff.txt"}
    for i, name in enumerate(sorted(names)):
        _write_bytes_name(src, name, f"Report {i}.\n\n{EN_BODY}\n")
    out = tmp_path / "out"
    result = fake_pipeline().run(tmp_path / "in", out)
    assert result.total == len(names)
    summaries = _strict_rows(out / "summaries.jsonl")
    errors = _strict_rows(out / "errors.jsonl")
    ids = [r["id"] for r in summaries + errors]
    assert len(ids) == len(set(ids)) == len(names)  # every file once, no two merged
    # An escaped id is its file's relative path with the bytes that are not UTF-8 written as \xNN.
    documented = {name.decode("utf-8", "backslashreplace") for name in names}
    escaped = [row["id"] for row in summaries if row.get("id_escape")]
    assert escaped and set(escaped) <= documented
    message = "file name is not UTF-8, and its escaped form 'clash\\xff.txt' is taken"
    assert [(e["id"], e["error"]) for e in errors] == [("clash\\xff.txt#2", message)]
    again = fake_pipeline().run(tmp_path / "in", out)
    assert again.skipped == len(summaries) and again.summarized == 0


def test_fuzz_odd_jsonl_ids_and_texts_never_stop_a_run(tmp_path: Path) -> None:
    rng = random.Random(7)
    lines = []
    for i in range(120):
        doc_id = "".join(rng.choice(ID_PIECES) for _ in range(rng.randint(1, 4)))
        text = EN_BODY + "".join(rng.choice(ID_PIECES) for _ in range(3))
        line: dict[str, Any] = {"id": doc_id, "text": text}
        if i % 10 == 0:
            line["lang"] = rng.choice(ID_PIECES)
        lines.append(line)
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="ascii")
    out = tmp_path / "out"
    result = fake_pipeline().run(source, out, lang=None)
    assert result.total == len(lines)
    summaries = _strict_rows(out / "summaries.jsonl")
    errors = _strict_rows(out / "errors.jsonl")
    ids = [r["id"] for r in summaries + errors]
    assert len(ids) == len(set(ids)) == len(lines)
    again = fake_pipeline().run(source, out)
    assert again.skipped == len(summaries)
