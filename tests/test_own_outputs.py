"""An output folder inside the input folder is clsum's own output, not articles: it is skipped."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.helpers import english_folder, fake_pipeline


def test_an_output_folder_inside_the_input_is_skipped_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = english_folder(tmp_path / "in", 3)
    out = src / "out"
    assert fake_pipeline().run(src, out).total == 3
    (src / "notes").mkdir()
    (src / "notes" / "manifest.json").write_text('{"not": "clsum"}\n')  # someone else's manifest
    (src / "notes" / "memo.txt").write_text("The council met on Tuesday to discuss the library budget.\n")
    with caplog.at_level(logging.WARNING):
        result = fake_pipeline().run(src, out)
    assert (result.total, result.skipped, result.summarized) == (4, 3, 1)  # not out/summaries.md
    assert f"skipping {out}: a clsum output folder (it holds clsum's manifest.json)" in caplog.messages


def test_an_input_folder_that_is_also_the_output_skips_only_clsums_own_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = english_folder(tmp_path / "in", 2)
    assert fake_pipeline().run(src, src).total == 2
    assert (src / "summaries.md").exists()
    with caplog.at_level(logging.WARNING):
        again = fake_pipeline().run(src, src)
    assert (again.total, again.skipped) == (2, 2)
    assert any(m.startswith(f"skipping {src / 'summaries.md'}: clsum's own output") for m in caplog.messages)


def test_a_manifest_over_1_mib_is_not_clsums_and_its_folder_is_read(tmp_path: Path) -> None:
    src = english_folder(tmp_path / "in", 1)
    (src / "big").mkdir()
    huge = {"status": "complete", "config_hash": "x", "counts": {}, "pad": "x" * (1 << 20)}
    (src / "big" / "manifest.json").write_text(json.dumps(huge))  # clsum's keys, but never clsum's size
    (src / "big" / "memo.txt").write_text("The council met on Tuesday to discuss the library budget.\n")
    assert fake_pipeline().run(src, tmp_path / "out").total == 2
