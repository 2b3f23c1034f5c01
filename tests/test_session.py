"""The run session both engines share: each document decoded once, copies only to retry, keys that
know the model, and a stop that does not wait for the prefetch thread."""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import clsum.pipeline.ingest
from clsum.errors import InputError
from clsum.record import Record, Removed
from tests.articles import EN_BODY
from tests.helpers import FAKE_MODELS, cpu_pipeline, english_folder


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(clsum.pipeline.ingest, name)

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(clsum.pipeline.ingest, name, counted)
    return calls


@pytest.mark.parametrize("prefetch", ["true", "false"])
def test_each_file_is_decoded_once_per_run_and_not_at_all_when_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefetch: str
) -> None:
    decodes = _counting(monkeypatch, "decode")
    source = english_folder(tmp_path / "in", 5)
    pipeline = cpu_pipeline("doc_batch_size=2", f"prefetch={prefetch}", stages=FAKE_MODELS)
    assert pipeline.run(source, tmp_path / "out").summarized == 5
    assert len(decodes) == 5  # the key pass hashes the bytes; only processing decodes
    (source / "000002.txt").write_text(f"Changed.\n\n{EN_BODY}")
    rerun = pipeline.run(source, tmp_path / "out")
    assert (rerun.skipped, rerun.summarized, len(decodes)) == (4, 1, 6)


def test_each_jsonl_text_is_repaired_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repairs = _counting(monkeypatch, "repair_text")
    file = tmp_path / "docs.jsonl"
    file.write_text("".join(json.dumps({"id": str(i), "text": f"{i}. {EN_BODY}"}) + "\n" for i in range(4)))
    pipeline = cpu_pipeline("doc_batch_size=3", stages=FAKE_MODELS)
    assert pipeline.run(file, tmp_path / "out").summarized == 4
    assert len(repairs) == 4
    assert pipeline.run(file, tmp_path / "out").skipped == 4 and len(repairs) == 4


def test_a_batch_is_not_deep_copied_and_a_retry_starts_from_each_record_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deep = []
    real = copy.deepcopy
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: deep.append(1) or real(*a, **k))

    def marking_clean(records: list[Record]) -> list[Record]:
        for record in records:  # changes every record before it crashes on one
            record.removed.append(Removed("metadata", "seen"))
            record.metadata["seen"] = "yes"
        if any("BOOM" in r.raw for r in records):
            raise RuntimeError("clean crashed")
        for record in records:
            record.paragraphs, record.lang = [record.raw], "en"
        return records

    pipeline = cpu_pipeline(stages={**FAKE_MODELS, "clean": marking_clean, "detect": lambda r: r})
    records = pipeline.summarize_texts(["one. " * 5, "two. " * 5, "three. " * 5])
    assert all(r.ok for r in records) and not deep
    records = pipeline.summarize_texts(["one. " * 5, "BOOM. " * 5, "three. " * 5])
    assert [r.ok for r in records] == [True, False, True] and not deep
    # the retry ran clean again on each record as it was before the failed batch: marked once
    assert [len(r.removed) for r in records] == [1, 1, 1]


def test_changed_model_files_at_the_same_path_redo_what_the_old_model_made(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"d_model": 16}')
    source = english_folder(tmp_path / "in", 3)
    pipeline = cpu_pipeline(f"summarization.model={model}", stages=FAKE_MODELS)
    assert pipeline.run(source, tmp_path / "out").summarized == 3
    assert pipeline.run(source, tmp_path / "out").skipped == 3  # same files: nothing to redo
    (model / "config.json").write_text('{"d_model": 32}')  # retrained in place
    rerun = pipeline.run(source, tmp_path / "out")
    assert (rerun.skipped, rerun.summarized) == (0, 3)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert str(model) in manifest["model_identity"]


def test_a_stop_does_not_wait_for_a_prefetch_thread_that_is_stuck_reading(tmp_path: Path) -> None:
    release = threading.Event()

    def slow_clean(records: list[Record]) -> list[Record]:
        if any(r.id == "000002.txt" for r in records):
            release.wait(30)  # a document that takes long to prepare (or a blocked read)
        for record in records:
            record.paragraphs, record.lang = [record.raw], "en"
        return records

    def interrupted(records: list[Record]) -> list[Record]:
        raise KeyboardInterrupt

    stages = {**FAKE_MODELS, "clean": slow_clean, "detect": lambda r: r, "summarize": interrupted}
    source = english_folder(tmp_path / "in", 4)
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            cpu_pipeline("doc_batch_size=2", "prefetch=true", stages=stages).run(source, tmp_path / "out")
        assert time.monotonic() - began < 10
    finally:
        release.set()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


# --- reruns keep what is good --------------------------------------------------------------------


