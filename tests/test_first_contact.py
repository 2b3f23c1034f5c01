"""First contact: no network and no HF_HUB_OFFLINE, downloads offline, and messages said once.

The hub is played by a local port nothing listens on (``HF_ENDPOINT``): a request is refused at
once, as on a machine without network, and nothing leaves this machine.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.cli import main
from tests.articles import NL_BODY
from tests.helpers import set_args

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _no_network_env(hf_home: Path, **extra: str) -> dict[str, str]:
    """No HF_HUB_OFFLINE, and a hub that does not answer."""
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        env.pop(key, None)
    env.update(HF_HOME=str(hf_home), HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", **extra)
    return env


def _clsum(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "clsum", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    return result, time.monotonic() - started


def _article(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "artikel.txt"
    path.parent.mkdir()
    path.write_text(f"Fietspaden.\n\n{NL_BODY}\n")
    return path


@pytest.mark.slow
@pytest.mark.integration
def test_no_network_and_a_model_not_cached_fails_fast_in_one_line(tmp_path: Path) -> None:
    env = _no_network_env(tmp_path / "hf")
    result, took = _clsum(["summarize", str(_article(tmp_path)), "-o", str(tmp_path / "out")], env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()  # no retry lines, nothing twice: the one error
    assert line.startswith(
        "clsum: error: model 'sshleifer/distilbart-cnn-12-6' is not in the Hugging Face cache"
    )
    assert f"it cannot be downloaded: {env['HF_ENDPOINT']} cannot be reached (" in line
    assert took < 60  # one short attempt (minutes of retries before)


@pytest.mark.slow
@pytest.mark.integration
def test_no_network_with_cached_models_runs_without_retries(
    tmp_path: Path, hf_home_with_defaults: Path
) -> None:
    # A fresh CTranslate2 cache, so that this run converts: a routine message, not a warning.
    env = _no_network_env(hf_home_with_defaults, CLSUM_CT2_CACHE=str(tmp_path / "ct2"))
    result, took = _clsum(["summarize", str(_article(tmp_path)), "-o", str(tmp_path / "out")], env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert not [line for line in lines if "WARNING" in line or "Retrying" in line], result.stderr
    assert len(lines) == len(set(lines))
    assert any(line.startswith("clsum: INFO: converting sshleifer/distilbart-cnn-12-6") for line in lines)
    assert took < 120


@pytest.mark.slow
@pytest.mark.integration
def test_models_download_offline_says_why_not_to_run_itself(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["models", "download"])  # tests run with HF_HUB_OFFLINE=1
    assert result.exit_code == 2
    error = result.output.splitlines()[-1]
    assert error.endswith(
        "clsum: error: cannot download 'Helsinki-NLP/opus-mt-de-en': HF_HUB_OFFLINE=1 is set; "
        "unset it and retry"
    )
    env = _no_network_env(tmp_path / "hf")
    unreachable, _ = _clsum(["models", "download"], env)
    assert unreachable.returncode == 2
    error = unreachable.stderr.splitlines()[-1]
    assert (
        f"clsum: error: cannot download 'Helsinki-NLP/opus-mt-de-en': {env['HF_ENDPOINT']} cannot be "
        in error
    )
    assert error.endswith("; check the network or proxy settings and retry")
    assert "clsum models download" not in result.output + unreachable.stderr


def test_an_html_page_without_an_article_body_prints_no_third_party_chatter(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Kabinet</title></head><body><nav>Home Nieuws Sport</nav>"
        f"<table><tr><td>{NL_BODY}</td></tr></table></body></html>"
    )
    sets = set_args(*tiny_overrides)
    result = CliRunner().invoke(main, ["summarize", str(page), "-o", str(tmp_path / "out"), *sets])
    assert result.exit_code == 0, result.output
    assert "discarding data" not in result.output
    assert not [line for line in result.output.splitlines() if "WARNING" in line], result.output


def test_the_docs_name_only_switches_that_exist() -> None:
    flag = "--real" + "-models"  # pytest has no such option: conftest reads CLSUM_REAL_MODELS=1
    for path in [ROOT / "README.md", ROOT / "pyproject.toml", *sorted((ROOT / "tests").glob("*.py"))]:
        assert flag not in path.read_text(encoding="utf-8"), path
    assert "CLSUM_REAL_MODELS=1" in (ROOT / "pyproject.toml").read_text()


def test_a_model_library_warning_is_printed_once(
    tiny_overrides: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    from clsum.cli.common import configure_runtime, setup_logging
    from clsum.config import load_config

    setup_logging(0)
    configure_runtime(load_config(None, tiny_overrides))  # local models: no request to the hub
    logging.getLogger("huggingface_hub.utils._http").warning("Retrying in 1s [Retry 1/5].")
    logging.getLogger("transformers.modeling_utils").warning("Some weights were not used.")
    err = capfd.readouterr().err.splitlines()
    assert err == [
        "clsum: WARNING: Retrying in 1s [Retry 1/5].",
        "clsum: WARNING: Some weights were not used.",
    ]
