"""Degenerate output is visible: outputs cut at max_length or stuck in a loop are counted per record,
per run (manifest) and in the CLI's closing line, not only logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.pipeline.runtime import Seq2Seq
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.seq2seq import MAX_LENGTH, REPETITION, degeneration, has_loop
from clsum.record import OutputWarning, Record, warning_text
from tests import tinymodels
from tests.helpers import set_args, write_inputs


@pytest.mark.parametrize(
    ("ids", "loop"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], False),
        ([5, 5, 5, 5, 5], False),  # "ha ha ha ha ha": language, not yet a loop
        ([5] * 6, True),
        ([1, 2, 1, 2, 3], False),  # "very, very"
        ([1, 2] * 3, True),
        ([1, 2, 3] * 2 + [4], False),
        ([9, *([1, 2, 3] * 3), 8], True),  # anywhere in the output
        ([1, 2, 3, 4, 5, 6] * 2, True),  # a six-token phrase said twice in a row
        ([1, 2, 3, 4, 5] * 2, False),
        ([], False),
    ],
)
def test_a_loop_is_an_ngram_repeated_back_to_back(ids: list[int], loop: bool) -> None:
    assert has_loop(ids) is loop


def test_an_output_is_cut_when_the_limit_and_not_the_model_ended_it() -> None:
    eos, specials = [2], {0, 1, 2}
    # max_length counts the decoder start token: 6 means 5 generated tokens
    assert degeneration([7, 8, 9, 10, 11], 6, eos, False, specials) == (MAX_LENGTH,)
    assert degeneration([7, 8, 9, 10, 2], 6, eos, False, specials) == ()  # its own end token
    assert degeneration([7, 8, 9, 10, 2], 6, eos, True, specials) == (MAX_LENGTH,)  # forced at the limit
    assert degeneration([7, 8, 2], 6, eos, True, specials) == ()
    assert degeneration([0, 7, 7, 7, 7, 7, 7, 2], 100, eos, False, specials) == (REPETITION,)
    assert degeneration([0, 2, 2, 2, 2, 2, 2, 2], 100, eos, False, specials) == ()  # specials are no loop


def test_records_count_outputs_and_flags_across_calls() -> None:
    record = Record(id="a")
    record.count_outputs("summarize", [(), (MAX_LENGTH,)])
    record.count_outputs("summarize", [(MAX_LENGTH, REPETITION)])  # a second round
    record.count_outputs("translate", [(), (), ()])
    assert record.generated == {"summarize": 3, "translate": 3}
    assert record.warnings == [
        OutputWarning("summarize", MAX_LENGTH, 2, 3),
        OutputWarning("summarize", REPETITION, 1, 3),
    ]
    assert warning_text("summarize", MAX_LENGTH, 2, 3) == "2 of 3 summaries cut at max_length"
    assert warning_text("translate", REPETITION, 4) == "4 translations stuck in a repetition loop"


def test_a_run_lists_degenerate_outputs_in_records_manifest_markdown_and_closing_line(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    """The tiny random translators run to their max_length=24 in loops: every translation is flagged."""
    src = write_inputs(
        tmp_path / "in",
        {"de.txt": " ".join(tinymodels.CORPUS_DE[:3]), "en.txt": " ".join(tinymodels.CORPUS_EN[:3])},
    )
    out = tmp_path / "out"
    args = ["summarize", str(src), "-o", str(out), *set_args(*tiny_overrides)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, (out / "summaries.jsonl").read_text().splitlines())}
    de = {(w["stage"], w["kind"]): w for w in rows["de.txt"]["warnings"]}
    assert de["translate", MAX_LENGTH] == {"stage": "translate", "kind": MAX_LENGTH, "count": 3, "outputs": 3}
    assert ("translate", MAX_LENGTH) not in {(w["stage"], w["kind"]) for w in rows["en.txt"]["warnings"]}
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    totals: dict[str, int] = {}
    for row in rows.values():
        for w in row["warnings"]:
            totals[f"{w['stage']} {w['kind']}"] = totals.get(f"{w['stage']} {w['kind']}", 0) + 1
    assert counts["warnings"] == totals and totals["translate max_length"] == 1  # documents, not outputs
    assert counts["with_warnings"] == sum(1 for r in rows.values() if r["warnings"])
    assert f"; {counts['with_warnings']} with warnings (" in result.output
    assert "1 with translations cut at max_length" in result.output  # one document (3 of its outputs)
    assert "warnings: 3 of 3 translations cut at max_length" in (out / "summaries.md").read_text()


def test_degenerate_outputs_are_logged_with_the_limit_they_reached(
    tiny_models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """-v says which limit cut the outputs (the records count them; the log says max_length's value)."""
    caplog.set_level(logging.INFO, logger="clsum")
    model = Seq2Seq(str(tiny_models["de"]), "cpu", Options("transformers", "float32", threads=1))
    model.generate(tinymodels.CORPUS_DE[:3], batch_size=3)
    assert f"{tiny_models['de']}: 3 of 3 output(s) reached max_length=24" in caplog.text
