"""Inference backends: config, 'auto', the CTranslate2 conversion cache, output parity, provenance."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.config import load_config
from clsum.errors import ConfigError, ModelError
from clsum.pipeline.runtime import Seq2Seq, backends
from clsum.pipeline.runtime import ct2cache as ct2_backend
from clsum.pipeline.runtime.backends import Options, resolve
from clsum.pipeline.runtime.ct2cache import ct2_model_dir
from clsum.pipeline.runtime.models import cpu_isa
from clsum.runner import Pipeline
from tests import tinymodels
from tests.helpers import set_args, write_inputs

GERMAN = tinymodels.CORPUS_DE[:12] + ["Ja.", " ".join(tinymodels.CORPUS_DE[30:32])]
ENGLISH = [" ".join(tinymodels.CORPUS_EN[i : i + 2])[: 40 + 5 * i] for i in range(0, 24, 2)]


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A private, empty conversion cache; returns the list of models converted into it."""
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path / "ct2"))
    seen: list[str] = []
    real = ct2_backend._converter

    def counting(location: str, revision: str | None) -> Any:
        seen.append(location)
        return real(location, revision)

    monkeypatch.setattr(ct2_backend, "_converter", counting)
    return seen


# --- config and 'auto' ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["translation.batch_tokens=0"], "translation.batch_tokens must be at least 1"),
        (["threads=-1"], "threads must not be negative"),
    ],
)
def test_invalid_budgets_are_config_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["backend=onnx"], "backend must be one of auto, transformers, ctranslate2"),
        (["compute_type=int4"], "compute_type 'int4' is not supported by backend 'auto'"),
        (["backend=transformers", "compute_type=int8_float16"], "not supported by backend 'transformers'"),
    ],
)
def test_unknown_backends_and_precisions_fail_when_the_pipeline_is_built(
    overrides: list[str], message: str
) -> None:
    config = load_config(None, overrides)  # the backends package, not the config, knows them
    with pytest.raises(ConfigError, match=message):
        Pipeline(config)


def test_backend_and_precision_change_the_hash_threads_and_budgets_do_not() -> None:
    """Threads and budgets are speed-only because batches hold one input length (no padding) and
    go to the engine whole: test_batching shows it on an int8 model that padding changes, and
    ``clsum bench --invariance`` on the published architectures (BENCHMARKS.md)."""
    base = load_config().hash()
    for same in ("threads=2", "translation.batch_tokens=10", "summarization.batch_tokens=99"):
        assert load_config(None, [same]).hash() == base, same
    for other in ("backend=transformers", "compute_type=float32", "translation.min_length=3"):
        assert load_config(None, [other]).hash() != base, other


def test_auto_picks_ctranslate2_int8_on_cpu_and_transformers_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resolve(Options("auto"), "cpu") == ("ctranslate2", "int8")
    assert resolve(Options("auto", "float32"), "cpu") == ("ctranslate2", "float32")
    assert resolve(Options("transformers"), "cpu") == ("transformers", "float32")
    assert resolve(Options("transformers", "int8"), "cpu") == ("transformers", "int8")
    monkeypatch.setattr(backends, "ct2_available", lambda: False)
    assert resolve(Options("auto"), "cpu") == ("transformers", "float32")
    assert resolve(Options("auto", "int8_float32"), "cpu") == ("transformers", "float32")
    with pytest.raises(ConfigError, match="ctranslate2 package is not installed"):
        resolve(Options("ctranslate2"), "cpu")


def test_precisions_the_device_lacks_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        resolve(Options("transformers", "float16"), "cpu")
    with pytest.raises(ConfigError, match="not supported by CTranslate2 on cpu"):
        resolve(Options("ctranslate2", "float16"), "cpu")


# --- conversion cache --------------------------------------------------------------------------------


def test_conversion_happens_once_per_model_and_compute_type(
    tiny_models: dict[str, Path], conversions: list[str], tmp_path: Path
) -> None:
    spec = str(tiny_models["de"])
    first = Seq2Seq(spec, "cpu", Options("ctranslate2", "float32"))
    out = first.generate(GERMAN[:3], batch_size=3)
    assert conversions == [spec]
    again = Seq2Seq(spec, "cpu", Options("ctranslate2", "float32"))
    assert again.generate(GERMAN[:3], batch_size=3) == out
    assert conversions == [spec]  # reused from disk
    Seq2Seq(spec, "cpu", Options("ctranslate2", "int8")).generate(GERMAN[:1], batch_size=1)
    assert conversions == [spec, spec]  # keyed by compute type
    names = sorted(p.name for p in (tmp_path / "ct2").iterdir())
    assert names == [ct2_model_dir(spec, "float32").name, ct2_model_dir(spec, "int8").name]
    assert names[0].startswith("local--opus-mt-de-en--") and names[0].endswith("--float32")  # no temp dirs


