"""Records the commit a wheel is built from in ``clsum/_build_info.py`` (``clsum.versions.clsum_commit``).

Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def _commit() -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=30).stdout

    try:
        head, dirty = git("rev-parse", "HEAD").strip(), git("status", "--porcelain").strip()
    except (OSError, subprocess.SubprocessError):
        return None  # built from an sdist or without git: the commit is unknown, and says so
    return f"{head}+dirty" if dirty else head


class BuildPyWithCommit(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads its source folder's HEAD instead
            info = Path(self.build_lib) / "clsum" / "_build_info.py"
            info.write_text(f'"""Written by setup.py at build time."""\n\nCOMMIT = {_commit()!r}\n')


setup(cmdclass={"build_py": BuildPyWithCommit})
