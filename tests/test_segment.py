from __future__ import annotations

import pytest

from clsum.pipeline.segment import split_sentences, split_to_fit


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        (
            "nl",
            "Het kost 3 mln. euro. Dhr. Jansen is blij.",
            ["Het kost 3 mln. euro.", "Dhr. Jansen is blij."],
        ),
        (
            "nl",
            "Dat zei dhr. De Vries gisteren. Hij lachte.",
            ["Dat zei dhr. De Vries gisteren.", "Hij lachte."],
        ),
        (
            "de",
            "Das kostet ca. 5 Mio. Euro. Prof. Müller widerspricht.",
            ["Das kostet ca. 5 Mio. Euro.", "Prof. Müller widerspricht."],
        ),
        (
            "de",
            "Am 3. Oktober ist Feiertag. Alle haben frei.",
            ["Am 3. Oktober ist Feiertag.", "Alle haben frei."],
        ),
        ("en", "Mr. Smith went home. He slept.", ["Mr. Smith went home.", "He slept."]),
    ],
)
def test_split_sentences_knows_news_abbreviations(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_split_to_fit_prefers_punctuation_and_never_drops_text() -> None:
    text = "one two three; four five six, seven eight nine ten eleven twelve"
    pieces = split_to_fit(text, words, 4)
    assert all(n <= 4 for n in words(pieces))
    assert " ".join(pieces).split() == text.split()
    assert pieces[0] == "one two three;"


def test_split_to_fit_splits_one_huge_word_by_characters() -> None:
    pieces = split_to_fit("x" * 100, lambda ts: [len(t) // 10 for t in ts], 2)
    assert "".join(pieces) == "x" * 100 and all(len(p) < 30 for p in pieces)


def test_text_that_fits_is_returned_unchanged() -> None:
    assert split_to_fit("a b c", words, 3) == ["a b c"]
