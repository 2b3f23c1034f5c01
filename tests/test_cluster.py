"""The ray engine on a local Ray cluster: the rows of a local run, per-document failures as rows,
resume, and every document exactly once after the driver is killed with SIGKILL."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clsum.config import Config, load_config
from clsum.errors import ModelError, OutputError
from clsum.pipeline.lock import FolderLock
from clsum.pipeline.write import BLOCKS
from clsum.record import Record
from clsum.runner import Pipeline
from tests.articles import DE_BODY, EN_BODY, FR_BODY, NL_BODY, long_dutch_article, write_messy_corpus
from tests.helpers import file_rows, summarize_cmd, wait_for

ray = pytest.importorskip("ray", reason="the ray extra (pip install 'clsum[ray]'); CI installs it")

from clsum.cluster import run_on_ray  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster for this module; its address, for drivers in other processes.

    More logical CPUs than the machine has: the model actors (one CPU each) must not take every slot
    from the read and write tasks.
    """
    ray.init(
        num_cpus=4, object_store_memory=256 * 1024**2, include_dashboard=False, logging_level=logging.WARNING
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _config(tiny_overrides: list[str], *extra: str) -> Config:
    pools = ["ray.translate_actors=1", "ray.summarize_actors=1", "doc_batch_size=3"]
    return load_config(None, [*tiny_overrides, *pools, *extra])


def _jsonl_corpus(path: Path) -> None:
    lines = [
        json.dumps({"id": "nl-1", "text": NL_BODY}),
        json.dumps({"id": "de-1", "text": f"{DE_BODY}\n\n{DE_BODY}"}),
        "{not json",
        json.dumps({"id": "en-1", "text": EN_BODY}),
        json.dumps({"id": "empty", "text": ""}),
        json.dumps({"id": "nl-1", "text": "a repeated id"}),
        json.dumps({"id": "fr-1", "text": FR_BODY}),
        json.dumps({"id": "given", "text": long_dutch_article(3), "lang": "nl"}),
        json.dumps({"id": "no-text"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rows(path: Path) -> list[dict[str, Any]]:
    return file_rows(path, ("timings",))


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("kind", ["folder", "jsonl"])
def test_rows_are_those_of_a_local_run(
    cluster: str, tiny_overrides: list[str], tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "in.jsonl"
    if kind == "folder":
        source = tmp_path / "in"
        write_messy_corpus(source)
        # File names that are not UTF-8 get escaped ids; a name and the escaped form of another clash.
        for name in (b"bad\xffname.txt", b"clash\xff.txt", b"clash\\xff.txt"):
            with open(os.path.join(os.fsencode(source), name), "wb") as fh:
                fh.write(f"{NL_BODY}\n".encode())
    else:
        _jsonl_corpus(source)
    config = _config(tiny_overrides)
    local = Pipeline(config).run(source, tmp_path / "local")
    result = run_on_ray(config, source, tmp_path / "ray")
    assert (result.total, result.summarized, result.failed, result.failures) == (
        local.total, local.summarized, local.failed, local.failures,
    )  # fmt: skip
    assert result.failed and result.summarized
    for name in ("summaries.jsonl", "errors.jsonl", "summaries.md"):
        if name.endswith(".md"):
            assert (tmp_path / "ray" / name).read_text() == (tmp_path / "local" / name).read_text()
        else:
            assert _rows(tmp_path / "ray" / name) == _rows(tmp_path / "local" / name), name
    manifests = [json.loads((tmp_path / out / "manifest.json").read_text()) for out in ("local", "ray")]
    assert set(manifests[0]) <= set(manifests[1]) and manifests[1]["engine"]["name"] == "ray"
    assert manifests[1]["status"] == "complete" and manifests[1]["counts"] == manifests[0]["counts"]
    assert manifests[1]["models"] == manifests[0]["models"] and manifests[1]["device"] == "cpu"
    assert manifests[1]["generation"] == manifests[0]["generation"]
    assert not (tmp_path / "ray" / BLOCKS).exists()
    # Same config hash, same keys: either engine resumes the other's output.
    again = run_on_ray(config, source, tmp_path / "local")
    assert (again.skipped, again.summarized) == (local.summarized, 0)


def crash_on_boom(records: list[Record]) -> None:
    """A summarize stage that crashes on one document (as a model or a bug might) and works otherwise."""
    for record in records:
        if record.ok:
            if "boom" in record.id:
                raise RuntimeError("the summarizer fell over")
            record.summary, record.chunks, record.coverage = f"summary of {record.id}", 1, 1.0


@pytest.mark.slow
@pytest.mark.integration
def test_a_crash_on_one_document_is_its_error_row_and_the_job_goes_on(
    cluster: str, tiny_overrides: list[str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a.txt", "boom.txt", "c.txt", "d.txt"):
        (tmp_path / "in" / name).write_text(f"{NL_BODY}\n", encoding="utf-8")
    result = run_on_ray(
        _config(tiny_overrides), tmp_path / "in", tmp_path / "out", stages={"summarize": crash_on_boom}
    )
    assert (result.summarized, result.failed, result.failures) == (3, 1, {"summarize": 1})
    (error,) = _rows(tmp_path / "out" / "errors.jsonl")
    assert (error["id"], error["stage"]) == ("boom.txt", "summarize")
    assert error["error"] == "RuntimeError: the summarizer fell over"
    assert [r["summary"] for r in _rows(tmp_path / "out" / "summaries.jsonl")] == [
        "summary of a.txt", "summary of c.txt", "summary of d.txt",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.integration
def test_a_model_that_cannot_load_stops_the_run_with_one_error(
    cluster: str, tiny_overrides: list[str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(f"{DE_BODY}\n", encoding="utf-8")
    config = _config(tiny_overrides, f"translation.models.de={tmp_path / 'missing-model'}")
    with pytest.raises(ModelError, match="missing-model"):
        run_on_ray(config, tmp_path / "in", tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "missing-model" in manifest["error"]


def test_an_output_folder_another_run_holds_fails_before_ray_starts(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(f"{NL_BODY}\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    with FolderLock(tmp_path / "out"), pytest.raises(OutputError, match="in use by another clsum run"):
        run_on_ray(load_config(None, ["ray.address=127.0.0.1:1"]), tmp_path / "in", tmp_path / "out")


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_of_the_driver_then_rerun_leaves_every_document_once(
    cluster: str, tiny_overrides: list[str], tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    ids = [f"doc{i:02d}.txt" for i in range(40)]
    for i, name in enumerate(ids):
        (src / name).write_text(f"Bericht {i}.\n\n{NL_BODY if i % 2 else DE_BODY}\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = [*tiny_overrides, "doc_batch_size=1", "ray.translate_actors=1", "ray.summarize_actors=1"]
    cmd = [*summarize_cmd(src, out, *settings), "--engine", "ray"]
    driver = subprocess.Popen(
        [*cmd, "--ray-address", cluster], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    blocks = out / BLOCKS
    wait_for(driver, lambda: blocks.is_dir() and len(list(blocks.glob("*.json"))) >= 3)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = len(list(blocks.glob("*.json")))
    assert 3 <= finished < len(ids)
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    env = {**os.environ, "RAY_ADDRESS": cluster}  # the rerun finds the cluster the way `ray job submit` says
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(row["id"] for row in _rows(out / "summaries.jsonl")) == ids  # each line once
    assert (out / "errors.jsonl").read_text() == ""
    assert not blocks.exists()
    assert json.loads((out / "manifest.json").read_text())["counts"]["skipped"] >= finished


def die_on_poison(records: list[Record]) -> None:
    """A translate stage whose process dies on one document (as on memory exhaustion or a crash in
    native code: nothing to catch), on every try; the others pass through."""
    for record in records:
        if record.ok and "poison" in record.id:
            os._exit(1)
    for record in records:
        if record.ok:
            record.translated = [list(p) for p in record.sentences]


@pytest.mark.slow  # starts a Ray cluster (about 6 s)
@pytest.mark.integration
def test_model_actors_left_by_a_pass_are_ended_and_their_cpus_come_back(cluster: str) -> None:
    """Ray can leave a restarted actor with no handle behind (it held its CPU until the job ended,
    and the next pass's pools waited for it for ever): the actors are ended by id, not by handle."""
    from clsum.cluster import lost

    class Leftover:
        def ping(self) -> bool:
            return True

    Leftover.__name__ = Leftover.__qualname__ = "MapWorker(Map(Translate))"  # as Ray Data names them
    actor = ray.remote(num_cpus=1)(Leftover).remote()
    ray.get(actor.ping.remote())
    assert ray.available_resources().get("CPU", 0.0) <= 3.0
    lost._end_model_actors(ray)  # returns once the actor is DEAD
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0.0) < 4.0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0.0) == 4.0
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.ping.remote())


@pytest.mark.slow  # its worker dies six times (about 2 minutes)
def test_a_document_that_kills_its_worker_is_one_error_row_and_the_run_goes_on(
    cluster: str, tiny_overrides: list[str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    names = ["a.txt", "b-poison.txt", "c.txt", "d.txt"]
    for name in names:
        (tmp_path / "in" / name).write_text(f"{NL_BODY}\n", encoding="utf-8")
    start = time.monotonic()
    result = run_on_ray(
        _config(tiny_overrides), tmp_path / "in", tmp_path / "out", stages={"translate": die_on_poison}
    )
    assert time.monotonic() - start < 240  # bounded: Ray Data alone retries without end
    assert (result.summarized, result.failed, result.failures) == (3, 1, {"translate": 1})
    (error,) = _rows(tmp_path / "out" / "errors.jsonl")
    assert (error["id"], error["stage"]) == ("b-poison.txt", "translate")
    assert error["error"].startswith("the Ray worker died 3 times on it (out of memory")
    # The poison document's batch partners (a, c) are summarized, in input order.
    assert [r["id"] for r in _rows(tmp_path / "out" / "summaries.jsonl")] == ["a.txt", "c.txt", "d.txt"]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["status"] == "complete"
