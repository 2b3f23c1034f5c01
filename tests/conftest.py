"""Shared fixtures: tiny real models built once per session, and an isolated, offline HF cache.

The environment is set at import, before anything imports huggingface_hub or transformers (both
read it once, at import time), so no test can touch the user's cache or the network.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pytest

_SESSION_HF_HOME = Path(tempfile.mkdtemp(prefix="clsum-test-hf-home-"))
atexit.register(shutil.rmtree, _SESSION_HF_HOME, ignore_errors=True)
# CLSUM_REAL_MODELS=1 runs the real-weight tests against the user's own HF cache (and the hub, unless
# HF_HUB_OFFLINE is set); otherwise every test is offline with an empty, private cache.
_REAL = os.environ.get("CLSUM_REAL_MODELS", "") in ("1", "true", "yes")

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
if not _REAL:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(_SESSION_HF_HOME)
    for _var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        os.environ.pop(_var, None)
    # Tiny models run ~10x faster on one thread than on several when the CPU is shared (CI runners,
    # parallel jobs). Subprocesses inherit the setting.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from tests import tinymodels  # noqa: E402  (imports no HF library at module level)
from tests.helpers import needs_data, require_data  # noqa: E402


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_data"):
        require_data()  # a skip here, a failure in CI


_DATA_FIXTURES = {"frank250", "frank250_lead3"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:  # a test that reads the data through a fixture is marked like one that reads it
        if _DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(needs_data)
    if _REAL:
        return
    skip = pytest.mark.skip(reason="real model weights: set CLSUM_REAL_MODELS=1 to run")
    for item in items:
        if "real_models" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def session_hf_home() -> Path:
    """The (initially empty) HF_HOME every test runs with."""
    return _SESSION_HF_HOME


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random models: ``de``/``nl`` MarianMT translators and a BART ``summarizer`` (64 positions)."""
    root = tmp_path_factory.mktemp("tiny-models")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "de": tinymodels.build_marian(root / "opus-mt-de-en", "de"),
            "nl": tinymodels.build_marian(root / "opus-mt-nl-en", "nl"),
            "summarizer": tinymodels.build_bart(root / "distilbart", max_positions=64),
        }
    print(f"\nbuilt tiny models in {time.perf_counter() - start:.1f}s under {root}")
    return models


@pytest.fixture(scope="session")
def tiny_overrides(tiny_models: dict[str, Path]) -> list[str]:
    """``--set`` strings pointing a clsum config at the tiny models, on CPU."""
    return [
        f"translation.models.de={tiny_models['de']}",
        f"translation.models.nl={tiny_models['nl']}",
        f"summarization.model={tiny_models['summarizer']}",
        "device=cpu",
    ]


@pytest.fixture(scope="session")
def hf_home_with_defaults(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> Path:
    """An HF_HOME whose hub cache holds the tiny models under clsum's default hub ids.

    Use it in a subprocess (``tinymodels.run_offline``): huggingface_hub reads HF_HOME at import.
    """
    hf_home = tmp_path_factory.mktemp("hf-home-defaults")
    for key, repo_id in tinymodels.DEFAULT_HUB_IDS.items():
        tinymodels.place_in_hf_cache(tiny_models[key], repo_id, hf_home)
    return hf_home


@pytest.fixture(scope="session")
def replica_homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """HF_HOMEs holding a replica of every real checkpoint family under its real hub id, one per
    file layout (``tests/replicas.py``): ``{"legacy": HF_HOME, "modern": HF_HOME}``."""
    from tests import replicas

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        homes = replicas.place_replicas(tmp_path_factory.mktemp("replicas"))
    print(f"\nbuilt replicas in {time.perf_counter() - start:.1f}s")
    return homes


@pytest.fixture(scope="session")
def sharp_bart(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> Path:
    """The tiny BART with scaled weights, so its summaries depend on the input (backend/batching tests)."""
    from tests.backendmodels import sharpen

    return sharpen(tiny_models["summarizer"], tmp_path_factory.mktemp("sharp") / "bart")


@pytest.fixture(scope="session")
def frank250() -> tuple[list[str], list[str]]:
    """Published BART-large-cnn outputs and reference highlights of the 250 CNN/DM articles."""
    from clsum.eval.data import load_cnndm_frank250

    ds = load_cnndm_frank250()  # marked needs_data: skipped (CI: failed) before this without the data
    return [s.extra["bart"] for s in ds.segments], [s.reference for s in ds.segments]


@pytest.fixture(scope="session")
def frank250_lead3() -> list[str]:
    """Lead-3 of the 250 CNN/DM articles, one sentence per line (pysbd: about 7 s, so built once)."""
    from clsum.eval.data import load_cnndm_frank250
    from clsum.eval.extractive import lead

    ds = load_cnndm_frank250()
    return ["\n".join(lead(s.source, "en", 3)) for s in ds.segments]