def test_hub_models_are_keyed_by_commit(
    hf_home_with_defaults: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home_with_defaults / "hub"))
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path))
    path = ct2_model_dir("Helsinki-NLP/opus-mt-de-en", "int8", convert=False)
    assert path == tmp_path / f"Helsinki-NLP--opus-mt-de-en--{tinymodels.DEFAULT_COMMIT}--int8"
    assert not path.exists()


def test_failed_conversion_leaves_nothing_and_auto_falls_back(
    tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path))

    class Broken:
        def convert(self, *args: Any, **kwargs: Any) -> None:
            raise NotImplementedError("architecture not supported")

    monkeypatch.setattr(ct2_backend, "_converter", lambda location, revision: Broken())
    with pytest.raises(ModelError, match="cannot convert .* to CTranslate2"):
        Seq2Seq(str(tiny_models["de"]), "cpu", Options("ctranslate2", "int8"))
    assert list(tmp_path.iterdir()) == []
    # auto settles on transformers before the model is handed out, and stays there
    auto = Seq2Seq(str(tiny_models["de"]), "cpu", Options("auto"))
    assert auto.provenance.endswith("(transformers float32)")
    assert auto.generate(GERMAN[:1], batch_size=1)
    assert auto.provenance.endswith("(transformers float32)")


# --- outputs -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs(tiny_models: dict[str, Path], sharp_bart: Path) -> dict[str, tuple[Seq2Seq, Seq2Seq, list[str]]]:
    out = {}
    for key, path, texts in (("marian", tiny_models["de"], GERMAN), ("bart", sharp_bart, ENGLISH)):
        hf = Seq2Seq(str(path), "cpu", Options("transformers", "float32"))
        ct = Seq2Seq(str(path), "cpu", Options("ctranslate2", "float32"))
        out[key] = (hf, ct, texts)
    return out


@pytest.mark.parametrize("key", ["marian", "bart"])
def test_ctranslate2_float32_greedy_equals_transformers(key: str, pairs: dict[str, Any]) -> None:
    hf, ct, texts = pairs[key]
    expected = hf.generate(texts, batch_size=4)
    assert len({o.text for o in expected}) > 1
    assert ct.generate(texts, batch_size=4) == expected
    short = hf.generate(texts, batch_size=4, max_length=7)
    assert ct.generate(texts, batch_size=4, max_length=7) == short != expected


@pytest.mark.parametrize("key", ["marian", "bart"])
@pytest.mark.parametrize("length", [5, 12, 20])
def test_forced_lengths_give_the_same_number_of_tokens(key: str, length: int, pairs: dict[str, Any]) -> None:
    """min_length = max_length (how the bench forces output length) means the same on both backends."""
    hf, ct, texts = pairs[key]
    batch = hf.tokenizer(texts[:4])["input_ids"]
    forced = {"max_length": length, "min_length": length, "num_beams": 1}
    settings = hf.settings.with_overrides(forced, "test")
    hf_ids, ct_ids = (
        next(hf.engine.generate_all([batch], settings.config)),
        next(ct.engine.generate_all([batch], settings.config)),
    )
    # HF's max_length counts the decoder start token, which the engines leave out
    assert [len(x) for x in hf_ids] == [len(x) for x in ct_ids] == [length - 1] * 4
    assert hf_ids == ct_ids


def test_int8_runs_and_says_so(tiny_models: dict[str, Path]) -> None:
    for backend in ("ctranslate2", "transformers"):
        model = Seq2Seq(str(tiny_models["de"]), "cpu", Options(backend, "int8", threads=1))
        out = model.generate(GERMAN[:4], batch_size=4)
        assert len(out) == 4 and all(isinstance(o.text, str) for o in out)
        assert model.provenance.endswith(f"({backend} int8)") and "#" in model.provenance
        assert (model.backend, model.compute_type) == (backend, "int8")


# --- CLI ---------------------------------------------------------------------------------------------


