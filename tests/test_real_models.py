"""With the real default models (from the hub or the HF cache): run with CLSUM_REAL_MODELS=1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.pipeline.runtime import Seq2Seq, Task
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.generation import DEFAULT
from tests.backendmodels import applied_settings

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
    generation = json.loads((tmp_path / "manifest.json").read_text())["generation"]
    assert generation["summarization.model"]["generation"]["num_beams"]["value"] == 4


@pytest.mark.parametrize(
    ("spec", "task", "expected"),
    [
        (
            "sshleifer/distilbart-cnn-12-6",
            Task("summarization"),
            {
                "num_beams": 4,
                "max_length": 142,
                "min_length": 56,
                "length_penalty": 2.0,
                "no_repeat_ngram_size": 3,
                "early_stopping": True,
            },
        ),
        ("Helsinki-NLP/opus-mt-de-en", Task("translation_de_to_en"), {"num_beams": 4, "max_length": 512}),
        ("Helsinki-NLP/opus-mt-nl-en", Task("translation_nl_to_en"), {"num_beams": 4, "max_length": 512}),
    ],
)
def test_default_checkpoints_generate_as_their_authors_configured(
    spec: str, task: Task, expected: dict[str, Any]
) -> None:
    """Whichever layout the hub holds today (config.json keys or generation_config.json), the
    effective settings are the model card's, and both backends are given the same ones."""
    reference = Seq2Seq(spec, "cpu", Options("transformers", "float32"), task)
    values = reference.settings.values()
    assert {k: values[k] for k in expected} == expected
    assert all(reference.settings.origins[k] != DEFAULT for k in expected)
    if spec.startswith("Helsinki-NLP/"):  # Marian must never write its <pad>, on either backend
        assert values["bad_words_ids"] == [[reference.tokenizer.pad_token_id]]
    assert reference.max_input_tokens == (1024 if "bart" in spec else 512)
    fast = Seq2Seq(spec, "cpu", Options("ctranslate2", "int8"), task)
    assert fast.settings == reference.settings
    applied = applied_settings(fast, fast.settings.config)
    assert {k: applied[k] for k in ("num_beams", "max_length", "length_penalty")} == {
        k: values[k] for k in ("num_beams", "max_length", "length_penalty")
    }
