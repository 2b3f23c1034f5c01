"""Stage 1: a folder, a single file or a JSONL file into records (bytes become text in ``decode``).
A problem with one document becomes an error record; only one with the whole input raises ``InputError``.
"""

from __future__ import annotations

import codecs
import collections
import copy
import json
import logging
import os
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clsum.config import InputConfig
from clsum.errors import InputError
from clsum.pipeline.decode import (
    SNIFF_BYTES,
    bom_encoding,
    cp1252_text,
    decode,
    input_digest,
    looks_binary,
    repair_text,
)
from clsum.pipeline.jsonl import lines
from clsum.pipeline.limits import JSON_ESCAPE_FACTOR, read_at_most, text_too_large, too_large
from clsum.pipeline.write import MANIFEST, MARKDOWN, read_manifest
from clsum.record import Record

log = logging.getLogger(__name__)

FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html"}
JSONL_SUFFIX = ".jsonl"
MAX_BYTES = InputConfig().max_bytes


def ingest(path: str | Path, lang: str | None = None, max_bytes: int = MAX_BYTES) -> list[Record]:
    """Read ``path`` into records, one per document, all in memory (``open_source`` streams)."""
    source = open_source(path, lang, max_bytes)
    records = list(source.records())
    log.info("ingested %d documents from %s (%d failed)", len(records), path, sum(not r.ok for r in records))
    return records


@dataclass(eq=False)  # one input, compared by identity
class Source:
    """The documents under an input path: enumerated up front (names only, not texts), read one at
    a time, again on every call of ``records``, in the same sorted order."""

    root: Path
    kind: str  # "folder" | "file" | "jsonl"
    _ids: list[str] = field(repr=False)  # folder: relative POSIX paths; file: its name; jsonl: empty
    lang: str | None
    max_bytes: int = MAX_BYTES
    _encoding: str = ""  # jsonl only
    _count: int = 0
    # jsonl only: the ids its lines give, which invented ids avoid (not in repr: could be millions)
    _taken: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        # The few names whose id is not the name itself (not UTF-8): name -> (id, error or "").
        self._escaped = _escaped_ids(self._ids) if self.kind == "folder" else {}
        self._count = self._count or len(self._ids)

    def __len__(self) -> int:
        """Number of documents (for JSONL, non-blank lines: each becomes a record or an error)."""
        return self._count

    def records(self, skip: Container[str] = frozenset(), decoded: bool = True) -> Iterator[Record]:
        """Every document's record in order, but those whose id is in ``skip`` (files not even read).
        Without ``decoded`` a record holds only what its key needs: its bytes hashed, not decoded."""
        if self.kind == "jsonl":
            records: Iterator[Record] = _jsonl_records(self, decoded)
        else:
            records = (self._read(n, decoded) for n in self._ids if self._folder_id(n) not in skip)
        for record in records:
            if record.id in skip:
                continue
            if self.lang:
                record.lang_hint = self.lang
            yield record

    def parts(self, size: int, skip: Container[str] = frozenset()) -> Iterator[Source]:
        """The documents whose id is not in ``skip``, ``size`` at a time, each part a ``Source`` that
        reads only its own, as this one would (the ray engine's read tasks). Not for JSONL."""
        if self.kind == "jsonl":
            raise ValueError("a JSONL source is read in one pass, not in parts")
        names = [n for n in self._ids if self._folder_id(n) not in skip]
        for start in range(0, len(names), size):
            part = copy.copy(self)
            part._ids = names[start : start + size]
            part._escaped = {n: self._escaped[n] for n in part._ids if n in self._escaped}
            part._count = len(part._ids)
            yield part

    def _folder_id(self, name: str) -> str:
        return self._escaped[name][0] if name in self._escaped else name

    def _read(self, name: str, decoded: bool) -> Record:
        doc_id, clash = self._escaped.get(name, (name, ""))
        if clash:
            return _error_record(doc_id, clash)
        path = self.root / name if self.kind == "folder" else self.root
        record = _read_document(path, doc_id, self.max_bytes, decoded)
        record.id_escape = FILE_NAME_ESCAPE if name in self._escaped else None
        return record


FILE_NAME_ESCAPE = "file name bytes that are not UTF-8 written as \\xNN"
ID_ESCAPE = "lone surrogates (not encodable in UTF-8) written as \\uXXXX"


def _escaped_ids(names: list[str]) -> dict[str, tuple[str, str]]:
    """Ids for names that are not UTF-8 (docs/outputs.md, "Ids"): Python holds their bad bytes as lone
    surrogates, which no UTF-8 file can store. An id that is taken would merge two documents."""
    escaped = {n: os.fsencode(n).decode("utf-8", "backslashreplace") for n in names if _utf8_id(n) != n}
    taken = set(names) - escaped.keys()
    out: dict[str, tuple[str, str]] = {}
    for name, doc_id in escaped.items():
        free = _free(doc_id, taken, "#")
        taken.add(free)
        clash = f"file name is not UTF-8, and its escaped form '{doc_id}' is taken" if free != doc_id else ""
        out[name] = (free, clash)
    return out


