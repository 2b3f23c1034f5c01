"""Benchmark data from a local data root (read-only, never copied into the repo).

The root is ``$CLSUM_DATA`` when set, else ``../shared/data`` (relative to the working directory,
then to the repository) when it exists. Each loader returns plain dataclasses and a content hash of
the files it read, so reports can say exactly which data produced a number.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from clsum.errors import InputError

ENV_VAR = "CLSUM_DATA"
_REPO = Path(__file__).resolve().parents[1]
FLORES_CODES = {"de": "deu_Latn", "nl": "nld_Latn", "en": "eng_Latn"}
NTREX_CODES = {"de": "deu", "nl": "nld"}


@dataclass
class Segment:
    """One aligned unit: a sentence (FLORES, WMT) or a whole document (NTREX, CNN/DM)."""

    id: str
    source: str
    reference: str
    extra: dict[str, str] = field(default_factory=dict)  # e.g. CNN/DM "bart": published output


@dataclass
class Dataset:
    name: str
    source_lang: str
    segments: list[Segment]
    files: dict[str, str]  # relative path -> sha256 prefix


def data_root() -> Path:
    candidates = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    candidates += [Path.cwd().parent / "shared" / "data", _REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise InputError(f"no benchmark data found (tried {tried}); set {ENV_VAR} to the data folder")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _read_lines(root: Path, rel: str, files: dict[str, str]) -> list[str]:
    path = root / rel
    if not path.is_file():
        raise InputError(f"benchmark file {path} is missing (data root: {root})")
    files[rel] = file_hash(path)
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def _check_aligned(name: str, *columns: list[str]) -> None:
    if len({len(c) for c in columns}) != 1:
        counts = ", ".join(str(len(c)) for c in columns)
        raise InputError(f"{name}: files are not line-aligned ({counts} lines)")


def load_flores(lang: str, root: Path | None = None) -> Dataset:
    """FLORES-200 devtest, ``lang`` -> English, 1012 sentences."""
    root, files = root or data_root(), dict[str, str]()
    src = _read_lines(root, f"flores200-devtest/{FLORES_CODES[lang]}.devtest", files)
    ref = _read_lines(root, "flores200-devtest/eng_Latn.devtest", files)
    _check_aligned("flores200-devtest", src, ref)
    segments = [Segment(f"flores-{i + 1}", s, r) for i, (s, r) in enumerate(zip(src, ref, strict=True))]
    return Dataset(f"flores200-devtest-{lang}-en", lang, segments, files)


def load_wmt19_de_en(root: Path | None = None) -> Dataset:
    root, files = root or data_root(), dict[str, str]()
    src = _read_lines(root, "wmt-newstest2019-de-en/newstest2019.deu", files)
    ref = _read_lines(root, "wmt-newstest2019-de-en/newstest2019.eng", files)
    _check_aligned("newstest2019", src, ref)
    segments = [Segment(f"wmt19-{i + 1}", s, r) for i, (s, r) in enumerate(zip(src, ref, strict=True))]
    return Dataset("newstest2019-de-en", "de", segments, files)


def load_ntrex_documents(lang: str, root: Path | None = None) -> Dataset:
    """NTREX-128 documents: lines grouped by ``DOCUMENT_IDS.tsv``, one sentence per line.

    ``source`` and ``reference`` hold the document's lines joined by newlines, so a document can
    be split back into its sentences, or fed to the pipeline as one article.
    """
    root, files = root or data_root(), dict[str, str]()
    ids = _read_lines(root, "ntrex128/DOCUMENT_IDS.tsv", files)
    src = _read_lines(root, f"ntrex128/newstest2019-ref.{NTREX_CODES[lang]}.txt", files)
    ref = _read_lines(root, "ntrex128/newstest2019-src.eng.txt", files)
    _check_aligned("ntrex128", ids, src, ref)
    docs: dict[str, tuple[list[str], list[str]]] = {}
    for doc_id, s, r in zip(ids, src, ref, strict=True):
        lines = docs.setdefault(doc_id.strip(), ([], []))
        lines[0].append(s)
        lines[1].append(r)
    segments = [Segment(doc_id, "\n".join(s), "\n".join(r)) for doc_id, (s, r) in docs.items()]
    return Dataset(f"ntrex128-{lang}-en", lang, segments, files)


def load_cnndm_frank250(root: Path | None = None) -> Dataset:
    """250 CNN/DM test articles: reference highlights and the published BART-large-cnn outputs."""
    root, files = root or data_root(), dict[str, str]()
    rows = [json.loads(line) for line in _read_lines(root, "cnndm-frank250/cnndm_frank250.jsonl", files)]
    segments = [Segment(r["id"], r["article"], r["reference"], {"bart": r["bart"]}) for r in rows]
    return Dataset("cnndm-frank250", "en", segments, files)
