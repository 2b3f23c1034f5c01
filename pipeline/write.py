"""Stage 7: write results durably to the output folder, so that a killed run resumes cleanly.

``summaries.jsonl`` and ``errors.jsonl`` are append-only during a run: each document batch is
appended with one write and fsync'd, so ``kill -9`` can at worst leave one partial last line.
Opening the store repairs that: it drops unparseable lines, keeps one row per id, drops rows this
run will redo, and rewrites the files atomically (temp file + rename). ``manifest.json`` and
``summaries.md`` are always replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clsum.record import Record, warning_text

log = logging.getLogger(__name__)

SUMMARIES = "summaries.jsonl"
ERRORS = "errors.jsonl"
MANIFEST = "manifest.json"
MARKDOWN = "summaries.md"


def summary_row(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "title_en": record.title_en,
        "lang": record.lang,
        "lang_confidence": record.lang_confidence,
        "lang_source": record.lang_source,
        "paragraph_langs": record.paragraph_langs or None,  # set only for a document in several languages
        "source": record.source,
        "translation": record.translation,
        "summary": record.summary,
        "chunks": record.chunks,
        "coverage": record.coverage,
        "metadata": record.metadata,
        "removed": [asdict(r) for r in record.removed],
        "encoding": record.encoding,
        "repairs": record.repairs,
        "warnings": [asdict(w) for w in record.warnings],
        "timings": {k: round(v, 4) for k, v in record.timings.items()},
        "models": record.models,
        "key": record.key,
    }


def error_row(record: Record) -> dict[str, Any]:
    assert record.error is not None
    return {"id": record.id, "stage": record.error.stage, "error": record.error.message, "key": record.key}


class OutputStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def prepare(self, keys: dict[str, str], force: bool = False) -> set[str]:
        """Repair the files and return the ids whose stored summary matches ``keys`` (to skip).

        Rows for ids in ``keys`` that will be redone are removed now, so that each id ends up in
        the output exactly once; rows for other ids (earlier runs on other inputs) are kept.
        """
        done: set[str] = set()

        def kept_summaries() -> Iterator[dict[str, Any]]:
            for row in read_rows(self.folder / SUMMARIES):
                if row["id"] in keys:
                    if force or row.get("key") != keys[row["id"]]:
                        continue
                    done.add(row["id"])
                yield row

        # Streamed row by row: an output folder with 100,000 summaries is never held in memory.
        _write_atomic_lines(self.folder / SUMMARIES, _jsonl_lines(kept_summaries()))
        errors = (row for row in read_rows(self.folder / ERRORS) if row["id"] not in keys)
        _write_atomic_lines(self.folder / ERRORS, _jsonl_lines(errors))
        return done

    def append(self, records: Iterable[Record]) -> None:
        records = list(records)
        _append_durable(self.folder / SUMMARIES, _jsonl_lines(summary_row(r) for r in records if r.ok))
        _append_durable(self.folder / ERRORS, _jsonl_lines(error_row(r) for r in records if not r.ok))

    def counts(self) -> dict[str, int]:
        return {
            "summaries": len(_last_lines(self.folder / SUMMARIES)),
            "errors": len(_last_lines(self.folder / ERRORS)),
        }

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        _write_atomic(self.folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    def write_markdown(self) -> None:
        rows = read_rows(self.folder / SUMMARIES)
        _write_atomic_lines(self.folder / MARKDOWN, _markdown_parts(rows))


def render_markdown(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(_markdown_parts(rows))


def _markdown_parts(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "# Summaries\n"
    for row in rows:
        title = row.get("title_en") or row.get("title") or row["id"]
        lang = f"{row['lang']}" + (
            f", p={row['lang_confidence']:.2f}" if row.get("lang_source") == "detected" else ""
        )
        original = f" (original title: {row['title']})" if row.get("title") not in (None, title) else ""
        yield (
            f"\n## {title}\n\n`{row['id']}` · language: {lang} · chunks: {row['chunks']} · "
            f"coverage: {row['coverage']:.0%}{original}{_warning_note(row)}\n\n{row['summary']}\n"
        )


def _warning_note(row: dict[str, Any]) -> str:
    """`` · warnings: 2 of 14 translations cut at max_length`` for a row with degenerate outputs."""
    notes = [warning_text(w["stage"], w["kind"], w["count"], w["outputs"]) for w in row.get("warnings") or []]
    return f" · warnings: {'; '.join(notes)}" if notes else ""


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The one reader of ``summaries.jsonl`` and ``errors.jsonl``: every parseable row, one per id
    (the last wins, in its place); a partial line from a kill is dropped. Lines end at ``\n`` only
    (a summary may hold U+2028). Two streaming passes: only an id -> line-number map is in memory."""
    last = _last_lines(path)
    for lineno, row in _rows(path):
        if last[row["id"]] == lineno:
            yield row


def _last_lines(path: Path) -> dict[str, int]:
    """id -> number of the last line holding a parseable row for it."""
    return {row["id"]: lineno for lineno, row in _rows(path, warn=True)}


def _rows(path: Path, warn: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if warn and line.strip():
                    log.warning(
                        "%s:%d: dropping an incomplete line (left by an interrupted run)", path, lineno
                    )
                continue
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                yield lineno, row


def _jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _append_durable(path: Path, lines: Iterable[str]) -> None:
    text = "".join(lines)  # one write, so a kill leaves at most one partial line
    if not text:
        return
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _write_atomic(path: Path, text: str) -> None:
    _write_atomic_lines(path, [text])


def _write_atomic_lines(path: Path, parts: Iterable[str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(parts)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
