"""Every fault is one line, the manifest tells the truth, and what was written stays intact.

Output faults (a folder that cannot be created or written, a full disk), SIGTERM, files left by a
killed run, file modes, model directories that are not models, and settings that cannot work.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import clsum.pipeline.write
from clsum.cli import main
from clsum.errors import ConfigError, ModelError, WriteError
from clsum.pipeline.runtime import Seq2Seq
from tests.helpers import dutch_corpus, english_folder, fake_pipeline, summarize_cmd, wait_for_rows


def _error_lines(output: str) -> list[str]:
    assert "Traceback" not in output, output
    return [line for line in output.splitlines() if "error" in line.lower()]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), "a partial row was left at the end"
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


# --- the output folder --------------------------------------------------------------------------


def test_an_output_path_whose_parent_is_a_file_is_one_line_exit_2(tmp_path: Path) -> None:
    english_folder(tmp_path / "in", 1)
    (tmp_path / "afile").write_text("not a folder\n")
    out = tmp_path / "afile" / "out"
    result = CliRunner().invoke(main, ["summarize", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        f"clsum: error: cannot create output folder {out}: {tmp_path / 'afile'} is a file, not a folder"
    ]


# Root ignores file modes: a read-only mount (in a private mount namespace) makes a folder that
# root cannot write either. The same namespace gives the full-disk test a small tmpfs.
UNSHARE = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


def _in_tmpfs(
    mount: Path, options: str, script: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the shell ``script`` with a tmpfs on ``mount`` that only it sees (gone when it exits)."""
    mounted = f"mount -t tmpfs -o {shlex.quote(options)} tmpfs {shlex.quote(str(mount))} && {script}"
    return subprocess.run([*UNSHARE, "sh", "-c", mounted], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tmpfs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips unless this machine lets a test mount a tmpfs in a private mount namespace."""
    probe = tmp_path_factory.mktemp("probe")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a private tmpfs")
    result = _in_tmpfs(probe, "size=64k", "true", timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here: {result.stderr.strip()}")


@pytest.mark.integration
def test_an_unwritable_output_folder_is_one_line_exit_2(tmp_path: Path, tmpfs: None) -> None:
    english_folder(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "clsum", "summarize", str(tmp_path / "in"), "-o", str(out)]
    result = _in_tmpfs(out, "ro,size=64k", shlex.join(cmd))
    assert result.returncode == 2, result.stderr
    assert _error_lines(result.stderr) == [
        f"clsum: error: cannot write to output folder {out}: Read-only file system"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into folders whatever their mode")
def test_a_folder_without_write_permission_is_one_line_exit_2(tmp_path: Path) -> None:
    english_folder(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    result = CliRunner().invoke(main, ["summarize", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        f"clsum: error: cannot write to output folder {out}: Permission denied"
    ]


def _disk_full_after(monkeypatch: pytest.MonkeyPatch, appends: int) -> None:
    """summaries.jsonl takes ``appends`` batches, then half of the next one before the disk is full."""
    real = clsum.pipeline.write._write_all
    calls = {"summaries": 0}

    def write_all(fd: int, data: bytes) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("summaries.jsonl"):
            calls["summaries"] += 1
            if calls["summaries"] > appends:
                os.write(fd, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(clsum.pipeline.write, "_write_all", write_all)


def test_a_full_disk_stops_the_run_keeps_whole_batches_and_says_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = english_folder(tmp_path / "in", 10)
    out = tmp_path / "out"
    _disk_full_after(monkeypatch, appends=2)
    with pytest.raises(WriteError) as err:
        fake_pipeline().run(src, out)  # 4 documents per batch
    assert str(err.value) == (
        f"cannot write {out / 'summaries.jsonl'}: No space left on device; the run stopped after 8 of "
        "10 documents (their results are intact); fix the cause and rerun the same command to resume"
    )
    assert [r["id"] for r in _jsonl(out / "summaries.jsonl")] == [f"{i:06d}.txt" for i in range(8)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == f"cannot write {out / 'summaries.jsonl'}: No space left on device"
    assert manifest["counts"]["in_output"] == {"summaries": 8, "errors": 0}
    monkeypatch.undo()
    again = fake_pipeline().run(src, out)
    assert (again.skipped, again.summarized) == (8, 2)


def test_a_full_disk_during_the_cli_run_is_one_line_exit_4(
    tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = dutch_corpus(tmp_path / "in", 5)
    out = tmp_path / "out"
    _disk_full_after(monkeypatch, appends=1)
    args = summarize_cmd(tmp_path / "in", out, *tiny_overrides, "doc_batch_size=2")[3:]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4, result.output
    assert _error_lines(result.output) == [
        f"clsum: error: cannot write {out / 'summaries.jsonl'}: No space left on device; the run "
        "stopped after 2 of 5 documents (their results are intact); fix the cause and rerun the same "
        "command to resume"
    ]
    assert [r["id"] for r in _jsonl(out / "summaries.jsonl")] == ids[:2]


@pytest.mark.slow
@pytest.mark.integration
def test_a_full_tmpfs_is_one_line_exit_4_and_the_rows_are_whole(
    tmp_path: Path, tiny_overrides: list[str], tmpfs: None
) -> None:
    dutch_corpus(tmp_path / "in", 120)
    out = tmp_path / "out"
    out.mkdir()
    cmd = summarize_cmd(tmp_path / "in", out, *tiny_overrides, "doc_batch_size=4", "prefetch=false")
    # The tmpfs goes with its process: what the run left is read inside it, right after the run.
    report = (
        "import json, sys; from pathlib import Path; out = Path(sys.argv[1]); "
        "data = (out / 'summaries.jsonl').read_bytes(); "
        "rows = [json.loads(x) for x in data.decode().split('\\n') if x]; "
        "m = json.loads((out / 'manifest.json').read_text()); "
        "print(json.dumps([data.endswith(b'\\n'), len(rows), len({r['id'] for r in rows}), m['status'], "
        "m['counts']['in_output']['summaries']]))"
    )
    stderr, code = tmp_path / "stderr", tmp_path / "code"
    then = shlex.join([sys.executable, "-c", report, str(out)])
    script = f"{shlex.join(cmd)} 2>{stderr}; echo $? >{code}; {then}"
    result = _in_tmpfs(out, "size=48k", script)
    assert result.returncode == 0, result.stderr
    assert code.read_text().strip() == "4", stderr.read_text()
    (line,) = _error_lines(stderr.read_text())
    assert line.startswith(f"clsum: error: cannot write {out}/") and "No space left on device" in line
    whole, rows, unique, status, recorded = json.loads(result.stdout)
    assert whole and rows == unique == recorded > 0
    assert status == "failed"


# --- signals and leftovers ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_sigterm_stops_like_ctrl_c_exit_143_and_the_manifest_says_interrupted(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    ids = dutch_corpus(tmp_path / "in", 24)
    out = tmp_path / "out"
    cmd = summarize_cmd(tmp_path / "in", out, *tiny_overrides, "doc_batch_size=1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_rows(out / "summaries.jsonl", proc, rows=3)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert stderr.splitlines()[-1] == "clsum: terminated (SIGTERM); rerun the same command to resume"
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["reason"]) == ("interrupted", "SIGTERM")
    assert manifest["counts"]["summarized"] == len(_jsonl(out / "summaries.jsonl")) >= 3
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(r["id"] for r in _jsonl(out / "summaries.jsonl")) == ids


def test_temporary_files_left_by_a_killed_run_are_removed(tmp_path: Path) -> None:
    src = english_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    fake_pipeline().run(src, out)
    # What kill -9 during a rewrite leaves: the old tempfile.mkstemp names and the current ones.
    left = [out / ".summaries.jsonl.k3j_x9q2.tmp", out / ".manifest.json.0a1b2c3d4e5f.tmp"]
    for path in left:
        path.write_text("{partial")
    (out / ".notes.tmp").write_text("not ours\n")
    fake_pipeline().run(src, out)
    assert not any(path.exists() for path in left)
    assert (out / ".notes.tmp").exists()


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["022", "002"])
def test_output_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    src = english_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    previous = os.umask(umask)
    try:
        fake_pipeline().run(src, out)
        fake_pipeline().run(src, out)  # the resume rewrite too
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir() if p.name != ".clsum.lock"}
    assert modes == dict.fromkeys(
        ["summaries.jsonl", "errors.jsonl", "manifest.json", "summaries.md"], 0o666 & ~umask
    )


# --- models and settings ------------------------------------------------------------------------


def _model_dir(tmp_path: Path, tiny_models: dict[str, Path], kind: str) -> Path:
    path = tmp_path / kind
    if kind == "file":
        path.write_text("{}")
    elif kind != "missing":
        path.mkdir()
    if kind == "no-weights":
        shutil.copy(tiny_models["summarizer"] / "config.json", path)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "model directory {path} does not exist"),
        ("file", "model path {path} is a file, not a model directory"),
        ("empty", "{path} is not a model directory: it has no config.json (a transformers model directory "
                  "holds config.json, the weights and the tokenizer files)"),
        ("no-weights", "model directory {path} has no weights (model.safetensors or pytorch_model.bin)"),
    ],
)  # fmt: skip
def test_a_local_model_that_is_not_there_names_the_path_and_what_is_missing(
    tmp_path: Path, tiny_models: dict[str, Path], kind: str, message: str
) -> None:
    path = _model_dir(tmp_path, tiny_models, kind)
    with pytest.raises(ModelError) as err:
        Seq2Seq(str(path), "cpu")
    assert str(err.value) == message.format(path=path)


def test_a_missing_model_directory_is_one_line_from_the_cli(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    dutch_corpus(tmp_path / "in", 1)
    missing = tmp_path / "models" / "bart"
    args = summarize_cmd(tmp_path / "in", tmp_path / "out", *tiny_overrides, f"summarization.model={missing}")
    result = CliRunner().invoke(main, args[3:])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [f"clsum: error: model directory {missing} does not exist"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "translation.num_beams=0",
            "translation.num_beams must be at least 1 (null: the model's own), got 0",
        ),
        ("summarization.num_beams=0", "summarization.num_beams must be at least 1"),
        ("translation.max_length=0", "translation.max_length must be at least 2"),
        ("summarization.max_length=1", "summarization.max_length must be at least 2"),
        ("translation.max_input_tokens=1", "translation.max_input_tokens must be at least 8"),
        ("summarization.max_input_tokens=7", "summarization.max_input_tokens must be at least 8"),
    ],
)
def test_settings_that_cannot_work_fail_at_startup(override: str, message: str) -> None:
    from clsum.config import load_config

    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert str(err.value).startswith(message)


def test_min_length_above_max_length_fails_at_startup_exit_2(tmp_path: Path) -> None:
    english_folder(tmp_path / "in", 1)
    sets = ["--set", "summarization.min_length=50", "--set", "summarization.max_length=20"]
    result = CliRunner().invoke(main, ["summarize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *sets])
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        "clsum: error: summarization.min_length (50) must not exceed summarization.max_length (20)"
    ]
    assert not (tmp_path / "out").exists()  # nothing was started


def _slow_marian(out: Path) -> Path:
    """A Marian wide and long enough (1024 positions) that one forced 1000-token beam decode takes
    many seconds on a CPU: a batch far longer than a stop may wait."""
    from clsum.bench.standins import builders
    from tests import tinymodels

    spec = builders.TokenizerSpec(size=300, max_input_tokens=128, seed=0)
    vocab = builders.marian_tokenizer(out, "nl", tinymodels.CORPORA["nl"], tinymodels.CORPORA["en"], spec)
    arch = {**tinymodels.TINY_DIMS, "d_model": 256, "decoder_ffn_dim": 1024, "decoder_layers": 4,
            "max_position_embeddings": 1024, "scale_embedding": True,
            "share_encoder_decoder_embeddings": True}  # fmt: skip
    tinymodels.save_model(out, vocab, builders.ModelSpec(arch), {"num_beams": 1, "max_length": 24})
    return out


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_sigterm_in_the_middle_of_a_long_batch_lands_within_seconds(
    tmp_path: Path, tiny_overrides: list[str], backend: str
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "doc.txt").write_text("Bericht.\n\nDe gemeente heeft gisteren nieuwe fietspaden geopend.\n")
    out, ct2 = tmp_path / "out", tmp_path / "ct2"
    slow = _slow_marian(tmp_path / "slow-nl")
    # the slow model for German too: the tiny one's 256 positions cannot honor max_length 1000
    settings = [*tiny_overrides, f"translation.models.nl={slow}", f"translation.models.de={slow}",
                f"backend={backend}",
                "translation.num_beams=16", "translation.max_length=1000",
                "translation.min_length=1000"]  # fmt: skip
    env = {**os.environ, "CLSUM_CT2_CACHE": str(ct2)}
    cmd = summarize_cmd(src, out, *settings)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # converted, loaded, and two seconds into decoding the one batch of the title and sentence
    wait_for_rows(out / "manifest.json", proc, rows=1)
    time.sleep(4)
    assert proc.poll() is None, "the batch was too short to be interrupted"
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, stderr = proc.communicate(timeout=120)
    assert time.monotonic() - sent < 5, stderr
    assert proc.returncode == 143, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["reason"]) == ("interrupted", "SIGTERM")


def test_a_translation_max_length_past_the_translators_positions_fails_at_startup_exit_2(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    # English input: no translator would load before the first document in its language
    english_folder(tmp_path / "in", 1)
    args = summarize_cmd(tmp_path / "in", tmp_path / "out", *tiny_overrides, "translation.max_length=300")
    result = CliRunner().invoke(main, args[3:])
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert line.startswith("clsum: error: max_length 300 (config translation.max_length) is more than ")
    assert line.endswith("its 256 positions allow at most 257")
    assert not _jsonl(tmp_path / "out" / "summaries.jsonl")  # refused before the first document
