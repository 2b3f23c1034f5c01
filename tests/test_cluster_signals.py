"""SIGTERM to a ray run on clsum's own Ray instance, in the environment a user has (no
RAY_AUTH_MODE: Ray 2.59+ turns token authentication on and says so): it stops as a local run stops,
and the terminal shows clsum's one line, nothing of Ray's. Slow: it starts a Ray instance."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from clsum.pipeline.write import BLOCKS
from tests.articles import NL_BODY

pytest.importorskip("ray", reason="the ray extra (pip install 'clsum[ray]'); CI installs it")

pytestmark = pytest.mark.slow


def test_sigterm_stops_a_ray_run_as_it_stops_a_local_one(tiny_overrides: list[str], tmp_path: Path) -> None:
    """Exit 143, manifest interrupted by SIGTERM, one line; not Ray's handler (exit 15, a C++ stack
    dump, manifest failed with error "15")."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        (src / f"doc{i:02d}.txt").write_text(f"Bericht {i}.\n\n{NL_BODY}\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = [*tiny_overrides, "doc_batch_size=1"]
    sets = [a for item in settings for a in ("--set", item)]
    cmd = [sys.executable, "-m", "clsum", "summarize", str(src), "-o", str(out), "--engine", "ray", *sets]
    ray_tmp = tempfile.mkdtemp(prefix="clsum-ray-", dir="/tmp")  # short: Ray's socket paths
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH", "RAY_ADDRESS"))}
    env["RAY_TMPDIR"] = ray_tmp  # no `ray start` cluster to find: clsum starts its own instance
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        blocks = out / BLOCKS
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and driver.poll() is None:
            if blocks.is_dir() and len(list(blocks.glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert driver.poll() is None, driver.communicate()
        driver.send_signal(signal.SIGTERM)
        _, stderr = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
        left = _processes_under(ray_tmp)
        for proc in left:
            proc.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not left, "the Ray instance outlived the run"
    assert driver.returncode == 143, stderr
    assert stderr.splitlines() == ["clsum: terminated (SIGTERM); rerun the same command to resume"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["reason"]) == ("interrupted", "SIGTERM")
    assert 2 <= manifest["counts"]["summarized"] < 30
    assert "Token authentication is enabled" in (out / "ray.log").read_text()  # Ray's, in its file


def _processes_under(folder: str) -> list[psutil.Process]:
    """Processes of the Ray instance in ``folder`` still alive 15 s after the run ended."""
    deadline = time.monotonic() + 15
    while True:
        found = [
            p for p in psutil.process_iter(["cmdline"]) if any(folder in a for a in p.info["cmdline"] or ())
        ]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)
