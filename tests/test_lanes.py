"""Test lanes: a test that needs the benchmark data skips without it, except in CI, where it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import require_data


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_missing_data_skips_but_fails_in_ci(
    ci: str, outcome: type[BaseException], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLSUM_DATA", str(tmp_path / "absent"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="CLSUM_DATA"):
        require_data()


def test_present_data_neither_skips_nor_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLSUM_DATA", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    require_data()