def _utf8_id(doc_id: str) -> str:
    """``doc_id`` with what UTF-8 cannot hold (lone surrogates) written ``\\udXXX``."""
    return doc_id.encode("utf-8", "backslashreplace").decode("utf-8")


def open_source(path: str | Path, lang: str | None = None, max_bytes: int = MAX_BYTES) -> Source:
    """The documents under ``path``: a folder (its ``FORMATS`` files, hidden ones skipped), one such
    file, or a ``.jsonl`` file of ``{"id", "text", "lang"?}`` lines (ids: docs/outputs.md, "Ids").
    ``lang`` (``--lang``) overrides every language hint; a document over ``max_bytes`` (0: no limit)
    becomes an error record unread."""
    root = Path(path)
    if not root.exists():
        raise InputError(f"input path '{path}' does not exist")
    if root.is_dir():
        source = Source(root, "folder", _folder_ids(root), lang, max_bytes)
    elif not root.is_file():  # a named pipe or a device: it can be read once at most, and may block
        raise InputError(f"input path '{path}' is not a regular file or a folder (a pipe or a device?)")
    elif root.suffix.lower() == JSONL_SUFFIX:
        encoding, count, taken = _scan_jsonl(root, max_bytes)
        source = Source(root, "jsonl", [], lang, max_bytes, encoding, count, taken)
    elif root.suffix.lower() in FORMATS:
        source = Source(root, "file", [root.name], lang, max_bytes)
    else:
        expected = f"{', '.join(FORMATS)} or {JSONL_SUFFIX}"
        raise InputError(f"input file '{path}' has an unsupported suffix; expected {expected}")
    log.info("found %d documents in %s", len(source), root)
    return source


def _folder_ids(root: Path) -> list[str]:
    """Relative POSIX paths of the documents below ``root``: hidden files and folders skipped, and
    clsum's own outputs (an output folder inside the input would otherwise be read as articles)."""
    ids = []
    # The input folder itself was written into (``-o`` the same folder): only clsum's own file goes.
    own_markdown = root / MARKDOWN if _is_clsum_output(root) else None
    if own_markdown:
        log.warning("skipping %s: clsum's own output (the folder holds clsum's %s)", own_markdown, MANIFEST)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here != root and _is_clsum_output(here):
            log.warning("skipping %s: a clsum output folder (it holds clsum's %s)", here, MANIFEST)
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            file = here / name
            if name.startswith(".") or file.suffix.lower() not in FORMATS or file == own_markdown:
                continue
            if file.is_file():
                ids.append(file.relative_to(root).as_posix())
    if not ids:
        raise InputError(f"input folder '{root}' contains no supported files ({', '.join(FORMATS)})")
    return sorted(ids)


def _is_clsum_output(folder: Path) -> bool:
    """Whether ``folder`` holds a manifest that clsum wrote (status, config hash and counts)."""
    manifest = read_manifest(folder)
    return manifest is not None and {"status", "config_hash", "counts"} <= manifest.keys()


def _read_document(file: Path, doc_id: str, max_bytes: int, decoded: bool) -> Record:
    record = Record(id=doc_id, path=str(file.resolve()), fmt=FORMATS[file.suffix.lower()])
    try:
        with file.open("rb") as fh:
            data = read_at_most(fh, max_bytes)
            if data is None:
                return record.fail("ingest", too_large(os.fstat(fh.fileno()).st_size, max_bytes))
    except OSError as exc:
        return record.fail("ingest", f"cannot read file: {exc.strerror or exc}")
    record.digest = input_digest(data)
    if not decoded:
        return record
    if looks_binary(data):
        return record.fail("ingest", "file looks binary, not text")
    record.raw, record.encoding, record.repairs = decode(data)
    _check_text(record, "file")
    return record


def text_record(
    doc_id: str, text: str, lang_hint: str | None = None, max_bytes: int = MAX_BYTES, decoded: bool = True
) -> Record:
    """A document given as a string (a JSONL ``text``, the Python API): the same limit, repairs and
    checks as a file's contents (size, mojibake, line endings, control characters, empty text).
    Without ``decoded``, only what its key needs (``Source.records``)."""
    digest = input_digest(text.encode("utf-8", "surrogatepass"))
    record = Record(id=doc_id, fmt="text", lang_hint=lang_hint, digest=digest)
    if not decoded:
        return record
    if error := text_too_large(text, max_bytes):
        return record.fail("ingest", error)
    record.raw, record.repairs = repair_text(text)
    _check_text(record, "text")
    return record


def _check_text(record: Record, what: str) -> None:
    if not record.raw:
        record.fail("ingest", f"{what} is empty")
    elif not record.raw.strip():
        record.fail("ingest", f"{what} contains only whitespace")


