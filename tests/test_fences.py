"""The import fences forbid over whole packages: a module nobody has listed anywhere is fenced too.

A temporary copy of the package gets new modules that break each fence; ``lint-imports`` must
name every one of them. The package import stays lazy: ``clsum.errors`` loads nothing above it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each new module breaks one fence, and the line lint-imports prints for it.
BREAKERS = {
    "pipeline/newstage.py": ("import torch\n", "clsum.pipeline.newstage -> torch"),
    "pipeline/otherstage.py": ("import transformers\n", "clsum.pipeline.otherstage -> transformers"),
    "pipeline/thirdstage.py": ("import ctranslate2\n", "clsum.pipeline.thirdstage -> ctranslate2"),
    "pipeline/runtime/usesstage.py": ("import clsum.pipeline.clean\n", "clsum.pipeline.runtime.usesstage ->"),
    "eval/raystuff.py": ("import ray\n", "clsum.eval.raystuff -> ray"),
    # A cycle between two new siblings.
    "pipeline/cyc_a.py": ("import clsum.pipeline.cyc_b\n", "No cycles are allowed in clsum.pipeline."),
    "pipeline/cyc_b.py": ("import clsum.pipeline.cyc_a\n", "No cycles are allowed in clsum.pipeline."),
}


def _copy_package(dest: Path) -> None:
    """clsum with its symlinked pipeline/ and eval/ as real folders, and the contracts."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "clsum", dest / "clsum", symlinks=False, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the copy, not the installed clsum
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_new_modules_that_break_a_fence_break_lint_imports(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    for rel, (source, _) in BREAKERS.items():
        (tmp_path / "clsum" / rel).write_text(source, encoding="utf-8")
    (tmp_path / "clsum" / "newtop.py").write_text("", encoding="utf-8")  # in no layer
    proc = _lint_imports(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    missing = [line for _, line in BREAKERS.values() if line not in out]
    assert missing == [], out
    assert "newtop" in out, out  # a top-level module must be placed in a layer


def test_the_fences_hold_on_the_package_as_it_is(tmp_path: Path) -> None:
    """The same copy without the new modules passes: what breaks above is the new modules alone."""
    _copy_package(tmp_path)
    proc = _lint_imports(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


LOADED = """
import json, sys
import clsum.errors
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("clsum", "lxml", "torch")))))
"""


def test_importing_the_bottom_layer_loads_nothing_above_it() -> None:
    proc = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["clsum", "clsum.errors"]


def test_the_package_still_exports_the_pipeline_lazily() -> None:
    code = (
        "import clsum, sys; d = {'Pipeline', 'load_config'} <= set(dir(clsum));"
        "a = 'clsum.runner' in sys.modules; clsum.Pipeline; print(d, a, clsum.load_config)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("True False <function load_config")  # dir() lists them, unloaded
