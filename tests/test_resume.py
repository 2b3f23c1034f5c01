"""Durability: a run killed at any instant leaves valid files; the rerun completes each document once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from clsum.errors import OutputError
from clsum.eval.checks import check_output
from clsum.pipeline import write
from clsum.pipeline.write import OutputStore, markdown_parts, read_rows
from clsum.record import Record
from tests.articles import DE_BODY, NL_BODY
from tests.helpers import summarize_cmd, wait_for_rows


def _record(doc_id: str, key: str, ok: bool = True) -> Record:
    record = Record(id=doc_id, paragraphs=["text"], lang="en", summary="s", chunks=1, coverage=1.0, key=key)
    if not ok:
        record.fail("detect", "unsupported language 'fr'")
    return record


def test_prepare_cuts_a_partial_last_line_and_compact_dedupes(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("a", "k1"), _record("b", "k2")])
    with (tmp_path / "summaries.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "a", "key": "k1", "summary": "dup"}) + "\n")
        fh.write('{"id": "c", "summ')  # what kill -9 during a write leaves
    done = store.prepare({"a": "k1", "b": "other", "c": "k3"})
    assert done == {"a"}  # b's key changed: redo; c was never finished
    lines = (tmp_path / "summaries.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b", "a"]  # b stays until replaced
    store.compact()
    rows = [json.loads(line) for line in (tmp_path / "summaries.jsonl").read_text().splitlines()]
    assert [(r["id"], r["summary"]) for r in rows] == [("b", "s"), ("a", "dup")]


def test_appended_counts_only_the_rows_written_since_prepare(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("a", "k1"), _record("e", "ke", ok=False)])  # an earlier run's
    store.prepare({"a": "k1", "b": "k2", "e": "ke", "f": "kf"})
    store.append([_record("b", "k2"), _record("e", "ke", ok=False), _record("f", "kf", ok=False)])
    assert store.appended() == (1, {"detect": 2})


def test_a_compaction_that_cannot_write_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("a", "k1"), _record("a", "k1")])  # the first row is no longer current
    store.prepare({"a": "k1"})

    def full(path: Path, data: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write, "write_atomic", full)
    with pytest.raises(OutputError, match="^cannot update .*summaries.jsonl: No space left on device$"):
        store.compact()


def test_force_redoes_everything_in_the_input_and_replaces_rows_only_with_new_ones(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("a", "k1"), _record("z", "kz"), _record("e", "ke", ok=False)])
    assert store.prepare({"a": "k1", "e": "ke"}, force=True) == set()
    store.append([_record("e", "ke")])  # e succeeds now; a's redo never happened (a stop)
    store.compact()
    rows = [json.loads(line)["id"] for line in (tmp_path / "summaries.jsonl").read_text().splitlines()]
    assert rows == ["a", "z", "e"]  # a kept: nothing replaced it
    assert (tmp_path / "errors.jsonl").read_text() == ""  # e's failure is overcome


def test_a_store_with_nothing_to_change_is_not_rewritten(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("a", "k1"), _record("e", "ke", ok=False)])
    before = {name: (tmp_path / name).stat().st_ino for name in ("summaries.jsonl", "errors.jsonl")}
    assert store.prepare({"a": "k1", "e": "ke"}) == {"a"}
    store.compact()
    assert {name: (tmp_path / name).stat().st_ino for name in before} == before  # same files, not copies


def test_rows_holding_line_separators_are_read_back_whole(tmp_path: Path) -> None:
    # U+2028/U+2029/U+0085 are line breaks to str.splitlines() but not to JSON Lines: the writer keeps
    # them unescaped, so every reader must split at "\n" only (read_rows is the one reader).
    record = _record("a", "k1")
    record.summary = "first\u2028second\u2029third\x85fourth"
    OutputStore(tmp_path).append([record, _record("b", "k2")])
    rows = list(read_rows(tmp_path / "summaries.jsonl"))
    assert [(r["id"], r["summary"]) for r in rows] == [("a", record.summary), ("b", "s")]
    assert [row["id"] for row, _ in check_output(tmp_path)] == ["a", "b"]  # clsum check reads the same


def test_markdown_lists_each_summary() -> None:
    rows = [
        {
            "id": "a.txt",
            "title": "Titel",
            "title_en": "Title",
            "lang": "de",
            "lang_confidence": 0.97,
            "lang_source": "detected",
            "chunks": 2,
            "coverage": 1.0,
            "summary": "Short.",
        }
    ]
    text = "".join(markdown_parts(rows))
    assert "## Title" in text and "Short." in text and "original title: Titel" in text and "p=0.97" in text


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_part_way_then_rerun_completes_every_document_once(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    ids = [f"doc{i:02d}.txt" for i in range(30)]
    for i, name in enumerate(ids):
        body = NL_BODY if i % 2 else DE_BODY
        (src / name).write_text(f"Bericht {i}.\n\n{body}\n")
    out = tmp_path / "out"
    cmd = summarize_cmd(src, out, *tiny_overrides, "doc_batch_size=1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    summaries = out / "summaries.jsonl"
    wait_for_rows(summaries, proc, rows=3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = summaries.read_text().count("\n")
    assert 3 <= partial < len(ids)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"  # killed: it never got to say otherwise

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rows = [json.loads(line) for line in summaries.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == ids
    assert json.loads((out / "manifest.json").read_text())["counts"]["skipped"] >= partial


def test_a_newline_in_a_file_name_stays_on_its_markdown_line() -> None:
    row = {
        "id": "a\nb\u2028.txt",
        "title": "T\nx",
        "lang": "en",
        "chunks": 1,
        "coverage": 1.0,
        "summary": "S.",
    }
    text = "".join(markdown_parts([{**row, "summary": "S."}]))
    assert "## T\\nx\n\n`a\\nb\\u2028.txt` · language: en" in text


def test_a_new_snapshot_of_a_hub_model_redoes_what_the_old_one_made(
    tmp_path: Path, tiny_models: dict[str, Path], session_hf_home: Path
) -> None:
    from clsum.config import load_config
    from clsum.runner import Pipeline
    from tests.helpers import FAKE_MODELS, english_folder
    from tests.tinymodels import place_in_hf_cache

    src, out, repo = english_folder(tmp_path / "in", 3), tmp_path / "out", "test-org/identity-bart"
    place_in_hf_cache(tiny_models["summarizer"], repo, session_hf_home, commit="a" * 40)

    def run() -> int:
        config = load_config(None, ["device=cpu", f"summarization.model={repo}"])
        return Pipeline(config, FAKE_MODELS).run(src, out).skipped

    assert run() == 0
    assert run() == 3  # the same snapshot: nothing to redo
    place_in_hf_cache(tiny_models["summarizer"], repo, session_hf_home, commit="b" * 40)  # refs/main moves
    assert run() == 0
    assert {row["key"] for row in read_rows(out / "summaries.jsonl")} and run() == 3


def test_a_manifest_with_no_room_for_a_copy_is_written_over_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = OutputStore(tmp_path)
    store.write_manifest({"status": "running", "note": "x" * 100})

    def full(path: Path, data: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write, "write_atomic", full)
    store.write_manifest({"status": "failed"})  # smaller without indentation: it fits where the old one was
    assert (tmp_path / "manifest.json").read_text() == '{"status":"failed"}\n'
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(OutputError, match="^cannot write .*manifest.json: No space left on device$"):
        store.write_manifest({"status": "failed"})  # no old one to write over