def _scan_jsonl(file: Path, max_bytes: int) -> tuple[str, int, frozenset[str]]:
    """The file's encoding, number of non-blank lines and the ids they give, read in a stream (the
    file may be huge). The encoding is the whole file's (``_is_utf8``), lines too long to read
    included: it must not depend on ``input.max_bytes``, or a setting would change every key."""
    try:
        with file.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if looks_binary(head):
            raise InputError(f"input file '{file}' looks binary, not JSON lines")
        encoding = bom_encoding(head) or ("utf-8" if _is_utf8(file) else "cp1252")
        lines = _jsonl_lines(file, encoding, max_bytes)
        ids = [_line_id(line) for _, line in lines if line is None or line.strip()]
    except OSError as exc:
        raise InputError(f"cannot read input file '{file}': {exc.strerror or exc}") from exc
    if not ids:
        raise InputError(f"input file '{file}' contains no JSON lines")
    return encoding, len(ids), frozenset(doc_id for doc_id in ids if doc_id is not None)


def _line_id(line: str | None) -> str | None:
    """The id a line gives its record (escaped as ``_jsonl_record`` escapes it), if any."""
    try:
        obj = json.loads(line or "")
    except json.JSONDecodeError:
        return None
    doc_id = obj.get("id") if isinstance(obj, dict) else None
    return _utf8_id(doc_id) if isinstance(doc_id, str) else None


def _free(base: str, taken: Container[str], sep: str = "~") -> str:
    """``base``, or the first of ``base~2``, ``base~3``... (with ``sep``) that is not ``taken``: a
    made-up id (``file:line``, ``id#line``) that no other document of the input has."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{sep}{n}"
    return candidate


def _is_utf8(file: Path) -> bool:
    with file.open("rb") as fh:
        try:
            collections.deque(codecs.iterdecode(iter(lambda: fh.read(1 << 20), b""), "utf-8"), maxlen=0)
        except UnicodeDecodeError:
            return False
    return True


def _jsonl_lines(file: Path, encoding: str, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per line (``jsonl.lines``). The text is None for a line too long to hold
    a text of ``max_bytes`` (``JSON_ESCAPE_FACTOR`` times as long), which is never held in memory."""
    cap = max_bytes * JSON_ESCAPE_FACTOR
    if encoding == "utf-16":
        with file.open(encoding="utf-16", errors="replace", newline="\n") as text:
            yield from ((line.number, line.text) for line in lines(text.readline, cap))
        return
    with file.open("rb") as fh:
        for line in lines(fh.readline, cap):
            raw = line.text
            if raw is None:
                yield line.number, None
                continue
            # utf-8-sig drops line 1's byte order mark (and any other line's, which only breaks JSON)
            yield line.number, cp1252_text(raw) if encoding == "cp1252" else raw.decode(encoding, "replace")


def _jsonl_records(source: Source, decoded: bool = True) -> Iterator[Record]:
    # Repairs are made per text after parsing: a JSON escape can hide mojibake too.
    file, max_bytes = source.root, source.max_bytes
    first_line: dict[str, int] = {}
    try:
        for lineno, line in _jsonl_lines(file, source._encoding, max_bytes):
            if line is None:
                yield _error_record(
                    _free(f"{file.name}:{lineno}", source._taken),
                    f"too large: line {lineno} is longer than {max_bytes * JSON_ESCAPE_FACTOR} bytes, more "
                    f"than a text of limit {max_bytes} bytes can take even with JSON escapes; raise "
                    "input.max_bytes to allow",
                )
            elif line.strip():
                yield _jsonl_record(source, lineno, line, first_line, decoded)
    except OSError as exc:
        raise InputError(f"cannot read input file '{file}': {exc.strerror or exc}") from exc


def _jsonl_record(source: Source, lineno: int, line: str, first: dict[str, int], decoded: bool) -> Record:
    taken, max_bytes = source._taken, source.max_bytes
    where = _free(f"{source.root.name}:{lineno}", taken)
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error_record(where, f"line {lineno} is not valid JSON ({exc.msg})")
    if not isinstance(obj, dict):
        return _error_record(where, f"line {lineno} is not a JSON object")
    doc_id, text, lang = obj.get("id"), obj.get("text"), obj.get("lang")
    if not isinstance(doc_id, str) or not doc_id.strip():
        return _error_record(where, f"line {lineno} has no string 'id'")
    if not isinstance(text, str):
        return _error_record(where, f"line {lineno} has no string 'text'")
    escape = None if _utf8_id(doc_id) == doc_id else ID_ESCAPE
    doc_id = _utf8_id(doc_id)
    if doc_id in first:
        return _error_record(
            _free(f"{doc_id}#{lineno}", taken),
            f"duplicate id {doc_id!r} (first used on line {first[doc_id]})",
        )
    first[doc_id] = lineno
    if lang is not None and not isinstance(lang, str):
        record = _error_record(doc_id, f"line {lineno} has a 'lang' that is not a string")
    else:
        record = text_record(doc_id, text, lang or None, max_bytes, decoded)
    record.encoding, record.id_escape = source._encoding, escape
    return record


def _error_record(doc_id: str, message: str) -> Record:
    return Record(id=doc_id).fail("ingest", message)
