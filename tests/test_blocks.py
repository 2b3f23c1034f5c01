"""Block files (the ray engine's durable unit): merged into the two output files once per id, in
name order, by any later opening of the output folder too, and idempotent when a merge is killed."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from clsum.pipeline.write import BLOCKS, ERRORS, SUMMARIES, OutputStore
from clsum.record import Record
from tests.helpers import file_rows


def _record(doc_id: str, key: str = "k", ok: bool = True, summary: str = "s") -> Record:
    record = Record(
        id=doc_id, paragraphs=["text"], lang="en", summary=summary, chunks=1, coverage=1.0, key=key
    )
    if not ok:
        record.fail("translate", "RuntimeError: boom")
    return record


def _ids(path: Path) -> list[str]:
    return [str(row["id"]) for row in file_rows(path)]


def test_blocks_are_appended_in_name_order_and_their_rows_replace_earlier_ones(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("old"), _record("a", summary="stale"), _record("b", ok=False)])
    store.write_block("2-000000001", [_record("d"), _record("a", ok=False)])
    store.write_block("1-000000002", [_record("c"), _record("b")])  # an earlier run's block sorts first
    store.write_block("2-000000000", [_record("c", summary="newer")])
    assert store.merge_blocks() == 3
    store.compact()
    assert _ids(tmp_path / SUMMARIES) == ["old", "a", "b", "c", "d"]
    assert file_rows(tmp_path / SUMMARIES)[3]["summary"] == "newer"  # the last block holding c wins
    # b's summary replaced its error; a's failed redo is reported and its good summary stays
    assert _ids(tmp_path / ERRORS) == ["a"]
    assert not (tmp_path / BLOCKS).exists()
    assert store.merge_blocks() == 0


def test_a_merge_killed_before_every_block_was_deleted_merges_again_to_the_same_files(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.append([_record("old")])
    for index in range(4):
        store.write_block(f"1-{index:09d}", [_record(f"doc{index}", ok=index != 2), _record("shared")])
    kept = tmp_path / "kept"
    shutil.copytree(tmp_path / BLOCKS, kept)
    store.merge_blocks()
    store.compact()
    expected = {name: (tmp_path / name).read_text() for name in (SUMMARIES, ERRORS)}
    # Killed after the files were replaced and the first two blocks deleted (deletion is in name order).
    shutil.copytree(kept, tmp_path / BLOCKS)
    for path in sorted((tmp_path / BLOCKS).glob("*.json"))[:2]:
        path.unlink()
    store.merge_blocks()
    store.compact()
    assert {name: (tmp_path / name).read_text() for name in (SUMMARIES, ERRORS)} == expected
    assert _ids(tmp_path / SUMMARIES) == ["old", "doc0", "doc1", "doc3", "shared"]


def test_opening_the_store_merges_the_blocks_of_a_killed_run_first(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.write_block("1-000000000", [_record("a", key="ka"), _record("b", key="old-key")])
    (tmp_path / BLOCKS / ".1-000000001.json.x.tmp").write_text('{"summ')  # a writer killed mid-write
    done = OutputStore(tmp_path).prepare({"a": "ka", "b": "kb", "c": "kc"})
    assert done == {"a"}  # b's block row has another key: redone (its row stays until replaced)
    assert _ids(tmp_path / SUMMARIES) == ["a", "b"]
    assert not (tmp_path / BLOCKS).exists()


def test_an_unreadable_block_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # whatever level an earlier CLI test left the root logger at
    store = OutputStore(tmp_path)
    store.write_block("1-000000000", [_record("a")])
    store.write_block("1-000000001", [_record("b")])
    (tmp_path / BLOCKS / "1-000000001.json").write_text('{"summaries": [')
    store.merge_blocks()
    assert _ids(tmp_path / SUMMARIES) == ["a"]
    assert "unreadable block file" in caplog.text


def test_a_block_of_another_layout_is_dropped_and_its_documents_redone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    (tmp_path / BLOCKS).mkdir()  # a ray run of an older clsum, killed before it merged its blocks
    (tmp_path / BLOCKS / "1-000000000.json").write_text('{"summaries": [{"id": "a"}], "errors": []}')
    assert OutputStore(tmp_path).prepare({"a": "k"}) == set()  # not done: redone
    assert (tmp_path / SUMMARIES).read_text() == "" and not (tmp_path / BLOCKS).exists()
    assert "unreadable block file" in caplog.text
