"""One run at a time per output folder: a second run fails at once, naming the run that holds it."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clsum.errors import OutputError
from clsum.pipeline.lock import HOLDER_FILE, FolderLock
from tests.helpers import (
    FAKE_MODELS,
    dutch_corpus,
    english_folder,
    fake_pipeline,
    summarize_cmd,
    wait_for_rows,
)


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_run_into_the_same_folder_fails_at_once_naming_the_first(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    dutch_corpus(tmp_path / "in", 300)  # enough that the first run is still going when the second starts
    out = tmp_path / "out"
    cmd = summarize_cmd(tmp_path / "in", out, *tiny_overrides, "doc_batch_size=1")
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_rows(out / "summaries.jsonl", first)
    started = time.monotonic()
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert first.poll() is None, "the first run must still be running for this test to mean anything"
    assert second.returncode == 2, second.stderr
    holder = json.loads((out / HOLDER_FILE).read_text())
    assert second.stderr.splitlines() == [
        f"clsum: error: output folder {out} is in use by another clsum run (pid {first.pid} on "
        f"{socket.gethostname()}, since {holder['started_at']}); wait for it to finish or write to "
        "another folder"
    ]
    assert took < 30  # before loading any model (seconds on a busy machine, not the run's minutes)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 143
    ids = [json.loads(line)["id"] for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) > 0  # each document once: the second run wrote nothing
    assert json.loads((out / "manifest.json").read_text())["counts"]["summarized"] == len(ids)
    assert not (out / HOLDER_FILE).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from pathlib import Path; from clsum.pipeline.lock import FolderLock\n"
         f"with FolderLock(Path({str(out)!r})):\n    print('held', flush=True)\n    input()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(OutputError, match=f"in use by another clsum run \\(pid {holder.pid} on "):
        fake_pipeline().run(english_folder(tmp_path / "in", 3), out)
    os.kill(holder.pid, signal.SIGKILL)  # no chance to clean up: the holder file stays behind
    holder.wait()
    assert json.loads((out / HOLDER_FILE).read_text())["pid"] == holder.pid
    with caplog.at_level(logging.INFO, logger="clsum.pipeline.lock"):
        result = fake_pipeline().run(tmp_path / "in", out)
    assert result.summarized == 3
    assert f"ended without releasing it (pid {holder.pid} on" in caplog.text
    assert not (out / HOLDER_FILE).exists()


def test_a_run_holds_the_lock_until_it_ends_even_by_an_exception(tmp_path: Path) -> None:
    from clsum.config import load_config
    from clsum.runner import Pipeline

    out = tmp_path / "out"
    seen = []

    def interrupted(records: list[object]) -> None:
        try:
            with FolderLock(out):
                seen.append("free")
        except OutputError:
            seen.append("held")
        raise KeyboardInterrupt

    src = english_folder(tmp_path / "in", 2)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(load_config(None, ["device=cpu"]), {**FAKE_MODELS, "translate": interrupted}).run(src, out)
    assert seen == ["held"]  # during the run, another holder is refused
    with FolderLock(out):  # and after it, free again (same process)
        pass
    assert fake_pipeline().run(src, out).summarized == 2


def test_a_file_lock_holds_the_file_not_the_folder_it_sits_in(tmp_path: Path) -> None:
    with FolderLock(tmp_path, "a.json"):
        refused = r"a\.json is in use by another clsum run .*another file"
        with pytest.raises(OutputError, match=refused), FolderLock(tmp_path, "a.json"):
            pass
        with FolderLock(tmp_path, "b.json"), FolderLock(tmp_path):  # beside it, others may write
            pass


def test_a_refused_run_says_when_the_holder_is_unknown_or_has_ended(tmp_path: Path) -> None:
    with FolderLock(tmp_path):
        (tmp_path / HOLDER_FILE).unlink()
        with pytest.raises(OutputError, match=r"another clsum run \(holder not recorded yet\)"):
            FolderLock(tmp_path).__enter__()
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        holder = {"pid": gone.pid, "host": socket.gethostname(), "started_at": "then"}
        (tmp_path / HOLDER_FILE).write_text(json.dumps(holder))
        with pytest.raises(OutputError, match=f"pid {gone.pid} has ended, but a process it started still"):
            FolderLock(tmp_path).__enter__()
