"""Stage 7: write results durably to the output folder, so that a killed run resumes cleanly.

``summaries.jsonl`` and ``errors.jsonl`` are append-only during a run: each document batch is
appended with one write and fsync'd, so ``kill -9`` can at worst leave one partial last line.
Opening the store repairs that: it drops unparseable lines, keeps one row per id, drops rows this
run will redo, and rewrites the files atomically (temp file + rename). ``manifest.json`` and
``summaries.md`` are always replaced atomically.

Nothing a document holds can stop a write: text that UTF-8 cannot hold (a lone surrogate) is
written as a JSON ``\\uXXXX`` escape. A run holds the folder's lock (``lock.py``) while it writes;
taking it also removes temporary files left by a killed run. Files are created with the mode the
umask gives, like any other file. A failing write (full disk, read-only folder) raises
``OutputError`` naming the file and the cause, after cutting off any part of the batch it wrote.

The ray engine's workers write each document batch as one block file instead (``write_block``,
atomic, named so that names sort in the order a local run would append the batches);
``merge_blocks`` folds them into the two files, so both engines leave the same output.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clsum.errors import OutputError
from clsum.pipeline.lock import FolderLock
from clsum.record import Record, warning_text

log = logging.getLogger(__name__)

SUMMARIES = "summaries.jsonl"
ERRORS = "errors.jsonl"
MANIFEST = "manifest.json"
MARKDOWN = "summaries.md"
# A lone surrogate (from a JSON "\\ud800" escape or a non-UTF-8 file name) cannot be encoded as
# UTF-8; "\\ud800" is also how JSON escapes it, so the files stay valid JSON and read back the same.
_UNENCODABLE = "backslashreplace"
BLOCKS = ".clsum-blocks"  # block files of a ray run not yet merged


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
        **_escape_note(record),
    }


def error_row(record: Record) -> dict[str, Any]:
    assert record.error is not None
    return {
        "id": record.id,
        "stage": record.error.stage,
        "error": record.error.message,
        "key": record.key,
        **_escape_note(record),
    }


def _escape_note(record: Record) -> dict[str, str]:
    """``id_escape`` only in the rare rows whose id ingest had to escape."""
    return {"id_escape": record.id_escape} if record.id_escape else {}


class OutputStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        _make_folder(folder)
        self._kept: dict[str, int] = {}  # rows each file held after ``prepare``

    @contextlib.contextmanager
    def locked(self) -> Iterator[OutputStore]:
        """Hold the folder for this run (``OutputError`` at once if another run holds it), and remove
        temporary files a killed run left: nobody else can be writing them now."""
        with FolderLock(self.folder):
            for name in (SUMMARIES, ERRORS, MANIFEST, MARKDOWN):
                for stale in self.folder.glob(f".{name}.*.tmp"):
                    with _output_errors(f"remove {stale}"):
                        stale.unlink(missing_ok=True)
                    log.info("removed %s, left by an interrupted run", stale)
            yield self

    def prepare(self, keys: dict[str, str], force: bool = False) -> set[str]:
        """Repair the files and return the ids whose stored summary matches ``keys`` (to skip).

        Rows for ids in ``keys`` that will be redone are removed now, so that each id ends up in
        the output exactly once; rows for other ids (earlier runs on other inputs) are kept.
        """
        self.merge_blocks()  # a killed ray run's finished blocks count as done
        done: set[str] = set()

        def kept_summaries() -> Iterator[dict[str, Any]]:
            for row in read_rows(self.folder / SUMMARIES):
                if row["id"] in keys:
                    if force or row.get("key") != keys[row["id"]]:
                        continue
                    done.add(row["id"])
                yield row

        self._rewrite(SUMMARIES, kept_summaries())
        self._rewrite(ERRORS, (row for row in read_rows(self.folder / ERRORS) if row["id"] not in keys))
        return done

    def _rewrite(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        """Replace file ``name`` with ``rows``, streamed: 100,000 summaries are never held in memory."""
        kept = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal kept
            for row in rows:
                kept += 1
                yield row

        with _output_errors(f"update {self.folder / name}"):
            _write_atomic_lines(self.folder / name, _jsonl_lines(counted()))
        self._kept[name] = kept

    def appended(self) -> tuple[int, dict[str, int]]:
        """What was appended since ``prepare``, read back from the files: the number of summaries
        and of failures per stage. Exact even when a signal stopped a run between writing a batch
        and counting it."""
        with _output_errors(f"read {self.folder}"):
            summaries = sum(1 for n, _ in _rows(self.folder / SUMMARIES) if n > self._kept.get(SUMMARIES, 0))
            failures: dict[str, int] = {}
            for n, row in _rows(self.folder / ERRORS):
                if n > self._kept.get(ERRORS, 0):
                    failures[str(row.get("stage"))] = failures.get(str(row.get("stage")), 0) + 1
        return summaries, failures

    def append(self, records: Iterable[Record]) -> None:
        records = list(records)
        with _output_errors(f"write {self.folder / SUMMARIES}"):
            _append_durable(self.folder / SUMMARIES, _jsonl_lines(summary_row(r) for r in records if r.ok))
        with _output_errors(f"write {self.folder / ERRORS}"):
            _append_durable(self.folder / ERRORS, _jsonl_lines(error_row(r) for r in records if not r.ok))

    def write_block(self, name: str, records: Iterable[Record]) -> None:
        """One batch's rows as one file, written atomically: a block file is whole or absent, and a
        retried task that writes the same ``name`` again replaces it."""
        records = list(records)
        block = {
            "summaries": [summary_row(r) for r in records if r.ok],
            "errors": [error_row(r) for r in records if not r.ok],
        }
        path = self.folder / BLOCKS / f"{name}.json"
        with _output_errors(f"write {path}"):
            path.parent.mkdir(exist_ok=True)
            _write_atomic(path, json.dumps(block, ensure_ascii=False))

    def merge_blocks(self) -> int:
        """Fold the block files into ``summaries.jsonl`` and ``errors.jsonl``; returns how many.

        Blocks are appended in name order. A document's row from a block replaces its earlier rows
        in either file, and when several blocks hold the same id (a run killed and rerun) the last
        one wins, so every id is in the output once. Both files are replaced atomically before any
        block is deleted, and blocks are deleted in name order: a merge killed at any point leaves
        blocks that merging again puts back in the same places. Streams the files; in memory is
        only an id -> last block map.
        """
        folder = self.folder / BLOCKS
        if not folder.is_dir():
            return 0
        names = sorted(folder.glob("*.json"))
        blocks = [path for path in names if _read_block(path) is not None]
        last: dict[str, int] = {}
        for index, path in enumerate(blocks):
            for part in ("summaries", "errors"):
                last.update((row["id"], index) for row in _block_rows(path, part))
        for file, part in ((SUMMARIES, "summaries"), (ERRORS, "errors")):
            rows = _merged(read_rows(self.folder / file), blocks, part, last)
            with _output_errors(f"update {self.folder / file}"):
                _write_atomic_lines(self.folder / file, _jsonl_lines(rows))
        with _output_errors(f"remove the merged blocks in {folder}"):
            for path in [*names, *folder.glob(".*.tmp")]:  # temp files: writers killed mid-write
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return len(names)

    def counts(self) -> dict[str, int]:
        with _output_errors(f"read {self.folder}"):
            return {
                "summaries": len(_last_lines(self.folder / SUMMARIES)),
                "errors": len(_last_lines(self.folder / ERRORS)),
            }

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        path = self.folder / MANIFEST
        with _output_errors(f"write {path}"):
            try:
                _write_atomic(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.is_file():
                    raise
                # A full disk has no room for a second copy; the manifest written at the start
                # has room for this one without indentation, which makes it smaller.
                _overwrite(path, json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n")

    def write_markdown(self) -> None:
        rows = read_rows(self.folder / SUMMARIES)
        with _output_errors(f"write {self.folder / MARKDOWN}"):
            _write_atomic_lines(self.folder / MARKDOWN, _markdown_parts(rows))


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"output path {folder} exists and is not a folder") from None
    except NotADirectoryError:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise OutputError(
            f"cannot create output folder {folder}: {blocker} is a file, not a folder"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _output_errors(what: str) -> Iterator[None]:
    """An OSError becomes one ``OutputError`` line naming what failed and why."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot {what}: {exc.strerror or exc}") from exc


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


