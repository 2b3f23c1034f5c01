"""With the real default models (from the hub or the HF cache): run with CLSUM_REAL_MODELS=1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.cli import main

pytestmark = pytest.mark.real_models

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"


def test_bundled_examples_get_english_summaries(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["summarize", str(EXAMPLES), "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "summaries.jsonl").read_text().splitlines())}
    assert len(rows) == 5
    tram = rows["nl/tram-utrecht.txt"]
    assert "Utrecht" in tram["translation"] and "tram" in tram["summary"].lower()
    assert all(
        r["models"]["summarization"].startswith("sshleifer/distilbart-cnn-12-6@") for r in rows.values()
    )
