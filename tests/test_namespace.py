"""One import namespace: everything is ``clsum.*``; a user's own ``pipeline``/``eval`` cannot shadow it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import clsum
from clsum import Pipeline, load_config
names = [m.name for m in pkgutil.walk_packages(clsum.__path__, "clsum.") if m.name != "clsum.__main__"]
for name in names:
    importlib.import_module(name)
from clsum.eval.benchmark import shipped_configs
print(json.dumps({"modules": len(names), "benchmarks": sorted(shipped_configs()),
                  "top": sorted({m.split(".")[0] for m in sys.modules} & {"pipeline", "eval"})}))
"""


@pytest.mark.integration
def test_a_users_pipeline_py_and_eval_package_do_not_shadow_clsum(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text("raise ImportError('the user pipeline.py was imported')\n")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "__init__.py").write_text("raise ImportError('the user eval/ was imported')\n")
    # python -c puts the working directory first on sys.path, where the user's files are.
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["top"] == []  # no top-level pipeline or eval module was imported
    assert seen["modules"] > 40
    assert "flores-de-en" in seen["benchmarks"]  # configs found as package data, not via the checkout


def test_no_source_imports_top_level_pipeline_or_eval() -> None:
    offenders = []
    for path in sorted([*ROOT.glob("clsum/**/*.py"), *ROOT.glob("tests/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            bare = [n for n in names if n.split(".")[0] in ("pipeline", "eval")]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in bare]
    assert offenders == []
