"""Stage 7: write results durably to the output folder, so that a killed run resumes cleanly: what
happens to the files during and after a run is in docs/outputs.md ("Resume"). A failing write (a
full disk) raises ``OutputError`` naming the file and the cause, after cutting off the part of the
batch it wrote. The ray engine's workers write each batch as one block file (``write_block``), which
``merge_blocks`` folds into the two files in name order (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from clsum.errors import OutputError
from clsum.pipeline.jsonl import lines
from clsum.pipeline.lock import FolderLock
from clsum.record import OutputWarning, Record, Removed, warning_text

log = logging.getLogger(__name__)

SUMMARIES = "summaries.jsonl"
ERRORS = "errors.jsonl"
MANIFEST = "manifest.json"
MARKDOWN = "summaries.md"
# A lone surrogate (from a JSON "\\ud800" escape or a non-UTF-8 file name) cannot be encoded as
# UTF-8; "\\ud800" is also how JSON escapes it, so the files stay valid JSON and read back the same.
_UNENCODABLE = "backslashreplace"
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
BLOCKS = ".clsum-blocks"  # block files of a ray run not yet merged


@dataclass(frozen=True)
class _Row:
    id: str

    def to_json(self) -> str:
        """The row as one line of its file (without the newline); ``id_escape`` only where set."""
        row = asdict(self)
        if not row["id_escape"]:
            del row["id_escape"]
        return json.dumps(row, ensure_ascii=False)


@dataclass(frozen=True)
class SummaryRow(_Row):
    """One line of ``summaries.jsonl``, fields in the file's order (``docs/outputs.md``)."""

    title: str | None
    title_en: str | None
    lang: str | None
    lang_confidence: float | None
    lang_source: str | None
    paragraph_langs: list[str] | None  # set only for a document in several languages
    source: str
    translation: str
    summary: str | None
    chunks: int
    coverage: float | None
    metadata: dict[str, str]
    removed: list[Removed]
    encoding: str | None
    repairs: list[str]
    warnings: list[OutputWarning]
    timings: dict[str, float]
    models: dict[str, str]
    key: str | None
    id_escape: str | None  # only in the rare rows whose id ingest had to escape

    @classmethod
    def of(cls, record: Record) -> SummaryRow:
        special = {
            "paragraph_langs": record.paragraph_langs or None,
            "timings": {k: round(v, 4) for k, v in record.timings.items()},
        }
        return cls(**{f.name: special.get(f.name, getattr(record, f.name)) for f in fields(cls)})


@dataclass(frozen=True)
class ErrorRow(_Row):
    """One line of ``errors.jsonl``."""

    stage: str
    error: str
    key: str | None
    id_escape: str | None

    @classmethod
    def of(cls, record: Record) -> ErrorRow:
        assert record.error is not None
        return cls(record.id, record.error.stage, record.error.message, record.key, record.id_escape)


# file name -> (id, JSON line) of each row a batch adds to it
Rows = dict[str, list[tuple[str, str]]]


def _rows_of(records: Iterable[Record]) -> Rows:
    rows: Rows = {SUMMARIES: [], ERRORS: []}
    for r in records:
        row = SummaryRow.of(r) if r.ok else ErrorRow.of(r)
        rows[SUMMARIES if r.ok else ERRORS].append((r.id, row.to_json()))
    return rows


class OutputStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        _make_folder(folder)
        self._kept: dict[str, int] = {}  # lines each file held after ``prepare``
        self._keys: dict[str, str] = {}  # this run's key per id (``prepare``)
        self._newest: dict[str, str] = {}  # id -> the file this store last appended a row of it to

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
        Only a partial last line is cut off: a row to redo stays until its replacement exists."""
        self._keys = keys
        self.merge_blocks()  # a killed ray run's finished blocks count as done
        self._kept = self._repair()
        if force:
            return set()
        stored, _ = _latest(self.folder / SUMMARIES)
        return {doc_id for doc_id, (_, key) in stored.items() if doc_id in keys and key == keys[doc_id]}

    def compact(self) -> dict[str, int]:
        """Drop the rows that are no longer current (docs/outputs.md, "Resume"), rewriting a file only
        when it holds some; returns the rows each file keeps. An error row is overcome by a summary
        appended after it by this store, or, untouched now, by one with this run's key."""
        with _output_errors(f"read {self.folder}"):
            summaries, summary_lines = _latest(self.folder / SUMMARIES)
            errors, error_lines = _latest(self.folder / ERRORS)

            def current_error(doc_id: str) -> bool:
                if doc_id in self._newest:
                    return self._newest[doc_id] == ERRORS
                summary = summaries.get(doc_id)
                return summary is None or summary[1] is None or summary[1] != self._keys.get(doc_id)

            kept_errors = {n for doc_id, (n, _) in errors.items() if current_error(doc_id)}
            _keep(self.folder / SUMMARIES, summary_lines, {n for n, _ in summaries.values()})
            _keep(self.folder / ERRORS, error_lines, kept_errors)
        return {"summaries": len(summaries), "errors": len(kept_errors)}

    def appended(self) -> tuple[int, Counter[str]]:
        """What was appended since ``prepare``, read back from the files: the number of summaries
        and of failures per stage. Exact even when a signal stopped a run between writing a batch
        and counting it."""

        def new(name: str) -> Iterator[Any]:
            return (row for n, row, _ in _rows(self.folder / name) if row and n > self._kept.get(name, 0))

        with _output_errors(f"read {self.folder}"):
            return sum(1 for _ in new(SUMMARIES)), Counter(str(row.get("stage")) for row in new(ERRORS))

    def append(self, records: Iterable[Record]) -> None:
        self._append_rows(_rows_of(records))

    def _append_rows(self, rows: Rows) -> None:
        for name, added in rows.items():
            if added:
                with _output_errors(f"write {self.folder / name}"):
                    _append(self.folder / name, "".join(line + "\n" for _, line in added))
            self._newest.update((doc_id, name) for doc_id, _ in added)

    def write_block(self, name: str, records: Iterable[Record]) -> None:
        """One batch's rows as one file, written atomically: a block file is whole or absent, and a
        retried task that writes the same ``name`` again replaces it."""
        path = self.folder / BLOCKS / f"{name}.json"
        with _output_errors(f"write {path}"):
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, [json.dumps(_rows_of(records), ensure_ascii=False)])

    def merge_blocks(self) -> int:
        """Append the block files to ``summaries.jsonl`` and ``errors.jsonl`` in name order, then
        delete them; returns how many there were. A merge killed at any point leaves blocks that
        merging again appends once more: the last row of an id is the one that counts (``read_rows``,
        ``compact``), and the same block holds the same rows."""
        folder = self.folder / BLOCKS
        if not folder.is_dir():
            return 0
        self._repair()
        names = sorted(folder.glob("*.json"))
        for path in names:
            if (block := _read_block(path)) is not None:
                self._append_rows(block)
        with _output_errors(f"remove the merged blocks in {folder}"):
            for path in [*names, *folder.glob(".*.tmp")]:  # temp files: writers killed mid-write
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return len(names)

    def _repair(self) -> dict[str, int]:
        """Both files cut back to whole lines (a kill mid-write leaves a partial one); their lines."""
        kept = {}
        for name in (SUMMARIES, ERRORS):
            with _output_errors(f"repair {self.folder / name}"):
                kept[name] = _cut_partial_line(self.folder / name)
        return kept

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        path = self.folder / MANIFEST
        with _output_errors(f"write {path}"):
            try:
                write_atomic(path, [json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"])
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.is_file():
                    raise
                # A full disk has no room for a second copy; the manifest written at the start
                # has room for this one without indentation, which makes it smaller.
                compact = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n"
                with path.open("r+b") as fh:  # over the old one: not atomic, but no copy
                    fh.write(compact.encode("utf-8", _UNENCODABLE))
                    fh.truncate()
                    os.fsync(fh.fileno())

    def write_markdown(self) -> None:
        rows = read_rows(self.folder / SUMMARIES)
        with _output_errors(f"write {self.folder / MARKDOWN}"):
            write_atomic(self.folder / MARKDOWN, markdown_parts(rows))


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest a run left in ``folder``, if it can be read (one over 1 MiB is not clsum's)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size <= 1 << 20 else None
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


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


def markdown_parts(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """``summaries.md``, in parts; a row with degenerate outputs says so (`` · warnings: 2 of 14
    translations cut at max_length``)."""
    yield "# Summaries\n"
    for row in rows:
        title = row.get("title_en") or row.get("title") or row["id"]
        lang = f"{row['lang']}" + (
            f", p={row['lang_confidence']:.2f}" if row.get("lang_source") == "detected" else ""
        )
        original = f" (original title: {row['title']})" if row.get("title") not in (None, title) else ""
        notes = [
            warning_text(w["stage"], w["kind"], w["count"], w["outputs"]) for w in row.get("warnings") or []
        ]
        warned = f" · warnings: {'; '.join(notes)}" if notes else ""
        yield (
            f"\n## {_one_line(title)}\n\n`{_one_line(row['id'])}` · language: {lang} · "
            f"chunks: {row['chunks']} · "
            f"coverage: {row['coverage']:.0%}{original}{warned}\n\n{row['summary']}\n"
        )


def _one_line(text: str) -> str:
    """``text`` with its control characters written ``\\xNN`` (a file name may hold a newline)."""
    return _CONTROL_CHARS.sub(lambda m: ascii(m.group())[1:-1], text)


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The one reader of ``summaries.jsonl`` and ``errors.jsonl``: every parseable row, one per id
    (the last wins, in its place); a partial line from a kill is dropped. Lines end at ``\n`` only
    (``jsonl.lines``: a summary may hold U+2028). Two streaming passes: only an id -> line-number map
    is in memory."""
    last, _ = _latest(path)
    for lineno, row, _ in _rows(path):
        if row is not None and last[row["id"]][0] == lineno:
            yield row


def _latest(path: Path) -> tuple[dict[str, tuple[int, str | None]], int]:
    """id -> (number of the last line holding a row for it, that row's key); and the file's lines."""
    last: dict[str, tuple[int, str | None]] = {}
    total = 0
    for total, row, _ in _rows(path, warn=True):
        if row is not None:
            last[row["id"]] = (total, row.get("key"))
    return last, total


def _keep(path: Path, total: int, keep: set[int]) -> None:
    """Rewrite ``path`` with only its lines numbered in ``keep``, streamed, if that drops any."""
    if len(keep) < total:
        with _output_errors(f"update {path}"):
            write_atomic(path, (raw + b"\n" for n, _, raw in _rows(path) if n in keep))


def _rows(path: Path, warn: bool = False) -> Iterator[tuple[int, Any, bytes]]:
    """(line number, row, line) for each line; the row is None unless the line holds one (an object
    with a string id)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for line in lines(fh.readline):
            raw = line.text or b""
            try:
                row = json.loads(raw.decode("utf-8", "replace"))
            except json.JSONDecodeError:
                row = None
                if warn and raw.strip():
                    log.warning(
                        "%s:%d: dropping an unreadable line (left by an interrupted run)", path, line.number
                    )
            yield line.number, row if isinstance(row, dict) and isinstance(row.get("id"), str) else None, raw


def _cut_partial_line(path: Path) -> int:
    """Cut off a last line without its ``\n`` (a write a kill cut short), so that appending goes on
    from whole lines; returns the number of lines left. Creates a missing file: every run leaves
    both files, empty or not."""
    with path.open("a+b") as fh:  # created if missing, with the mode the umask gives
        fh.seek(0)
        count = end = 0
        for line in lines(fh.readline, cap=1 << 20):  # a line past the cap is read past, not held
            if line.complete:
                count, end = line.number, fh.tell()
        if end != fh.tell():
            log.warning("%s: dropping an incomplete last line (left by an interrupted run)", path)
            fh.truncate(end)
            os.fsync(fh.fileno())
    return count


def _read_block(path: Path) -> Rows | None:
    try:  # written atomically: only a damaged disk, or a killed run of another version, fails here
        block = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: [(str(doc_id), str(line)) for doc_id, line in block[name]] for name in (SUMMARIES, ERRORS)
        }
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: unreadable block file, dropped; its documents will be redone (%s)", path, exc)
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(path: Path, parts: Iterable[str] | Iterable[bytes]) -> None:
    """Written to ``.<name>.<random>.tmp`` beside ``path``, then renamed over it. ``open`` creates
    it with mode 0666, so the umask (and a default ACL) decide, as for any file (mkstemp: 0600)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.writelines(p if isinstance(p, bytes) else p.encode("utf-8", _UNENCODABLE) for p in parts)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _append(path: Path, text: str) -> None:
    """``text`` appended in one write, then fsync'd: a kill leaves at most one partial line, and a
    failure (a full disk) cuts off the part it wrote, so the file ends with whole rows."""
    with open(path, "ab", buffering=0) as fh:
        start = fh.tell()
        try:
            _write_all(fh.fileno(), text.encode("utf-8", _UNENCODABLE))
            os.fsync(fh.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                fh.truncate(start)
            raise
