"""Reading hypothesis and reference files for scoring: JSONL (``id`` + ``text``, matched by id) or plain
text (one segment per line, matched by line number).

A file is JSONL when it ends in ``.jsonl`` or its first non-empty line is a JSON object (``fmt``
overrides the detection: ``--format text|jsonl``); then every line must be one. Ids are matched
against the reference file, whose order the result keeps. A UTF-8 byte order mark is dropped (it would
otherwise be part of the first segment's first word). Lines end at ``\n`` only (a ``\r\n`` ending
loses its ``\r``): a lone ``\r`` or another Unicode line separator inside a line stays part of it, as
sacrebleu reads files. Empty segments are scored as they are (0 against a non-empty text) with a
warning that counts them; a file with no non-empty segment at all is refused. Hypotheses and
references in different Unicode normalization forms (NFD against NFC) get a one-line warning: sacrebleu
compares code points, so BLEU and chrF drop while ROUGE (which normalizes) does not.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from clsum.errors import InputError
from clsum.pipeline.jsonl import text_lines

log = logging.getLogger(__name__)

_SHOWN_IDS = 5  # how many missing/extra ids an error message lists
FORMATS = ("auto", "text", "jsonl")


@dataclass(frozen=True)
class Segments:
    path: Path
    texts: list[str]
    ids: list[str] | None  # None for plain text files


def _read_text(path: Path) -> str:
    try:
        # -sig: a leading byte order mark is dropped; newline="": no universal-newline translation.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _lines(text: str) -> list[str]:
    """Lines split at ``\n`` only; a final newline does not start another (empty) line."""
    if not text:
        return []
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _is_jsonl(path: Path, text: str) -> bool:
    if path.suffix == ".jsonl":
        return True
    first = next((line for line in _lines(text) if line.strip()), "")
    return first.lstrip().startswith("{")


def _parse_jsonl(path: Path, text: str) -> Segments:
    ids: list[str] = []
    seen: set[str] = set()
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
        if str(row["id"]) in seen:
            raise InputError(f"{path}:{number}: duplicate id {row['id']!r}")
        seen.add(str(row["id"]))
        ids.append(str(row["id"]))
        texts.append(row["text"])
    return Segments(path, texts, ids)


def read_segments(path: Path, fmt: str = "auto") -> Segments:
    """A file's segments; ``fmt`` "text" or "jsonl" overrides the detection ("auto")."""
    text = _read_text(path)
    if fmt == "jsonl" or (fmt == "auto" and _is_jsonl(path, text)):
        return _parse_jsonl(path, text)
    return Segments(path, _lines(text), None)


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


def _not_nfc(texts: list[str]) -> int:
    return sum(1 for t in texts if not unicodedata.is_normalized("NFC", t))


def check_normalization(hyps: list[str], refs: list[str], hyp_path: Path) -> None:
    """One warning when hypotheses and references are in different Unicode normalization forms."""
    hyp_off, ref_off = _not_nfc(hyps), _not_nfc(refs)
    if (hyp_off == 0) == (ref_off == 0):
        return
    log.warning(
        "%s: Unicode normalization differs (segments not in NFC: %d of %d hypotheses, %d of %d references); "
        "BLEU/chrF compare code points and drop, ROUGE normalizes; normalize both to NFC",
        hyp_path, hyp_off, len(hyps), ref_off, len(refs),
    )  # fmt: skip


def load_pair(hyp_path: Path, ref_path: Path, fmt: str = "auto") -> tuple[list[str], list[str]]:
    """(hypotheses, references) aligned for scoring."""
    ref = read_segments(ref_path, fmt)
    check_blank(ref.texts, ref_path, "reference")
    hyps = align(read_segments(hyp_path, fmt), ref)
    check_blank(hyps, hyp_path, "hypothesis")
    check_normalization(hyps, ref.texts, hyp_path)
    return hyps, ref.texts
