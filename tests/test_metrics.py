"""eval.metrics: golden pins against sacrebleu on CNN/DM, hand-checkable scores, signatures, CIs."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sacrebleu

from clsum.errors import ConfigError, InputError
from clsum.eval import metrics
from clsum.eval.metrics import CHEAP_METRICS, DEFAULT_METRICS, ScoreOptions, compare, resolve_metrics, score
from clsum.eval.options import TEST_SIGNATURES
from clsum.eval.scores import jsonable

HYPS = ["the cat sat on the mat", "Müller ist heute in Köln", "a quick brown fox"]
REFS = ["the cat sat on a mat", "Müller war gestern in Köln", "the quick brown dog"]
FAST = ScoreOptions(bootstrap=200)


def test_bleu_and_chrf_equal_sacrebleu_on_cnndm(frank250: tuple[list[str], list[str]]) -> None:
    hyps, refs = frank250
    ours = score(hyps, refs, ["bleu", "chrf"], ScoreOptions(bootstrap=0))
    assert ours["bleu"].score == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    assert ours["chrf"].score == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    plus = score(hyps, refs, ["chrf"], ScoreOptions(bootstrap=0, chrf_word_order=2))["chrf"]
    assert plus.score == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score, abs=1e-9)
    assert ours["bleu"].per_segment is not None
    assert ours["bleu"].per_segment[3] == pytest.approx(sacrebleu.sentence_bleu(hyps[3], [refs[3]]).score)


@pytest.mark.slow
def test_ter_equals_sacrebleu_on_cnndm(frank250: tuple[list[str], list[str]]) -> None:
    # sacrebleu's TER is pure Python (~0.4 s per 50-word summary), so pin it on the first 8 articles.
    hyps, refs = (x[:8] for x in frank250)
    ours = score(hyps, refs, ["ter"], ScoreOptions(bootstrap=0))["ter"]
    assert ours.score == pytest.approx(sacrebleu.corpus_ter(hyps, [refs]).score, abs=1e-9)
    assert ours.per_segment is not None
    assert ours.per_segment[1] == pytest.approx(sacrebleu.sentence_ter(hyps[1], [refs[1]]).score)


def test_identical_texts_score_100_and_ter_0() -> None:
    result = score(REFS, REFS, CHEAP_METRICS, options=FAST)
    for name in CHEAP_METRICS:
        expected = 0.0 if name == "ter" else 100.0
        assert result[name].score == pytest.approx(expected), name


def test_empty_hypotheses_score_0_without_crashing() -> None:
    result = score(["", ""], REFS[:2], CHEAP_METRICS, options=FAST)
    for name in ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf"):
        assert result[name].score == 0.0, name
    assert result["ter"].score == pytest.approx(100.0)


def test_rouge_keeps_precision_and_recall() -> None:
    result = score(["the cat"], ["the dog sat"], ["rouge1"], ScoreOptions(stem=False, bootstrap=0))["rouge1"]
    assert result.details["precision"] == pytest.approx(50.0)
    assert result.details["recall"] == pytest.approx(100 / 3)
    assert result.score == pytest.approx(40.0)
    assert result.per_segment == [pytest.approx(40.0)]
    assert result.ci is None


def test_signature_changes_with_every_setting() -> None:
    base = score(HYPS, REFS, options=FAST)
    changes: dict[str, Any] = {
        "rouge_tokenizer": "rouge-score",
        "stem": False,
        "lsum_split": "sentences",
        "chrf_word_order": 2,
        "bleu_tokenize": "intl",
        "bootstrap": 100,
        "seed": 7,
    }
    affects = {
        "rouge_tokenizer": ["rouge1", "rouge2", "rougeL", "rougeLsum"],
        "stem": ["rouge1", "rouge2", "rougeL", "rougeLsum"],
        "lsum_split": ["rougeLsum"],
        "chrf_word_order": ["chrf"],
        "bleu_tokenize": ["bleu"],
        "bootstrap": list(DEFAULT_METRICS),
        "seed": list(DEFAULT_METRICS),
    }
    for option, value in changes.items():
        changed = score(HYPS, REFS, options=dataclasses.replace(FAST, **{option: value}))
        for name in affects[option]:
            assert changed[name].signature != base[name].signature, (option, name)
    lsum = "rougeLsum|tok:unicode|stem:yes|split:auto[hyp:pysbd=3,ref:pysbd=3]|"
    assert base["rougeLsum"].signature.startswith(lsum)
    bleu = sacrebleu.BLEU()
    bleu.corpus_score(HYPS, [REFS])
    assert base["bleu"].signature.startswith(f"bleu|{bleu.get_signature()}|")  # sacrebleu's, verbatim
    assert base["bleu"].signature.endswith("|n:3|bs:200|seed:12345|version:clsum-0.1.0")


def test_seeded_ci_is_reproducible_and_seed_dependent() -> None:
    first = score(HYPS, REFS, options=FAST)
    again = score(HYPS, REFS, options=FAST)
    other = score(HYPS, REFS, options=dataclasses.replace(FAST, seed=99))
    assert all(first[m].ci == again[m].ci for m in DEFAULT_METRICS)
    assert any(first[m].ci != other[m].ci for m in DEFAULT_METRICS)
    for m in DEFAULT_METRICS:
        low, high = first[m].ci or (None, None)
        assert low is not None and high is not None and low <= high


def test_to_dict_shape() -> None:
    result = jsonable(score(HYPS, REFS, ["rouge1"], FAST)["rouge1"])
    assert set(result) == {"score", "signature", "ci"}
    assert isinstance(result["score"], float) and len(result["ci"]) == 2


def test_resolve_metrics() -> None:
    # TER (pure-Python sacrebleu) and the model-based metrics only on request.
    assert resolve_metrics(None) == ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf"]
    assert resolve_metrics(["rouge1,bleu", "chrf", "bleu"]) == ["rouge1", "bleu", "chrf"]
    with pytest.raises(ConfigError, match="did you mean 'rougeL'"):
        resolve_metrics(["rougel"])
    with pytest.raises(ConfigError, match="available: rouge1"):
        resolve_metrics(["meteor"])


def test_bad_inputs_and_options_are_errors() -> None:
    with pytest.raises(InputError, match="2 hypotheses but 3 references"):
        score(HYPS[:2], REFS)
    with pytest.raises(InputError, match="no segments"):
        score([], [])
    with pytest.raises(ConfigError, match="BLEU tokenizer"):
        score(HYPS, REFS, ["bleu"], ScoreOptions(bleu_tokenize="nope"))


def test_optional_metric_skipped_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_installed", lambda module: False)
    result = score(HYPS, REFS, ["bertscore", "comet", "rouge1"], FAST)
    assert result["bertscore"].score is None and result["bertscore"].ci is None
    assert result["bertscore"].skipped == "bert_score is not installed (pip install bert-score)"
    # COMET is skipped whatever is installed: no install or download would make it score
    assert result["comet"].skipped == "COMET needs the source texts, which clsum does not pass it"
    assert jsonable(result["bertscore"])["skipped"] == result["bertscore"].skipped
    assert result["rouge1"].score is not None


def test_optional_metric_skipped_when_weights_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_installed", lambda module: True)
    monkeypatch.setattr(metrics, "_cached_folder", lambda repo, filename: None)
    results = score(HYPS, REFS, ["bertscore", "comet"], FAST)
    assert results["bertscore"].score is None
    assert results["bertscore"].skipped == "weights for roberta-large not in the HF cache"
    assert results["comet"].skipped == "COMET needs the source texts, which clsum does not pass it"


def test_bertscore_reads_the_cache_folder_and_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No download and no process-wide HF_HUB_OFFLINE: bert_score is handed the cached snapshot folder."""
    import sys
    import types

    calls: list[dict[str, Any]] = []

    def fake_score(hyps: list[str], refs: list[str], **kwargs: Any) -> tuple[Any, Any, Any]:
        calls.append(kwargs)
        f1 = np.full(len(hyps), 0.5)
        return f1, f1, f1

    utils = types.SimpleNamespace(model2layers={"roberta-large": 17})
    monkeypatch.setitem(sys.modules, "bert_score", types.SimpleNamespace(score=fake_score, utils=utils))
    monkeypatch.setitem(sys.modules, "bert_score.utils", utils)
    monkeypatch.setattr(metrics, "_installed", lambda module: True)
    snapshot = Path("/hf/hub/models--roberta-large/snapshots/abc")
    monkeypatch.setattr(metrics, "_cached_folder", lambda repo, filename: snapshot)
    monkeypatch.setattr(metrics, "metadata", types.SimpleNamespace(version=lambda package: "0.3.13"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    result = score(HYPS, REFS, ["bertscore"], FAST)["bertscore"]
    assert calls == [{"model_type": str(snapshot), "num_layers": 17, "lang": "en", "verbose": False}]
    assert result.score == pytest.approx(50.0)
    assert result.signature.startswith("bertscore|model:roberta-large|idf:no|rescale:no|impl:bert_score-0.3")
    assert "HF_HUB_OFFLINE" not in os.environ


def test_compare_finds_the_better_system() -> None:
    refs = [f"sentence number {i} about the cat on the mat" for i in range(30)]
    worse = [f"number {i} dog" for i in range(30)]
    for method in metrics.METHODS:
        result = compare(worse, refs, refs, ["rouge1", "bleu", "chrf"], FAST, method)
        for name, c in result.items():
            assert c.delta > 0 and c.p_value < 0.05, (method, name)
            assert c.differing == 30 and c.n == 30
            if c.ci is not None:  # only the paired bootstrap has an interval consistent with its p
                assert c.test == "paired-bootstrap"
                assert c.ci[0] - 1e-9 <= c.delta <= c.ci[1] + 1e-9
            assert f"|test:{TEST_SIGNATURES[c.test]}|k:30|" in c.signature
    same = compare(refs, refs, refs, ["rouge1"], FAST)["rouge1"]
    assert same.delta == 0.0 and same.p_value == 1.0


@pytest.mark.parametrize(("metric", "word_order"), [("bleu", 0), ("chrf", 0), ("chrf", 2)])
def test_vectorized_corpus_score_equals_sacrebleus_own(metric: str, word_order: int) -> None:
    """Resampling scores many rows at once; each must be sacrebleu's corpus score of that row."""
    from clsum.eval import mt

    rng = np.random.default_rng(4)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "into", "old"]
    refs = [" ".join(rng.choice(words, size=rng.integers(3, 15))) for _ in range(40)]
    hyps = [" ".join(rng.choice(words, size=rng.integers(0, 12))) for _ in range(40)]
    hyps[:3] = ["", "cat", refs[2]]  # empty, one word (no 2-grams), a perfect match
    options = ScoreOptions(chrf_word_order=word_order)
    r = mt.score(metric, hyps, refs, options, [])
    rows = [r.stats[rng.integers(0, 40, size=(200, size))].sum(1) for size in (1, 2, 5, 40)]
    sums = np.concatenate([*rows, r.stats, np.zeros((1, r.stats.shape[1]))])
    sacre = mt.build(metric, options)
    expected = [sacre._compute_score_from_stats(mt._as_stats(metric, row)).score for row in sums]
    assert np.allclose(r.compute(sums), expected, rtol=0, atol=1e-9)
