"""Streaming runs: memory does not grow with the input, and the prefetch thread changes nothing.

Most tests here pass fakes as the pipeline's model stages (``FAKE_MODELS``) so that they exercise the
run mechanics (reading, keys, resume store, prefetch thread, manifest) quickly; one test runs the
tiny real models with and without prefetch and compares the outputs.
"""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import asdict
from pathlib import Path

import pytest

import clsum.pipeline.decode
from clsum.config import load_config
from clsum.errors import InputError
from clsum.pipeline.clean import clean
from clsum.pipeline.ingest import ingest, open_source
from clsum.record import Record
from clsum.runner import Pipeline, Progress, StageFn, StageName
from tests.articles import DE_BODY, EN_BODY, FR_BODY, NL_BODY
from tests.helpers import FAKE_MODELS, TEXT_CHARS, cpu_pipeline, english_folder, file_rows

# --- memory -----------------------------------------------------------------------------------------


def _first_line_english(records: list[Record]) -> list[Record]:
    """Clean and detect in one: the first line is the text (keeps the memory test about the run)."""
    for record in records:
        record.paragraphs = [record.raw.split("\n", 1)[0]]
        record.lang = "en"
    return records


def _unchanged(records: list[Record]) -> list[Record]:
    return records


NO_WORK: dict[StageName, StageFn] = {
    "clean": _first_line_english,
    "detect": _unchanged,
    "segment": _unchanged,
    "translate": _unchanged,
    "summarize": FAKE_MODELS["summarize"],
}


def _peak_bytes(source: Path, output: Path) -> int:
    pipe = cpu_pipeline("doc_batch_size=16", stages=NO_WORK)
    tracemalloc.start()
    try:
        result = pipe.run(source, output)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok and result.summarized == result.total
    return peak


