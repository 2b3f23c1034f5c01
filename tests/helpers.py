"""Helpers the test files share: fake model stages, input folders, CLI arguments, waiting on a run,
and the mark for tests that need the benchmark data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clsum.config import load_config
from clsum.record import Record
from clsum.runner import Pipeline, StageFn, StageName
from tests.articles import EN_BODY, NL_BODY

# -- the benchmark data -----------------------------------------------------------------------------

# Tests that read the benchmark data (``CLSUM_DATA``, else ../shared/data) carry this mark. Without
# the data they skip on a developer's machine and FAIL in CI (``CI`` set), where a skip would hide
# that they never ran (conftest.py).
needs_data = pytest.mark.needs_data


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def data_missing() -> str | None:
    """Why the benchmark data cannot be read here, or None when it can."""
    from clsum.errors import ClsumError
    from clsum.eval.data import data_root

    try:
        data_root()
    except ClsumError as exc:
        return str(exc)
    return None


def require_data() -> None:
    """Skip (fail in CI) the calling test or fixture when the benchmark data is missing."""
    missing = data_missing()
    if missing is None:
        return
    if in_ci():
        pytest.fail(f"benchmark data missing in CI: {missing}", pytrace=False)
    pytest.skip(f"benchmark data missing: {missing}")


# -- pipelines without models -----------------------------------------------------------------------


def _fake_translate(records: list[Record], *args: Any, **kwargs: Any) -> list[Record]:
    for record in records:
        if record.ok:
            record.translated = record.sentences
    return records


def _fake_summarize(records: list[Record], *args: Any, **kwargs: Any) -> list[Record]:
    for record in records:
        if record.ok:
            record.summary, record.chunks, record.coverage = record.paragraphs[0][:40], 1, 1.0
    return records


# No models: translation copies the sentences, the summary is the first 40 characters.
FAKE_MODELS: dict[StageName, StageFn] = {"translate": _fake_translate, "summarize": _fake_summarize}


def cpu_pipeline(*overrides: str, stages: dict[StageName, StageFn] | None = None, **kwargs: Any) -> Pipeline:
    """A pipeline on the CPU with the default config and ``overrides`` (``KEY=VALUE``)."""
    return Pipeline(load_config(None, ["device=cpu", *overrides]), stages, **kwargs)


def fake_pipeline() -> Pipeline:
    """A CPU pipeline with FAKE_MODELS, 4 documents per batch."""
    return cpu_pipeline("doc_batch_size=4", stages=FAKE_MODELS)


# -- outputs ----------------------------------------------------------------------------------------


def file_rows(path: Path, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every line of a JSONL output as written (no deduplication: a repeated row must show), each
    without the keys in ``drop`` (``timings`` differ between runs)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in row.items() if k not in drop} for row in rows]


# -- benchmark files --------------------------------------------------------------------------------


def minimal_benchmark() -> dict[str, Any]:
    """The smallest valid benchmark file's content."""
    return {
        "name": "tiny",
        "dataset": {"name": "flores", "lang": "de"},
        "task": "translate",
        "metrics": ["chrf"],
        "systems": [{"name": "id", "type": "identity"}],
    }


# -- inputs -----------------------------------------------------------------------------------------

TEXT_CHARS = 3000  # per document of english_folder


def english_folder(folder: Path, n: int) -> Path:
    """``n`` distinct English documents of about TEXT_CHARS characters each (no translator needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = (EN_BODY + "\n\n") * (TEXT_CHARS // (len(EN_BODY) + 2))
    for i in range(n):
        (folder / f"{i:06d}.txt").write_text(f"Report number {i}.\n\n{body}")
    return folder


def dutch_corpus(folder: Path, n: int) -> list[str]:
    """``n`` short Dutch documents ``docNN.txt``; returns their ids."""
    folder.mkdir(parents=True)
    ids = [f"doc{i:02d}.txt" for i in range(n)]
    for i, name in enumerate(ids):
        (folder / name).write_text(f"Bericht {i}.\n\n{NL_BODY}\n")
    return ids


def write_inputs(folder: Path, files: dict[str, str]) -> Path:
    """A folder holding ``files`` (name -> UTF-8 text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# -- the CLI ----------------------------------------------------------------------------------------


def set_args(*settings: str) -> list[str]:
    """``--set`` options for ``KEY=VALUE`` settings."""
    return [arg for setting in settings for arg in ("--set", setting)]


def summarize_cmd(src: Path, out: Path, *settings: str) -> list[str]:
    """``clsum summarize`` in a subprocess, quiet, with ``settings``."""
    return [sys.executable, "-m", "clsum", "summarize", str(src), "-o", str(out), "-q", *set_args(*settings)]


def wait_for(proc: subprocess.Popen[Any], ready: Callable[[], bool], timeout: float = 240) -> None:
    """Return once ``ready()`` holds while ``proc`` is still running; fail the test if it ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            return
        time.sleep(0.005)
    if proc.poll() is None:
        proc.kill()
        pytest.fail(f"the run was not far enough along after {timeout} s")
    pytest.fail(f"the run ended before it was far enough along: {proc.communicate()!r}")


def wait_for_rows(path: Path, proc: subprocess.Popen[Any], rows: int = 1) -> None:
    """Return once ``path`` holds ``rows`` lines while ``proc`` is still running."""
    wait_for(proc, lambda: path.exists() and path.read_bytes().count(b"\n") >= rows)
