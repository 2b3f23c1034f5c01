"""``clsum bench`` end to end on tiny models, plus the arithmetic it reports (no timing assertions)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from clsum.bench.baselines import NaiveHF, PlainCT2, _decoded, decoding
from clsum.bench.measure import Arch, generation_flops
from clsum.bench.report import Differing, InvarianceReport
from clsum.bench.standins import models as bench_models
from clsum.bench.standins.models import (
    BenchModel,
    BenchModels,
    Lengths,
    forced_lengths,
    forced_translation_length,
)
from clsum.cli import main
from clsum.config import load_config
from clsum.pipeline.runtime.ct2cache import ct2_model_dir
from clsum.pipeline.runtime.generation import LEGACY_CONFIG
from clsum.runner import Pipeline
from tests.helpers import set_args
from tests.tinymodels import CORPUS_DE

LAST_LINE = re.compile(
    r"^speedup_vs_naive=\d+\.\d\d speedup_vs_ctranslate2=\d+\.\d\d "
    r"differing_vs_ctranslate2=tr:\d+/2,sum:\d+/2 articles_per_min=\d+\.\d$"
)


def test_flops_formula_by_hand() -> None:
    # d=2, f=4, V=10, one encoder and one decoder layer, n=3 source tokens, t=2 steps, beam 1:
    # encoder 3*(8*4 + 4*2*4) + 4*9*2 = 264; cross K/V 4*3*4 = 48;
    # per step 12*4 + 4*2*4 + 4*3*2 + 2*2*10 = 144; self-attention over t: 4*2*(1+2) = 24
    arch = Arch(d_model=2, ffn=4, vocab=10, encoder_layers=1, decoder_layers=1)
    assert generation_flops(arch, n=3, t=2, beam=1) == 264 + 48 + 2 * 144 + 24
    # beam multiplies only the decoder steps
    assert generation_flops(arch, n=3, t=2, beam=4) == 264 + 48 + 4 * (2 * 144 + 24)


def test_forced_translation_length() -> None:
    assert forced_translation_length([10, 10, 10]) == 11  # round(1.1 x mean)
    assert forced_translation_length([20, 40]) == 33
    assert forced_translation_length([]) == 1


def _model(random: bool, length: int | None = None) -> BenchModel:
    return BenchModel("spec", "/dir", "provenance", random, length)


def test_forced_lengths_are_one_config_value_for_every_language() -> None:
    unit_tokens = [10, 10, 20]  # the documents' translator inputs
    # random stand-ins only: the mean of their own lengths (clsum takes one config value)
    models = BenchModels({"de": _model(True, 30), "nl": _model(True, 41)}, _model(True, 64))
    lengths = forced_lengths(models, unit_tokens, summarizer_positions=1024)
    assert (lengths.translation, lengths.summary) == (36, 64)
    # their files hold their authors' settings, so clsum is given the lengths as a real model is
    assert lengths.overrides() == [
        "translation.min_length=37",
        "translation.max_length=37",
        "summarization.min_length=65",
        "summarization.max_length=65",
    ]
    # one real translator: one length from the documents, round(1.1 x 40/3) = 15
    models = BenchModels({"de": _model(False), "nl": _model(True, 40)}, _model(False))
    lengths = forced_lengths(models, unit_tokens, summarizer_positions=50)
    assert (lengths.translation, lengths.summary) == (15, 48)


def test_the_baselines_count_decoder_steps() -> None:
    class Tokenizer:
        def batch_decode(self, rows: list[list[int]], skip_special_tokens: bool) -> list[str]:
            return [" ".join(map(str, row)) for row in rows]

    config = SimpleNamespace(eos_token_id=2)
    # forced <s>, a <s> a random model chose, two words, EOS, then batch padding: 5 steps;
    # a row cut at max_length has no EOS: all of it counts
    texts, steps = _decoded(Tokenizer(), [[0, 0, 5, 7, 2, 1, 1], [0, 5, 7]], config)
    assert (texts, steps) == (["0 0 5 7 2", "0 5 7"], [5, 3])


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> BenchModels:
    """The bench's random stand-ins of the default models, built as ``clsum bench`` builds them when
    the real ones are not cached: published vocabulary sizes and special ids, tiny layers (the full
    ones take minutes to build)."""
    with pytest.MonkeyPatch.context() as patch:
        for arch in (bench_models.OPUS_MT.architecture, bench_models.DISTILBART_CNN_12_6.architecture):
            for key, value in {"d_model": 16, "encoder_ffn_dim": 16, "decoder_ffn_dim": 16}.items():
                patch.setitem(arch, key, value)
            for key in ("encoder_layers", "decoder_layers"):
                patch.setitem(arch, key, 1)
            for key in ("encoder_attention_heads", "decoder_attention_heads"):
                patch.setitem(arch, key, 1)
        patch.setenv(bench_models.CACHE_ENV, str(tmp_path_factory.mktemp("bench-models")))
        models = bench_models.resolve_models(load_config(None, []), ["de"], lambda lang: CORPUS_DE)
    assert [m.random for m in models.all()] == [True, True]
    return models


def test_a_cached_stand_in_is_reused_only_in_the_current_build_format(tmp_path: Path) -> None:
    meta = {"provenance": "random: x", "forced_length": 7, "format": bench_models.BUILD_FORMAT - 1}
    (tmp_path / bench_models.META_FILE).write_text(json.dumps(meta))
    assert bench_models._stand_in("x", tmp_path, bench_models.BUILD_FORMAT) is None  # rebuilt
    # a directory given as the model: used as it is, whatever bench built it
    assert bench_models.resolve(str(tmp_path), list) == BenchModel(
        str(tmp_path), str(tmp_path), "random: x", True, 7
    )
    assert bench_models._stand_in("x", tmp_path / "missing") is None


def test_random_stand_ins_are_laid_out_like_the_legacy_hub_repos(stand_ins: BenchModels) -> None:
    from transformers import AutoConfig, AutoTokenizer

    marian, bart = Path(stand_ins.translation["de"].path), Path(stand_ins.summarization.path)
    legacy = {"config.json", "pytorch_model.bin", "tokenizer_config.json", bench_models.META_FILE}
    assert {p.name for p in marian.iterdir()} == legacy | {"source.spm", "target.spm", "vocab.json"}
    assert {p.name for p in bart.iterdir()} == legacy | {"vocab.json", "merges.txt"}
    # the authors' generation settings as config.json keys, as in the 2020-era uploads
    config = json.loads((marian / "config.json").read_text())
    assert (config["num_beams"], config["max_length"], config["bad_words_ids"]) == (4, 512, [[58100]])
    config = json.loads((bart / "config.json").read_text())
    published = {"num_beams": 4, "max_length": 142, "min_length": 56, "length_penalty": 2.0}
    published |= {"no_repeat_ngram_size": 3, "early_stopping": True}
    assert {k: config[k] for k in published} == published
    assert config["force_bos_token_to_be_generated"] is True
    assert config["task_specific_params"] == {"summarization": published}
    assert config["pad_token_id"] == 1  # a class default, which save_pretrained would leave out
    # opus-mt's tokenizer config has no input limit, distilbart's has 1024
    assert "model_max_length" not in json.loads((marian / "tokenizer_config.json").read_text())
    assert json.loads((bart / "tokenizer_config.json").read_text()) == {"model_max_length": 1024}
    published = (bench_models.OPUS_MT.architecture, bench_models.DISTILBART_CNN_12_6.architecture)
    for folder, arch in zip((marian, bart), published, strict=True):
        loaded = AutoConfig.from_pretrained(folder)
        ids = ("pad_token_id", "eos_token_id", "decoder_start_token_id")
        assert [getattr(loaded, k) for k in ids] == [arch[k] for k in ids]
        # CTranslate2 needs as many vocabulary entries as embedding rows
        assert len(AutoTokenizer.from_pretrained(folder)) == loaded.vocab_size == arch["vocab_size"]


@pytest.mark.slow
def test_baselines_decode_stand_ins_with_the_settings_clsum_gets(
    stand_ins: BenchModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path / "ct2"))
    lengths = Lengths(translation=7, summary=9)
    overrides = [*stand_ins.overrides(), *lengths.overrides(), "device=cpu", "backend=ctranslate2"]
    config = load_config(None, overrides)
    bench = decoding(config, stand_ins)
    pipeline = Pipeline(config)
    clsum = {"de": pipeline.models.translator("de"), "summarizer": pipeline.models.summarizer()}
    baseline = {"de": bench.translation["de"], "summarizer": bench.summarization}
    for role, settings in baseline.items():
        assert settings.table() == clsum[role].settings.table(), role
    # the authors' settings, read from config.json, with the forced lengths on top
    assert baseline["de"].source == baseline["summarizer"].source == LEGACY_CONFIG
    translation = {"num_beams": 4, "bad_words_ids": [[58100]], "min_length": 8, "max_length": 8}
    assert {k: baseline["de"].values()[k] for k in translation} == translation
    summary = {"num_beams": 4, "length_penalty": 2.0, "no_repeat_ngram_size": 3, "forced_bos_token_id": 0}
    summary |= {"min_length": 10, "max_length": 10}
    assert {k: baseline["summarizer"].values()[k] for k in summary} == summary
    assert baseline["summarizer"].origins["num_beams"] == "task_specific_params.summarization"
    # ctranslate2-plain maps them to CTranslate2 options exactly as clsum's engine does
    texts = {"de": CORPUS_DE[:3], "summarizer": [" ".join(CORPUS_DE[3:6])]}
    dirs = {"de": stand_ins.translation["de"].path, "summarizer": stand_ins.summarization.path}
    for role, model_dir in dirs.items():
        settings = baseline[role]
        plain = PlainCT2(model_dir, ct2_model_dir(model_dir, "int8"), threads=1)
        assert plain.options(settings) == clsum[role].engine.options(settings.config)
        # and both baselines generate exactly the forced lengths (forced BOS and EOS included)
        steps = settings.config.max_length - 1
        for system in (NaiveHF(model_dir), plain):
            assert system.generate(texts[role], settings)[1] == [steps] * len(texts[role]), (role, system)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(2):
        sentences = CORPUS_DE[i * 6 : i * 6 + 6]
        (docs / f"artikel{i}.txt").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    return docs


@pytest.mark.slow
@pytest.mark.integration
def test_bench_end_to_end(
    folder: Path, tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path / "ct2"))
    out = tmp_path / "bench.json"
    args = ["bench", str(folder), "--langs", "de", "--threads", "1", "--force-lengths", "--json", str(out)]
    for item in tiny_overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert LAST_LINE.match(result.output.strip().splitlines()[-1])

    report = json.loads(out.read_text())
    assert list(report["systems"]) == ["naive", "ctranslate2-plain", "clsum"]
    assert report["inputs"]["documents"] == 2
    assert report["forced_lengths"] is True
    for name, system in report["systems"].items():
        assert system["articles_per_min"] > 0, name
        assert system["peak_rss_mb"] > 0, name
        assert len(system["outputs"]) == 2
    settings = report["settings"]["translation"]["de"]
    assert settings["min_length"] == settings["max_length"]
    naive, ct2 = report["systems"]["naive"], report["systems"]["ctranslate2-plain"]
    # forced lengths: both baselines generate the same number of tokens per output
    assert naive["mean_translation_tokens"] == pytest.approx(ct2["mean_translation_tokens"], abs=1)
    assert naive["mean_summary_tokens"] == pytest.approx(ct2["mean_summary_tokens"], abs=1)
    assert report["systems"]["clsum"]["chrf_vs_naive"]["translation"] is not None
    assert report["flops_per_article"] > 0
    assert report["matmul_peak"]["fp32_gflops"] > 0
    assert report["summary_line"] == result.output.strip().splitlines()[-1]
    # beside the speed ratio: outputs that differ from the plain loop's, which decodes the same
    differ = report["systems"]["clsum"]["differing_vs_ctranslate2_plain"]
    assert set(differ) == {"translation", "summary"} and all(0 <= n <= 2 for n in differ.values())
    assert report["systems"]["ctranslate2-plain"]["differing_vs_ctranslate2_plain"] is None


@pytest.mark.slow
@pytest.mark.integration
def test_bench_invariance_compares_every_variant_with_the_first(
    folder: Path, tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    variants = [("one", "clsum", ["threads=1"]), ("batches of one", "clsum", ["translation.batch_size=1"])]
    monkeypatch.setattr("clsum.bench.run.VARIANTS", variants)
    out = tmp_path / "bench.json"
    args = ["bench", str(folder), "--langs", "de", "--threads", "1", "--invariance", "--json", str(out)]
    result = CliRunner().invoke(main, args + set_args(*tiny_overrides), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "differing from the first variant (one), token for token" in result.output
    report = json.loads(out.read_text())
    assert (report["reference"], report["documents"], list(report["outputs"])) == (
        "one",
        2,
        ["one", "batches of one"],
    )
    assert report["differing"]["one"] == {"translation": 0, "summary": 0}  # the reference against itself
    assert all(set(d) == {"id", "translation", "summary"} for d in report["outputs"]["batches of one"])
    assert report["inputs"]["documents"] == 2 and report["threads"] == 1  # the context, at the top level


def test_bench_rejects_unknown_system(tiny_overrides: list[str]) -> None:
    args = ["bench", "--systems", "naive,fast"]
    for item in tiny_overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "fast" in result.output


@pytest.mark.slow
@pytest.mark.integration
def test_bench_engine_ray_runs_the_local_and_the_ray_engine_on_the_same_documents(
    folder: Path, tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray", reason="the ray extra (pip install 'clsum[ray]'); CI installs it")
    monkeypatch.setenv("CLSUM_CT2_CACHE", str(tmp_path / "ct2"))
    out = tmp_path / "bench.json"
    args = ["bench", str(folder), "--langs", "de", "--threads", "1", "--engine", "ray", "--json", str(out)]
    args += ["--systems", "clsum,clsum-ray-1x1", "--set", "doc_batch_size=1"]
    for item in tiny_overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert re.search(r" clsum-ray-1x1_vs_clsum=\d+\.\d\d$", result.output.strip().splitlines()[-1])
    systems = json.loads(out.read_text())["systems"]
    assert list(systems) == ["clsum", "clsum-ray-1x1"]
    assert systems["clsum-ray-1x1"]["outputs"] == systems["clsum"]["outputs"]  # same documents, same rows
    assert systems["clsum-ray-1x1"]["peak_rss_mb"] > systems["clsum"]["peak_rss_mb"]  # the whole Ray instance


@pytest.mark.parametrize("case", ["missing folder", "held by another bench"])
def test_a_bench_that_cannot_have_its_json_fails_before_any_work(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clsum.pipeline.lock import FolderLock

    def no_work(*args: object) -> None:
        raise AssertionError(f"the bench ran although its JSON file is not its own ({case})")

    monkeypatch.setattr("clsum.bench.run.run_bench", no_work)
    if case == "missing folder":
        out = tmp_path / "missing" / "bench.json"
        result = CliRunner().invoke(main, ["bench", "--json", str(out)])
        expected = f"--json {out}: the folder {out.parent} does not exist"
    else:
        out = tmp_path / "bench.json"
        with FolderLock(tmp_path, out.name):  # the first bench, still running
            result = CliRunner().invoke(main, ["bench", "--json", str(out)])
        expected = f"{out} is in use by another clsum run"
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_a_finished_measurement_is_printed_even_when_the_json_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = InvarianceReport("a", 6, {"a": Differing(0, 0)}, {"a": []})
    monkeypatch.setattr("clsum.bench.run.run_bench", lambda options: report)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--invariance", "--json", str(out)])
    assert result.exit_code != 0
    assert "differing from the first variant (a)" in result.output  # the table came first
    assert f"cannot write {out}: No space left on device" in result.output
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))  # no half-written file left


def test_the_timed_run_starts_with_an_empty_translation_cache(tiny_overrides: list[str]) -> None:
    from clsum.bench.local import forget_warm_up
    from clsum.record import Record

    pipe = Pipeline(load_config(None, tiny_overrides))
    text = " ".join(CORPUS_DE[:4])
    cache = pipe.translation_cache
    pipe.process([Record(id="warm-up", raw=text, lang_hint="de")])
    misses = cache.misses
    forget_warm_up(pipe)
    (record,) = pipe.process([Record(id="timed", raw=text, lang_hint="de")])
    assert record.ok and cache.misses - misses == len(cache) > 0  # every sentence translated again


def test_what_the_stages_hold_cannot_be_replaced_on_a_pipeline(tiny_overrides: list[str]) -> None:
    from clsum.pipeline.tcache import TranslationCache

    pipe = Pipeline(load_config(None, tiny_overrides))
    for name, value in (("translation_cache", TranslationCache(0)), ("models", None), ("config", None)):
        with pytest.raises(AttributeError, match=f"Pipeline.{name} is bound by its stages"):
            setattr(pipe, name, value)