@pytest.mark.slow
def test_run_memory_does_not_grow_with_the_number_of_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Peak traced memory of a whole run (reading, keys, resume store, writing; the stages are a
    # fake) for n and 4n files: what grows is per-file bookkeeping (a relative path, an id -> key
    # entry, about 300 bytes), not the texts. Holding every text, as reading the folder into a
    # list did, would add at least TEXT_CHARS bytes per file.
    # Repairing mojibake is per-file work (and slow under tracemalloc): not what is measured here.
    monkeypatch.setattr(clsum.pipeline.decode, "repair_text", lambda text: (text, []))
    n = 300
    small = _peak_bytes(english_folder(tmp_path / "small", n), tmp_path / "out-small")
    large = _peak_bytes(english_folder(tmp_path / "large", 4 * n), tmp_path / "out-large")
    growth_per_file = (large - small) / (3 * n)
    assert growth_per_file < 0.25 * TEXT_CHARS, (small, large, growth_per_file)
    assert len((tmp_path / "out-large" / "summaries.jsonl").read_text().splitlines()) == 4 * n


def test_jsonl_input_is_read_line_by_line(tmp_path: Path) -> None:
    def peak(n: int) -> int:
        file = tmp_path / f"docs-{n}.jsonl"
        text = "x " * (TEXT_CHARS // 2)
        file.write_text("".join(json.dumps({"id": str(i), "text": text}) + "\n" for i in range(n)))
        tracemalloc.start()
        try:
            source = open_source(file)
            count = sum(1 for _ in source.records())
            top = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert count == len(source) == n
        return top

    n = 500
    assert (peak(4 * n) - peak(n)) / (3 * n) < 0.2 * TEXT_CHARS


def test_source_counts_before_reading_and_matches_ingest(tmp_path: Path) -> None:
    folder = english_folder(tmp_path / "in", 3)
    (folder / "empty.txt").write_bytes(b"")
    source = open_source(folder, lang="en")
    assert len(source) == 4
    assert [r.id for r in source.records(skip={"000001.txt"})] == ["000000.txt", "000002.txt", "empty.txt"]
    assert [asdict(r) for r in source.records()] == [asdict(r) for r in ingest(folder, lang="en")]


def test_jsonl_source_skips_ids_too(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": f"Text {i}."}) + "\n" for i in "abc"))
    assert [r.id for r in open_source(path).records(skip={"b"})] == ["a", "c"]


def test_jsonl_stream_keeps_encodings_line_numbers_and_separators(tmp_path: Path) -> None:
    lines = ['{"id": "a", "text": "één\u2028twee"}', "", '{"id": "a", "text": "x"}', "not json"]
    for encoding in ("utf-8", "utf-16", "cp1252"):
        file = tmp_path / f"{encoding}.jsonl"
        text = "\r\n".join(lines) + "\r\n"
        file.write_bytes(text.encode(encoding, errors="replace"))
        records = ingest(file)
        assert [r.id for r in records] == ["a", "a#3", f"{encoding}.jsonl:4"], encoding
        assert records[0].encoding == encoding
    assert ingest(tmp_path / "utf-8.jsonl")[0].raw == "één\u2028twee"


# --- prefetch thread ----------------------------------------------------------------------------------


def _mixed_folder(folder: Path) -> Path:
    folder.mkdir()
    docs = {
        "a.txt": f"Bericht.\n\n{NL_BODY}",
        "b.txt": f"Meldung.\n\n{DE_BODY}",
        "c.txt": "",  # fails in ingest
        "d.txt": FR_BODY,  # fails in detect: no translator for French
        "e.txt": f"News.\n\n{EN_BODY}",
        "f.md": f"# Titel\n\n{NL_BODY} {DE_BODY}",
        "g.txt": f"Bericht.\n\n{NL_BODY}",  # same sentences as a.txt, in another batch
    }
    for name, text in docs.items():
        (folder / name).write_text(text)
    return folder


def test_prefetch_output_is_identical_to_the_sequential_run(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    source = _mixed_folder(tmp_path / "in")
    outputs = {}
    for prefetch in ("true", "false"):
        out = tmp_path / f"out-{prefetch}"
        pipe = Pipeline(load_config(None, [*tiny_overrides, "doc_batch_size=2", f"prefetch={prefetch}"]))
        result = pipe.run(source, out)
        manifest = json.loads((out / "manifest.json").read_text())
        outputs[prefetch] = (
            file_rows(out / "summaries.jsonl", ("timings",)),
            file_rows(out / "errors.jsonl", ("timings",)),
            manifest["counts"],
            (out / "summaries.md").read_text(),
            result,
        )
    assert outputs["true"][:4] == outputs["false"][:4]
    summaries, errors, counts, _, result = outputs["true"]
    assert [r["id"] for r in summaries] == ["a.txt", "b.txt", "e.txt", "f.md", "g.txt"]
    assert [(r["id"], r["stage"]) for r in errors] == [("c.txt", "ingest"), ("d.txt", "detect")]
    assert (
        counts["summarized"] == 5 and counts["failed"] == 2 and result.failures == {"ingest": 1, "detect": 1}
    )
    raw = (tmp_path / "out-true" / "summaries.jsonl").read_text().splitlines()
    assert all(set(json.loads(line)["timings"]) >= {"clean", "segment", "summarize"} for line in raw)


def test_a_crash_in_the_prefetch_thread_is_pinned_on_its_document(
    tmp_path: Path,
) -> None:
    def crashing_clean(records: list[Record]) -> list[Record]:
        if any("BOOM" in r.raw for r in records):
            raise RuntimeError("clean crashed")
        return clean(records)

    source = english_folder(tmp_path / "in", 5)
    (source / "000003.txt").write_text(f"BOOM\n\n{EN_BODY}")
    result = cpu_pipeline("doc_batch_size=2", stages={**FAKE_MODELS, "clean": crashing_clean}).run(
        source, tmp_path / "out"
    )
    assert result.summarized == 4 and result.failures == {"clean": 1}
    assert file_rows(tmp_path / "out" / "errors.jsonl", ("timings",))[0]["id"] == "000003.txt"


def test_an_input_error_in_the_prefetch_thread_fails_the_run(
    tmp_path: Path,
) -> None:
    def failing_clean(records: list[Record]) -> list[Record]:
        if any(r.id == "000003.txt" for r in records):
            raise InputError("the disk went away")
        return records

    def summarize(records: list[Record]) -> list[Record]:
        for record in records:
            record.paragraphs, record.lang = ["p"], "en"
        return FAKE_MODELS["summarize"](records)

    stages: dict[StageName, StageFn] = {**NO_WORK, "clean": failing_clean, "summarize": summarize}
    source = english_folder(tmp_path / "in", 6)
    with pytest.raises(InputError, match="the disk went away"):
        cpu_pipeline("doc_batch_size=2", stages=stages).run(source, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "the disk went away"
    assert manifest["counts"]["summarized"] == 2  # the batch before the failing one was written


def test_ctrl_c_during_inference_writes_an_interrupted_manifest(
    tmp_path: Path,
) -> None:
    calls = []

    def summarize(records: list[Record]) -> list[Record]:
        calls.append(len(records))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return FAKE_MODELS["summarize"](records)

    source = english_folder(tmp_path / "in", 8)
    with pytest.raises(KeyboardInterrupt):
        cpu_pipeline("doc_batch_size=2", stages={**FAKE_MODELS, "summarize": summarize}).run(
            source, tmp_path / "out"
        )
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["counts"]["summarized"] == 2
    rerun = cpu_pipeline("doc_batch_size=2", stages=FAKE_MODELS).run(source, tmp_path / "out")
    assert (rerun.skipped, rerun.summarized) == (2, 6)


# --- progress and resume ------------------------------------------------------------------------------


def test_progress_total_counts_the_documents_left_to_do(
    tmp_path: Path,
) -> None:
    totals: list[int] = []
    done: list[int] = []

    class Bars(Progress):
        def start(self, enabled: bool, documents: int) -> None:
            super().start(False, documents)
            if enabled:
                totals.append(documents)

        def documents_done(self, n: int) -> None:
            done.append(n)

    source = english_folder(tmp_path / "in", 5)
    (source / "bad.txt").write_bytes(b"\x00\x01binary")
    cpu_pipeline("doc_batch_size=2", stages=FAKE_MODELS, progress=Bars()).run(
        source, tmp_path / "out", progress=True
    )
    (source / "000001.txt").write_text(f"Changed.\n\n{EN_BODY}")
    result = cpu_pipeline("doc_batch_size=2", stages=FAKE_MODELS, progress=Bars()).run(
        source, tmp_path / "out", progress=True
    )
    # Second run: the changed document and the failed one are redone, four are skipped.
    assert totals == [6, 2] and sum(done) == 8
    assert (result.total, result.skipped, result.summarized, result.failed) == (6, 4, 1, 1)
