"""Benchmark datasets: the table of every dataset a benchmark may name (``DATASETS``), and their readers.
Readers note a content hash of every file they read (docs/evaluation.md: where data is read from).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clsum.config import unknown
from clsum.errors import ConfigError, InputError

ENV_VAR = "CLSUM_DATA"
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
    """``$CLSUM_DATA`` (which must then exist: no silent fallback), else the first default found."""
    if os.environ.get(ENV_VAR):
        given = Path(os.environ[ENV_VAR])
        if not given.is_dir():
            raise InputError(f"{ENV_VAR}={given} is not a folder; point it at the benchmark data or unset it")
        return given.resolve()
    default = Path.cwd().parent / "shared" / "data"
    if default.is_dir():
        return default.resolve()
    raise InputError(f"no benchmark data: set {ENV_VAR} to the data folder (not found at {default})")


def _read_lines(rel: str, files: dict[str, str]) -> list[str]:
    """The lines of ``rel`` under the data root (split at "\\n" only: a lone \\r stays in its line), its
    hash noted."""
    path = (root := data_root()) / rel
    if not path.is_file():
        raise InputError(f"benchmark file {path} is missing (data root: {root})")
    data = path.read_bytes()
    files[rel] = hashlib.sha256(data).hexdigest()[:16]
    return [line.removesuffix("\r") for line in data.decode("utf-8").rstrip("\n").split("\n")]


def _columns(name: str, *rels: str) -> tuple[list[list[str]], dict[str, str]]:
    """The lines of each file (line-aligned, or an InputError) and the hash of each."""
    files: dict[str, str] = {}
    columns = [_read_lines(rel, files) for rel in rels]
    if len({len(c) for c in columns}) != 1:
        counts = ", ".join(str(len(c)) for c in columns)
        raise InputError(f"{name}: files are not line-aligned ({counts} lines)")
    return columns, files


def _sentences(name: str, lang: str, prefix: str, src: str, ref: str) -> Dataset:
    """One segment per line of two aligned files (ids ``{prefix}-1``, ...)."""
    (sources, refs), files = _columns(name, src, ref)
    pairs = enumerate(zip(sources, refs, strict=True), start=1)
    segments = [Segment(f"{prefix}-{i}", s, r) for i, (s, r) in pairs]
    return Dataset(f"{name}-{lang}-en", lang, segments, files)


def load_flores(lang: str) -> Dataset:
    """FLORES-200 devtest, ``lang`` -> English, 1012 sentences."""
    folder = "flores200-devtest"
    src, ref = f"{folder}/{FLORES_CODES[lang]}.devtest", f"{folder}/eng_Latn.devtest"
    return _sentences(folder, lang, "flores", src, ref)


def load_wmt19(lang: str) -> Dataset:
    folder = "wmt-newstest2019-de-en"
    src, ref = f"{folder}/newstest2019.deu", f"{folder}/newstest2019.eng"
    return _sentences("newstest2019", lang, "wmt19", src, ref)


def load_ntrex_documents(lang: str) -> Dataset:
    """NTREX-128 documents: lines grouped by ``DOCUMENT_IDS.tsv``, joined by newlines, so a document can
    be split back into its sentences, or fed to the pipeline as one article."""
    rels = ("DOCUMENT_IDS.tsv", f"newstest2019-ref.{NTREX_CODES[lang]}.txt", "newstest2019-src.eng.txt")
    (ids, src, ref), files = _columns("ntrex128", *(f"ntrex128/{r}" for r in rels))
    docs: dict[str, tuple[list[str], list[str]]] = {}
    for doc_id, s, r in zip(ids, src, ref, strict=True):
        lines = docs.setdefault(doc_id.strip(), ([], []))
        lines[0].append(s)
        lines[1].append(r)
    segments = [Segment(doc_id, "\n".join(s), "\n".join(r)) for doc_id, (s, r) in docs.items()]
    return Dataset(f"ntrex128-{lang}-en", lang, segments, files)


def load_cnndm_frank250() -> Dataset:
    """250 CNN/DM test articles: reference highlights and the published BART-large-cnn outputs."""
    files: dict[str, str] = {}
    lines = _read_lines("cnndm-frank250/cnndm_frank250.jsonl", files)
    rows = [json.loads(line) for line in lines]
    segments = [Segment(r["id"], r["article"], r["reference"], {"bart": r["bart"]}) for r in rows]
    return Dataset("cnndm-frank250", "en", segments, files)


@dataclass(frozen=True)
class HubSet:
    """Where a dataset lives on the Hugging Face hub."""

    repo: str
    config: str  # formatted with lang and code (the FLORES code of lang)
    source: str  # source text field (formatted the same way)
    reference: str
    id: str  # the field of a row's id


def load_from_hub(name: str, hub: HubSet, lang: str, split: str) -> Dataset:
    """The rows of ``split`` of ``hub`` for ``lang``, through the optional ``datasets`` package."""
    fields = {"lang": lang, "code": FLORES_CODES.get(lang, lang)}
    config = hub.config.format(**fields)
    hint = f"dataset {name} with source: datasets needs the optional 'datasets' package and internet access"
    try:
        import datasets  # optional: only users who are online have it
    except ImportError as exc:
        raise InputError(f"{hint}: pip install 'clsum[online]' (the package is not installed)") from exc
    try:
        rows = datasets.load_dataset(hub.repo, config, split=split)
    except Exception as exc:  # network, hub or script errors all mean the same to the user
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{hint} (loading {hub.repo} {config} failed: {first})") from exc
    source, reference = hub.source.format(**fields), hub.reference.format(**fields)
    segments = [Segment(str(row.get(hub.id, i)), row[source], row[reference]) for i, row in enumerate(rows)]
    files = {f"hf:{hub.repo}/{config}/{split}": str(getattr(rows, "_fingerprint", "unknown"))}
    return Dataset(name if lang == "en" else f"{name}-{lang}-en", lang, segments, files)


@dataclass(frozen=True)
class DatasetSpec:
    """One named dataset: its source languages and where it can be read from."""

    langs: tuple[str, ...] | None  # None: whatever the hub has
    local: Callable[[str], Dataset] | None = None  # reads the data root for a language; None: online only
    hub: HubSet | None = None  # None: the data root only


DATASETS: dict[str, DatasetSpec] = {
    "flores": DatasetSpec(
        tuple(FLORES_CODES),
        local=load_flores,
        hub=HubSet("facebook/flores", "{code}-eng_Latn", "sentence_{code}", "sentence_eng_Latn", "id"),
    ),
    "ntrex": DatasetSpec(tuple(NTREX_CODES), local=load_ntrex_documents),
    "wmt19": DatasetSpec(("de",), local=load_wmt19),
    "cnndm-frank250": DatasetSpec(("en",), local=lambda lang: load_cnndm_frank250()),  # one language
    # The full CNN/DM test set (11,490 articles): the published tables' own data.
    "cnndm": DatasetSpec(("en",), hub=HubSet("abisee/cnn_dailymail", "3.0.0", "article", "highlights", "id")),
    "wikilingua": DatasetSpec(None, hub=HubSet("GEM/wiki_lingua", "{lang}_en", "source", "target", "gem_id")),
}


def language(name: str, lang: str | None) -> str:
    """The source language of dataset ``name``: ``lang`` checked, or a one-language dataset's own."""
    if name not in DATASETS:
        raise ConfigError(unknown("dataset", name, DATASETS))
    langs = DATASETS[name].langs
    if lang is None:
        if langs is None or len(langs) != 1:
            shown = ", ".join(langs) if langs else "any language the hub has, e.g. de"
            raise ConfigError(f"dataset {name} needs a source language (dataset.lang: {shown})")
        return langs[0]
    if langs is not None and lang not in langs:
        raise ConfigError(f"dataset {name}: {unknown('language', lang, langs)}")
    return lang


def load(name: str, lang: str | None, source: str = "local", split: str = "test") -> Dataset:
    """Dataset ``name`` with source language ``lang``, read from ``source`` (``split``: hub only)."""
    lang = language(name, lang)
    spec = DATASETS[name]
    if source == "datasets":
        if spec.hub is None:
            online = ", ".join(sorted(n for n, s in DATASETS.items() if s.hub is not None))
            raise ConfigError(f"dataset {name} is read from the data root only (online: {online})")
        return load_from_hub(name, spec.hub, lang, split)
    if spec.local is None:
        raise ConfigError(f"dataset {name} has no local copy; set dataset.source: datasets")
    return spec.local(lang)