def _failing_summarize(records: list[Record]) -> list[Record]:
    for record in records:
        record.fail("summarize", "No position encodings are defined for positions >= 256")
    return records


def test_a_rerun_whose_every_redo_fails_keeps_the_good_summaries(tmp_path: Path) -> None:
    source, out = english_folder(tmp_path / "in", 3), tmp_path / "out"
    cpu_pipeline(stages=FAKE_MODELS).run(source, out)
    good = (out / "summaries.jsonl").read_text()
    failed = cpu_pipeline(
        "summarization.max_length=300", stages={**FAKE_MODELS, "summarize": _failing_summarize}
    )
    result = failed.run(source, out)
    assert (result.summarized, result.failed) == (0, 3)
    assert (out / "summaries.jsonl").read_text() == good  # no redo replaced a good row
    assert len((out / "errors.jsonl").read_text().splitlines()) == 3  # and each failure is reported
    assert json.loads((out / "manifest.json").read_text())["counts"]["in_output"] == {
        "summaries": 3,
        "errors": 3,
    }
    again = cpu_pipeline(stages=FAKE_MODELS).run(source, out)  # the first config again: nothing to redo
    assert (again.skipped, again.summarized) == (3, 0)
    assert (out / "summaries.jsonl").read_text() == good and (out / "errors.jsonl").read_text() == ""


def test_a_rerun_with_nothing_to_do_rewrites_no_output_file(tmp_path: Path) -> None:
    source, out = english_folder(tmp_path / "in", 3), tmp_path / "out"
    (source / "empty.txt").write_text("")
    cpu_pipeline(stages=FAKE_MODELS).run(source, out)
    files = {name: (out / name).stat() for name in ("summaries.jsonl", "errors.jsonl")}
    result = cpu_pipeline(stages=FAKE_MODELS).run(source, out)
    assert (result.skipped, result.failed) == (3, 1)  # the empty file is tried again, and fails again
    after = {name: (out / name).stat() for name in files}
    assert after["summaries.jsonl"].st_ino == files["summaries.jsonl"].st_ino  # not replaced by a copy
    assert after["summaries.jsonl"].st_size == files["summaries.jsonl"].st_size
    assert len((out / "errors.jsonl").read_text().splitlines()) == 1


def test_ids_clsum_invents_for_bad_lines_never_collide_with_real_ids(tmp_path: Path) -> None:
    file, out = tmp_path / "docs.jsonl", tmp_path / "out"
    rows = [{"id": "a", "text": EN_BODY}, {"id": "a", "text": EN_BODY}, {"id": "a#2", "text": EN_BODY}]
    lines = [json.dumps(row) for row in rows] + [
        "not json",
        json.dumps({"id": "docs.jsonl:4", "text": EN_BODY}),
    ]
    file.write_text("\n".join(lines) + "\n")
    result = cpu_pipeline(stages=FAKE_MODELS).run(file, out)
    assert (result.summarized, result.failed) == (3, 2)
    errors = [json.loads(line)["id"] for line in (out / "errors.jsonl").read_text().splitlines()]
    summaries = [json.loads(line)["id"] for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert summaries == ["a", "a#2", "docs.jsonl:4"] and errors == ["a#2~2", "docs.jsonl:4~2"]
    rerun = cpu_pipeline(stages=FAKE_MODELS).run(file, out)
    assert (rerun.skipped, rerun.failed) == (3, 2)  # the broken lines are not forgotten
    assert len((out / "errors.jsonl").read_text().splitlines()) == 2


def test_a_named_pipe_as_input_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "p.txt"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer() -> None:  # so that a reader of the pipe is not blocked forever
        while not stop.wait(5):
            with open(fifo, "w") as fh:
                fh.write("Text.")

    threading.Thread(target=writer, daemon=True).start()
    try:
        began = time.monotonic()
        with pytest.raises(InputError, match="not a regular file"):
            cpu_pipeline(stages=FAKE_MODELS).run(fifo, tmp_path / "out")
        assert time.monotonic() - began < 5
    finally:
        stop.set()


def test_a_run_after_one_killed_by_two_quick_signals_says_it_was_interrupted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What a process ended by a second signal leaves: a "running" manifest and a stale holder file.
    source, out = english_folder(tmp_path / "in", 2), tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "running", "started_at": "2026-01-01T00:00:00"}))
    (out / ".clsum.holder").write_text(json.dumps({"pid": 999999999, "host": "h", "started_at": "x"}))
    with caplog.at_level("WARNING"):
        cpu_pipeline(stages=FAKE_MODELS).run(source, out)
    assert "(started 2026-01-01T00:00:00) was interrupted before it finished" in caplog.text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["previous_run"] == {"status": "interrupted", "started_at": "2026-01-01T00:00:00"}
    assert not (out / ".clsum.holder").exists() and (out / "summaries.md").exists()
