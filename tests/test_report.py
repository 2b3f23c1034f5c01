"""Report files: report.html is self-contained, report.json and outputs/ carry the numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from clsum.eval.benchmark import load_benchmark
from clsum.eval.harness import run_benchmark
from clsum.eval.report import git_hash
from tests.test_harness import needs_data


@pytest.fixture(scope="module")
def lead_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weight-free systems on 5 CNN/DM articles: real scores, no models."""
    run_dir = tmp_path_factory.mktemp("report")
    cfg = load_benchmark("cnndm-frank250")
    run_benchmark(cfg, run_dir, systems=["lead-3", "textrank", "bart-large-cnn-published"], limit=5)
    return run_dir


@needs_data
def test_html_is_self_contained(lead_run: Path) -> None:
    page = (lead_run / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 3  # bars, distributions, score vs. length
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link)\b", page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


@needs_data
def test_markdown_has_a_row_per_system(lead_run: Path) -> None:
    md = (lead_run / "report.md").read_text(encoding="utf-8")
    for name in ("lead-3", "textrank", "bart-large-cnn-published"):
        assert re.search(rf"^\| {re.escape(name)} \| \d", md, re.M), name
    assert "## Signatures" in md


@needs_data
def test_json_scores_match_per_segment_outputs(lead_run: Path) -> None:
    report = json.loads((lead_run / "report.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (lead_run / "outputs" / "lead-3.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    assert all(0 <= r["scores"]["rouge1"] <= 100 for r in rows)
    assert 0 < report["systems"]["lead-3"]["rouge1"]["score"] <= 100
    assert report["benchmark"]["name"] == "cnndm-frank250"
    assert list(report["data"]) == ["cnndm-frank250/cnndm_frank250.jsonl"]
    assert yaml.safe_load(json.dumps(report["benchmark"]))["dataset"]["name"] == "cnndm-frank250"


def test_git_hash_outside_a_repository_is_none(tmp_path: Path) -> None:
    assert git_hash(tmp_path) is None


def test_versions_name_every_package_that_changes_a_number() -> None:
    from clsum.versions import package_versions

    versions = package_versions()
    for name in ("ctranslate2", "rouge-score", "nltk", "numpy", "sacrebleu", "torch", "transformers"):
        assert versions[name] != "not installed", name
