"""Reading hypothesis and reference files for scoring (docs/evaluation.md, Inputs). A line ends at
``\\n`` only (``clsum.pipeline.jsonl``), as in sacrebleu: U+2028 or a lone ``\\r`` is part of it."""

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


def read_segments(path: Path, fmt: str = "auto") -> Segments:
    """A file's segments. ``fmt`` "auto": JSONL when the name ends in .jsonl or the first non-empty
    line is a JSON object (then every line must be one); "text" or "jsonl" overrides that."""
    try:
        # -sig: a byte order mark is dropped (it would be part of the first word); newline="": as is.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            texts = [line.text or "" for line in text_lines(handle.read().removesuffix("\r"))]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    first = next((text for text in texts if text.strip()), "")
    if fmt == "jsonl" or (fmt == "auto" and (path.suffix == ".jsonl" or first.lstrip().startswith("{"))):
        return _parse_jsonl(path, texts)
    return Segments(path, texts, None)


def _parse_jsonl(path: Path, texts: list[str]) -> Segments:
    by_id: dict[str, str] = {}  # in file order
    for number, text in enumerate(texts, 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            raise InputError(f"{path}:{number}: expected an object with 'id' and a string 'text'")
        if str(row["id"]) in by_id:
            raise InputError(f"{path}:{number}: duplicate id {row['id']!r}")
        by_id[str(row["id"])] = row["text"]
    return Segments(path, list(by_id.values()), list(by_id))


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
    by_id, known = dict(zip(hyp.ids, hyp.texts, strict=True)), set(ref.ids)
    missing, extra = [i for i in ref.ids if i not in by_id], [i for i in hyp.ids if i not in known]
    problems = [f"missing from {hyp.path}: {_ids_list(missing)}"] if missing else []
    problems += [f"not in {ref.path}: {_ids_list(extra)}"] if extra else []
    if problems:
        raise InputError("ids do not match: " + "; ".join(problems))
    return [by_id[i] for i in ref.ids]


def check_blank(texts: list[str], path: Path, what: str) -> None:
    """Refuse a file whose segments are all empty; warn (with a count) about empty segments, which are
    scored as they are (0 against a non-empty text)."""
    if not texts:
        raise InputError(f"{path} has no segments")
    empty = sum(1 for t in texts if not t.strip())
    if empty == len(texts):
        raise InputError(f"{path}: all {len(texts)} {what} segments are empty; nothing to score")
    if empty:
        log.warning("%s: %d of %d %s segments are empty (scored as they are)", path, empty, len(texts), what)


def load_aligned(ref_path: Path, *hyp_paths: Path, fmt: str = "auto") -> tuple[list[str], ...]:
    """(references, hypotheses of each file in reference order): the references read once."""
    ref = read_segments(ref_path, fmt)
    check_blank(ref.texts, ref_path, "reference")
    return (ref.texts, *(_hypotheses(path, ref, fmt) for path in hyp_paths))


def _hypotheses(hyp_path: Path, ref: Segments, fmt: str) -> list[str]:
    hyps = align(read_segments(hyp_path, fmt), ref)
    check_blank(hyps, hyp_path, "hypothesis")
    hyp_off, ref_off = (sum(not unicodedata.is_normalized("NFC", t) for t in x) for x in (hyps, ref.texts))
    if (hyp_off == 0) != (ref_off == 0):
        log.warning(
            "%s: Unicode normalization differs (segments not in NFC: %d of %d hypotheses, %d of %d "
            "references); BLEU/chrF compare code points and drop, ROUGE normalizes; normalize both to NFC",
            hyp_path, hyp_off, len(hyps), ref_off, len(ref.texts),
        )  # fmt: skip
    return hyps
