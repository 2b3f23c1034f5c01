"""ROUGE: hand-checkable cases, the Unicode tokenizer, and golden pins against rouge_score on CNN/DM."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from clsum.errors import ClsumError
from clsum.eval import rouge


def test_one_word_overlap_has_exact_precision_recall_f() -> None:
    r = rouge.rouge(["the cat"], ["the dog sat"], ("rouge1",), stem=False)["rouge1"]
    assert r.precision == [pytest.approx(1 / 2)]
    assert r.recall == [pytest.approx(1 / 3)]
    assert r.fmeasure == [pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))]


def test_identical_texts_score_one_and_empty_hypothesis_zero() -> None:
    same = rouge.rouge(["A cat sat. It purred."], ["A cat sat. It purred."])
    assert all(r.fmeasure == [pytest.approx(1.0)] for r in same.values())
    empty = rouge.rouge([""], ["A cat sat."])
    assert all(r.fmeasure == [0.0] for r in empty.values())


@pytest.mark.parametrize("stem", [True, False])
def test_unicode_tokenizer_keeps_non_ascii_letters(stem: bool) -> None:
    tokens = rouge.UnicodeTokenizer(stem).tokenize("Müller, Straße: café IJssel ĳs")
    assert tokens == ["müller", "straße", "café", "ijssel", "ĳs"]


def test_unicode_tokenizer_normalizes_and_stems() -> None:
    assert rouge.UnicodeTokenizer(False).tokenize("cafe\u0301") == ["café"]
    assert rouge.UnicodeTokenizer(True).tokenize("running dogs") == ["run", "dog"]


def test_mueller_is_a_word_in_unicode_mode_only() -> None:
    uni = rouge.rouge(["Müller"], ["Müller"], ("rouge1",), tokenizer="unicode")["rouge1"]
    compat = rouge.rouge(["Müller"], ["Mahler"], ("rouge1",), tokenizer="rouge-score")["rouge1"]
    assert uni.fmeasure == [pytest.approx(1.0)]
    # rouge_score turns "Müller" into "m ller" and "Mahler" into "mahler": nothing in common...
    assert compat.fmeasure == [0.0]
    # ...and "Müller" vs "Möller" match fully in compat mode ("m ller" both), but not in unicode mode.
    assert rouge.rouge(["Müller"], ["Möller"], ("rouge1",), tokenizer="rouge-score")["rouge1"].fmeasure == [
        1.0
    ]
    assert rouge.rouge(["Müller"], ["Möller"], ("rouge1",))["rouge1"].fmeasure == [0.0]


def test_lsum_split_modes() -> None:
    assert rouge.split_for_lsum("One. Two.\nThree.", "auto") == "One. Two.\nThree."
    assert rouge.split_for_lsum("Mr. Smith came. He left.", "auto") == "Mr. Smith came.\nHe left."
    assert rouge.split_for_lsum("One. Two.\nThree.", "sentences") == "One.\nTwo.\nThree."
    assert rouge.split_for_lsum("One. Two.", "newline") == "One. Two."


def test_unknown_options_are_config_errors() -> None:
    with pytest.raises(ClsumError, match="tokenizer"):
        rouge.rouge(["a"], ["a"], tokenizer="nltk")
    with pytest.raises(ClsumError, match="split"):
        rouge.rouge(["a"], ["a"], lsum_split="commas")


def test_compat_mode_equals_rouge_score_on_cnndm(frank250: tuple[list[str], list[str]]) -> None:
    hyps, refs = frank250
    ours = rouge.rouge(hyps, refs, tokenizer="rouge-score", stem=True)
    scorer = rouge_scorer.RougeScorer(list(rouge.ROUGE_METRICS), use_stemmer=True)
    for i, (h, r) in enumerate(zip(hyps, refs, strict=True)):
        # Both sides get the same newline-split text (rouge_score's rougeLsum splits on "\n").
        expected = scorer.score(rouge.split_for_lsum(r), rouge.split_for_lsum(h))
        for name in rouge.ROUGE_METRICS:
            assert ours[name].fmeasure[i] == pytest.approx(expected[name].fmeasure, abs=1e-9)
            assert ours[name].precision[i] == pytest.approx(expected[name].precision, abs=1e-9)
    # Without newline-split input rougeLsum would equal rougeL; sentence splitting must change it.
    assert ours["rougeLsum"].fmeasure != ours["rougeL"].fmeasure
    plain = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    assert ours["rouge1"].fmeasure[0] == pytest.approx(
        plain.score(refs[0], hyps[0])["rouge1"].fmeasure, abs=1e-9
    )
