"""ROUGE: hand-checkable cases, the Unicode tokenizer, and golden pins against rouge_score on CNN/DM."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from clsum.errors import ClsumError
from clsum.eval import rouge
from clsum.eval.metrics import score
from clsum.eval.options import ScoreOptions


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
    assert rouge.split_for_lsum("One. Two.\nThree.", "auto") == ("One. Two.\nThree.", "newline")
    assert rouge.split_for_lsum("Mr. Smith came. He left.", "auto") == ("Mr. Smith came.\nHe left.", "pysbd")
    assert rouge.split_for_lsum("One. Two.\nThree.", "sentences") == ("One.\nTwo.\nThree.", "pysbd")
    assert rouge.split_for_lsum("One. Two.", "newline") == ("One. Two.", "newline")
    assert rouge.split_for_lsum("One . Two .", "ptb") == ("One .\nTwo .", "ptb")


def test_ptb_tokenized_text_is_split_after_each_final_mark_with_its_closing_quotes() -> None:
    # CNN/DM style: pysbd leaves the ` ... ' quote and the "!" run together; PTB marks do not.
    text = "Copeland 's wife shouted : ` We were stabbed . We are scared ! ' Two players were held . Why ?"
    split, splitter = rouge.split_for_lsum(text)
    assert splitter == "ptb"
    assert split.split("\n") == [
        "Copeland 's wife shouted : ` We were stabbed .",
        "We are scared ! '",
        "Two players were held .",
        "Why ?",
    ]


@pytest.mark.parametrize(
    "prose",
    [
        "Herr Dr. Müller kam nach Berlin. Er blieb zwei Tage. Wirklich?",
        "De heer J. de Vries kwam naar Utrecht. Hij bleef twee dagen!",
        "Dr. Smith arrived at 5 p.m. on Monday. He left at 6.30 a.m.",
    ],
)
def test_untokenized_prose_is_left_to_the_sentence_splitter(prose: str) -> None:
    split, splitter = rouge.split_for_lsum(prose)
    assert splitter == "pysbd"
    assert len(split.split("\n")) == 2 + prose.endswith("?")


def test_signature_counts_which_splitter_split_each_side() -> None:
    result = rouge.rouge(["One .\nTwo .", "Three . Four ."], ["A . B .", "C. D."], ("rougeLsum",))
    assert result["rougeLsum"].splits == {"hyp": {"newline": 1, "ptb": 1}, "ref": {"ptb": 1, "pysbd": 1}}
    fields = rouge.signature_fields("rougeLsum", result["rougeLsum"], "unicode", True, "auto")
    assert "split:auto[hyp:newline=1+ptb=1,ref:ptb=1+pysbd=1]" in fields


def test_unknown_options_are_config_errors() -> None:
    # One check of the options (eval.options.validate), before ROUGE is computed.
    with pytest.raises(ClsumError, match="tokenizer"):
        score(["a"], ["a"], ["rouge1"], ScoreOptions(rouge_tokenizer="nltk"))
    with pytest.raises(ClsumError, match="split"):
        score(["a"], ["a"], ["rougeLsum"], ScoreOptions(lsum_split="commas"))


@pytest.mark.slow
def test_compat_mode_equals_rouge_score_on_cnndm(frank250: tuple[list[str], list[str]]) -> None:
    hyps, refs = frank250
    ours = rouge.rouge(hyps, refs, tokenizer="rouge-score", stem=True)
    scorer = rouge_scorer.RougeScorer(list(rouge.ROUGE_METRICS), use_stemmer=True)
    for i, (h, r) in enumerate(zip(hyps, refs, strict=True)):
        # Both sides get the same newline-split text (rouge_score's rougeLsum splits on "\n").
        expected = scorer.score(rouge.split_for_lsum(r)[0], rouge.split_for_lsum(h)[0])
        for name in rouge.ROUGE_METRICS:
            assert ours[name].fmeasure[i] == pytest.approx(expected[name].fmeasure, abs=1e-9)
            assert ours[name].precision[i] == pytest.approx(expected[name].precision, abs=1e-9)
    # Without newline-split input rougeLsum would equal rougeL; sentence splitting must change it.
    assert ours["rougeLsum"].fmeasure != ours["rougeL"].fmeasure
    plain = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    assert ours["rouge1"].fmeasure[0] == pytest.approx(
        plain.score(refs[0], hyps[0])["rouge1"].fmeasure, abs=1e-9
    )


# ROUGE-Lsum of the 250 FRANK articles computed with rouge_score itself (its tokenizer, Porter stemming)
# on text split the published way: a newline after each PTB " . " token (lead-3 keeps its own lines).
PUBLISHED_WAY = {"bart": 42.2880, "lead-3": 37.2466}


def _published_way(text: str) -> str:
    return text.replace(" . ", " .\n")


@pytest.mark.slow
def test_default_lsum_reproduces_the_published_way_on_cnndm(
    frank250: tuple[list[str], list[str]], frank250_lead3: list[str]
) -> None:
    bart, refs = frank250
    scorer = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    for name, hyps in (("bart", bart), ("lead-3", frank250_lead3)):
        direct = [
            scorer.score(_published_way(r), _published_way(h))["rougeLsum"].fmeasure
            for h, r in zip(hyps, refs, strict=True)
        ]
        assert 100 * sum(direct) / len(direct) == pytest.approx(PUBLISHED_WAY[name], abs=1e-3), name
        for tokenizer in ("rouge-score", "unicode"):  # the compat tokenizer, and the default
            ours = rouge.rouge(hyps, refs, ("rougeLsum",), tokenizer=tokenizer)["rougeLsum"].fmeasure
            assert 100 * sum(ours) / len(ours) == pytest.approx(PUBLISHED_WAY[name], abs=0.05), (
                name,
                tokenizer,
            )


@pytest.mark.parametrize("tokenizer", ["unicode", "rouge-score"])
def test_rouge_l_by_rapidfuzz_is_rouge_scores_own(tokenizer: str) -> None:
    """ROUGE-L's LCS comes from rapidfuzz (no quadratic table): the same score as rouge_score's table."""
    import numpy as np

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "running", "runs"]
    hyp, ref = (" ".join(rng.choice(words, size=300)) for _ in range(2))
    custom = rouge.UnicodeTokenizer(True) if tokenizer == "unicode" else None
    table = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True, tokenizer=custom)
    expected = table.score(ref, hyp)
    fast = rouge.rouge([hyp, ""], [ref, ref], ("rouge1", "rougeL"), tokenizer=tokenizer)
    for name in ("rouge1", "rougeL"):
        assert fast[name].fmeasure == [pytest.approx(expected[name].fmeasure, abs=1e-12), 0.0]
        assert fast[name].precision[0] == pytest.approx(expected[name].precision, abs=1e-12)
        assert fast[name].recall[0] == pytest.approx(expected[name].recall, abs=1e-12)


def test_an_8000_word_pair_is_bounded_and_rouge_lsum_says_it_was_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from clsum.eval.metrics import score
    from clsum.eval.options import ScoreOptions

    words = [f"w{i % 997}" for i in range(8000)]
    hyp, ref = " ".join(words), " ".join(reversed(words))
    with caplog.at_level("WARNING"):
        result = score([hyp], [ref], ["rougeL", "rougeLsum"], ScoreOptions(bootstrap=0, lsum_split="newline"))
    assert result["rougeL"].score is not None and 0 < result["rougeL"].score < 100
    assert f"|cap:1x{rouge.LSUM_CAP_WORDS}w|" in result["rougeLsum"].signature
    assert "|cap:" not in result["rougeL"].signature
    assert "ROUGE-Lsum: 1 of 1 pairs are longer than 1000 x 1000 words" in caplog.text
