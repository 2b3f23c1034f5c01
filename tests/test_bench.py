"""``clsum bench`` end to end on tiny models, plus the arithmetic it reports (no timing assertions)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from clsum.bench import models as bench_models
from clsum.bench.baselines import GenSettings, generated_tokens
from clsum.bench.inputs import Doc
from clsum.bench.measure import Arch, generation_flops
from clsum.bench.models import BenchModel, BenchModels, forced_translation_length
from clsum.bench.settings import clsum_overrides, forced_lengths
from clsum.cli import main
from tests.tinymodels import CORPUS_DE

LAST_LINE = re.compile(
    r"^speedup_vs_naive=\d+\.\d\d speedup_vs_ctranslate2=\d+\.\d\d articles_per_min=\d+\.\d$"
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


def test_forced_lengths_one_translation_length_when_clsum_needs_a_config_value() -> None:
    docs = [Doc("a", "de", "raw", None, [["x"]], unit_tokens=[10, 10]), Doc("b", "nl", "", None, [], [20])]
    # random stand-ins only: each keeps its own length (its generation_config forces it in clsum too)
    models = BenchModels({"de": _model(True, 30), "nl": _model(True, 40)}, _model(True, 64))
    lengths = forced_lengths(models, docs, summarizer_positions=1024)
    assert (lengths.translation, lengths.summary) == ({"de": 30, "nl": 40}, 64)
    assert clsum_overrides(models, lengths) == []
    # one real translator: clsum gets one config value, so every language gets the same length
    models = BenchModels({"de": _model(False), "nl": _model(True, 40)}, _model(False))
    lengths = forced_lengths(models, docs, summarizer_positions=50)
    assert (lengths.translation, lengths.summary) == ({"de": 15, "nl": 15}, 48)
    assert clsum_overrides(models, lengths) == [
        "translation.min_length=16",
        "translation.max_length=16",
        "summarization.min_length=49",
        "summarization.max_length=49",
    ]


def test_ct2_lengths_count_generated_tokens_only() -> None:
    settings = GenSettings(num_beams=4, max_length=21, min_length=21, no_repeat_ngram_size=3)
    assert settings.ct2() == {
        "beam_size": 4,
        "max_decoding_length": 20,
        "min_decoding_length": 20,
        "length_penalty": 1.0,
        "no_repeat_ngram_size": 3,
    }


def test_generated_tokens_are_decoder_steps() -> None:
    # forced <s>, a <s> a random model chose, two words, EOS, then batch padding: 5 steps
    assert generated_tokens([0, 0, 5, 7, 2, 1, 1], {2}) == 5
    assert generated_tokens([0, 5, 7], {2}) == 3  # cut at max_length, no EOS


def test_random_stand_ins_are_laid_out_like_the_hub_repos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    # published vocabulary sizes and special ids, tiny layers (the full ones take minutes to build)
    for arch in (bench_models.OPUS_MT, bench_models.DISTILBART_CNN_12_6):
        for key, value in {"d_model": 16, "encoder_ffn_dim": 16, "decoder_ffn_dim": 16}.items():
            monkeypatch.setitem(arch, key, value)
        for key in ("encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads"):
            monkeypatch.setitem(arch, key, 1)
    length = bench_models.build_random_marian(tmp_path / "marian", "de", CORPUS_DE)
    bench_models.build_random_bart(tmp_path / "bart", CORPUS_DE)
    common = {"config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json"}
    files = {name: {p.name for p in (tmp_path / name).iterdir()} for name in ("marian", "bart")}
    assert files["marian"] == common | {"source.spm", "target.spm", "vocab.json"}
    assert files["bart"] == common | {"vocab.json", "merges.txt"}
    for name, arch in (("marian", bench_models.OPUS_MT), ("bart", bench_models.DISTILBART_CNN_12_6)):
        config = AutoConfig.from_pretrained(tmp_path / name)
        ids = ("pad_token_id", "eos_token_id", "decoder_start_token_id")
        assert [getattr(config, k) for k in ids] == [arch[k] for k in ids]
        # CTranslate2 needs as many vocabulary entries as embedding rows
        assert len(AutoTokenizer.from_pretrained(tmp_path / name)) == config.vocab_size == arch["vocab_size"]
    generation = GenerationConfig.from_pretrained(tmp_path / "marian")
    assert generation.min_length == generation.max_length == length + 1


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(2):
        sentences = CORPUS_DE[i * 6 : i * 6 + 6]
        (docs / f"artikel{i}.txt").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    return docs


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


def test_bench_rejects_unknown_system(tiny_overrides: list[str]) -> None:
    args = ["bench", "--systems", "naive,fast"]
    for item in tiny_overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "fast" in result.output
