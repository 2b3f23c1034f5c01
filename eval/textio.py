"""Reading hypothesis and reference files for scoring: JSONL (``id`` + ``text``, matched by id) or plain
text (one segment per line, matched by line number).

A file is JSONL when it ends in ``.jsonl`` or its first non-empty line is a JSON object; then every
line must be one. Ids are matched against the reference file, whose order the result keeps. A UTF-8
byte order mark is dropped (it would otherwise be part of the first segment's first word). Empty
segments are scored as they are (0 against a non-empty text) with a warning that counts them; a
file with no non-empty segment at all is refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from clsum.errors import InputError
from clsum.pipeline.jsonl import text_lines

log = logging.getLogger(__name__)

_SHOWN_IDS = 5  # how many missing/extra ids an error message lists


@dataclass(frozen=True)
class Segments:
    path: Path
    texts: list[str]
    ids: list[str] | None  # None for plain text files


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: a leading byte order mark is dropped
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _is_jsonl(path: Path, text: str) -> bool:
    if path.suffix == ".jsonl":
        return True
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


def _parse_jsonl(path: Path, text: str) -> Segments:
    ids: list[str] = []
    texts: list[str] = []
    for number, line in ((x.number, x.text or "") for x in text_lines(text)):  # "\n" only
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            raise InputError(f"{path}:{number}: expected an object with 'id' and a string 'text'")
        if str(row["id"]) in ids:
            raise InputError(f"{path}:{number}: duplicate id {row['id']!r}")
        ids.append(str(row["id"]))
        texts.append(row["text"])
    return Segments(path, texts, ids)


def read_segments(path: Path) -> Segments:
    text = _read_text(path)
    if _is_jsonl(path, text):
        return _parse_jsonl(path, text)
    # One segment per line; a final newline does not start another (empty) segment.
    lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n") if text else []
    return Segments(path, [line.rstrip("\r") for line in lines], None)


def _ids_list(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN_IDS])
    return shown + (f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")


def align(hyp: Segments, ref: Segments) -> list[str]:
    """Hypothesis texts in reference order; a mismatch is an InputError naming the ids or counts."""
    if (hyp.ids is None) != (ref.ids is None):
        jsonl, plain = (hyp, ref) if hyp.ids is not None else (ref, hyp)
        raise InputError(f"cannot match JSONL {jsonl.path} against plain-text {plain.path}; use one format")
    if hyp.ids is None or ref.ids is None:
        if len(hyp.texts) != len(ref.texts):
            raise InputError(
                f"{hyp.path} has {len(hyp.texts)} lines but {ref.path} has {len(ref.texts)}; "
                "plain-text files are matched line by line"
            )
        return hyp.texts
    by_id = dict(zip(hyp.ids, hyp.texts, strict=True))
    missing = [i for i in ref.ids if i not in by_id]
    known = set(ref.ids)
    extra = [i for i in hyp.ids if i not in known]
    problems = []
    if missing:
        problems.append(f"missing from {hyp.path}: {_ids_list(missing)}")
    if extra:
        problems.append(f"not in {ref.path}: {_ids_list(extra)}")
    if problems:
        raise InputError("ids do not match: " + "; ".join(problems))
    return [by_id[i] for i in ref.ids]


def check_blank(texts: list[str], path: Path, what: str) -> None:
    """Refuse a file whose segments are all empty; warn (with a count) about empty segments."""
    if not texts:
        raise InputError(f"{path} has no segments")
    empty = sum(1 for t in texts if not t.strip())
    if empty == len(texts):
        raise InputError(f"{path}: all {len(texts)} {what} segments are empty; nothing to score")
    if empty:
        log.warning("%s: %d of %d %s segments are empty (scored as they are)", path, empty, len(texts), what)


def load_pair(hyp_path: Path, ref_path: Path) -> tuple[list[str], list[str]]:
    """(hypotheses, references) aligned for scoring."""
    ref = read_segments(ref_path)
    check_blank(ref.texts, ref_path, "reference")
    hyps = align(read_segments(hyp_path), ref)
    check_blank(hyps, hyp_path, "hypothesis")
    return hyps, ref.texts