def _merged(
    kept: Iterable[dict[str, Any]], blocks: list[Path], part: str, last: dict[str, int]
) -> Iterator[dict[str, Any]]:
    yield from (row for row in kept if row["id"] not in last)
    for index, path in enumerate(blocks):
        yield from (row for row in _block_rows(path, part) if last[row["id"]] == index)


def _block_rows(path: Path, part: str) -> list[dict[str, Any]]:
    block = _read_block(path)
    return [] if block is None else block[part]


def _read_block(path: Path) -> dict[str, list[dict[str, Any]]] | None:
    try:
        block: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:  # written atomically: only a damaged disk does this
        log.warning("%s: unreadable block file, dropped; its documents will be redone (%s)", path, exc)
        return None
    return block


def _jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _append_durable(path: Path, lines: Iterable[str]) -> None:
    data = "".join(lines).encode("utf-8", _UNENCODABLE)  # one write: a kill leaves at most one partial line
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        start = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            # A full disk takes part of the batch: cut it off, so the file ends with whole rows.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_atomic(path: Path, text: str) -> None:
    _write_atomic_lines(path, [text])


def _write_atomic_lines(path: Path, parts: Iterable[str]) -> None:
    tmp, fd = _new_temp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=_UNENCODABLE) as fh:
            fh.writelines(parts)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_temp(path: Path) -> tuple[Path, int]:
    """A new ``.<name>.<random>.tmp`` beside ``path``. Created with mode 0666 so that the umask
    (and a default ACL) decide, as for any file; tempfile.mkstemp would make it 0600."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def _overwrite(path: Path, text: str) -> None:
    """Rewrite ``path`` in place (not atomic: only for when there is no room for a copy)."""
    data = text.encode("utf-8", _UNENCODABLE)
    fd = os.open(path, os.O_WRONLY)
    try:
        _write_all(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)
