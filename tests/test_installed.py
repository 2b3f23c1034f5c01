"""Installed code assumes no checkout: clsum's own commit comes from what was recorded at build or
install time, never from the folder the code sits in (installed inside a user's repository, that
named the user's commit as clsum's), and the data root is explicit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clsum.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_is_clsums_not_the_working_directorys(tmp_path: Path) -> None:
    user = tmp_path / "user-repo"
    user.mkdir()
    _git(user, "init", "-q")
    _git(user, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "--allow-empty", "-m", "user")
    code = "from clsum.versions import clsum_commit; print(clsum_commit())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=user, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    commit = proc.stdout.strip()
    assert commit.split("+")[0] == _git(ROOT, "rev-parse", "HEAD")  # the editable install's source
    assert commit.split("+")[0] != _git(user, "rev-parse", "HEAD")


def test_a_build_records_its_commit_in_the_package(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    recorded: dict[str, object] = {}
    exec((tmp_path / "clsum" / "_build_info.py").read_text(encoding="utf-8"), recorded)
    assert str(recorded["COMMIT"]).split("+")[0] == _git(ROOT, "rev-parse", "HEAD")


def test_without_clsum_data_and_no_default_the_error_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clsum.eval.data import data_root

    monkeypatch.delenv("CLSUM_DATA", raising=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(InputError, match="set CLSUM_DATA to the data folder"):
        data_root()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert data_root() == (tmp_path / "shared" / "data").resolve()