def test_summarize_with_ctranslate2_records_backend_and_precision(
    tiny_overrides: list[str], tmp_path: Path
) -> None:
    src = write_inputs(
        tmp_path / "in",
        {"a.txt": " ".join(tinymodels.CORPUS_DE[:6]), "b.txt": " ".join(tinymodels.CORPUS_EN[:5])},
    )
    sets = [*tiny_overrides, "backend=ctranslate2", "compute_type=int8", "threads=2"]
    args = ["summarize", str(src), "-o", str(tmp_path / "out"), *set_args(*sets)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "summaries.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["summary"] for r in rows)
    assert all(p.endswith("(ctranslate2 int8)") for r in rows for p in r["models"].values())
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config"]["backend"] == "ctranslate2"
    assert set(manifest["backends"]) == set(manifest["models"])
    assert all(b == {"backend": "ctranslate2", "compute_type": "int8"} for b in manifest["backends"].values())
    # where the numbers came from: the CPU's int8 instruction sets, workers x threads, the batch policy
    runtime = manifest["runtime"]
    assert runtime["cpu_isa"] == cpu_isa()
    assert {(e["workers"], e["threads_per_worker"]) for e in runtime["engines"].values()} == {(2, 1)}
    assert set(runtime["engines"]) == set(manifest["models"]) and "no padding" in runtime["batch_policy"]


def test_models_download_converts_and_list_shows_it(
    tiny_overrides: list[str], conversions: list[str], tmp_path: Path
) -> None:
    sets = set_args(*tiny_overrides, "backend=ctranslate2")
    listing = CliRunner().invoke(main, ["models", "list", *sets], catch_exceptions=False)
    assert listing.exit_code == 0 and listing.output.count("not converted yet") == 3, listing.output
    download = CliRunner().invoke(main, ["models", "download", *sets], catch_exceptions=False)
    assert download.exit_code == 0, download.output
    assert download.output.count("(ctranslate2 int8)") == 3 and len(conversions) == 3
    listing = CliRunner().invoke(main, ["models", "list", *sets], catch_exceptions=False)
    assert listing.output.count(f"converted at {tmp_path / 'ct2'}") == 3, listing.output


def test_unsupported_precision_fails_before_any_document(tiny_overrides: list[str], tmp_path: Path) -> None:
    src = write_inputs(tmp_path / "in", {"a.txt": tinymodels.CORPUS_EN[0]})
    sets = [*tiny_overrides, "backend=transformers", "compute_type=float16"]
    args = ["summarize", str(src), "-o", str(tmp_path / "out"), *set_args(*sets)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "clsum: error: compute_type float16 with backend transformers needs a CUDA device" in result.output


def test_the_cpu_isa_comes_from_cpuinfo_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n", encoding="utf-8")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("CT2_FORCE_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    expected = {"flags": ["avx2", "avx512f", "avx512_vnni"], "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
    assert cpu_isa(info) == expected
    assert cpu_isa(tmp_path / "missing")["flags"] is None  # unknown, not "none of them"


def test_cpu_threads_become_parallel_single_thread_batches_up_to_four() -> None:
    from clsum.pipeline.runtime.backends.ctranslate2 import cpu_workers

    assert cpu_workers(1) == (1, 1)
    assert cpu_workers(2) == (2, 1)  # two batches of one thread each: faster beam search on 2 cores
    assert cpu_workers(16) == (4, 4)
    workers, intra = cpu_workers(0)  # 0: every core this process may use
    assert workers * intra <= len(os.sched_getaffinity(0)) and workers >= 1


def test_the_manifest_records_the_threads_the_ct2_engine_is_given_on_cpu_and_gpu(monkeypatch: Any) -> None:
    """The manifest's workers x threads come from the function that sets the engine's, on any device
    (before, a GPU run recorded ``threads`` per worker where CTranslate2 got its own default, 0)."""
    import ctranslate2

    from clsum.pipeline.runtime.backends import ctranslate2 as ct2
    from clsum.pipeline.runtime.models import run_facts

    given: list[tuple[int, int]] = []
    monkeypatch.setattr(
        ctranslate2, "Translator", lambda *a, **kw: given.append((kw["inter_threads"], kw["intra_threads"]))
    )
    monkeypatch.setattr(ct2, "vocabulary", lambda folder: [])
    choice = {"backend": "ctranslate2", "compute_type": "int8"}
    for device in ("cpu", "cuda:1"):
        ct2.Ct2Engine(Path("unused"), None, device, "int8", threads=8)
        engine = run_facts({"m": choice}, 8, device)["engines"]["m"]
        assert (engine["workers"], engine["threads_per_worker"]) == given[-1]
    assert given == [(4, 2), (1, 0)]
