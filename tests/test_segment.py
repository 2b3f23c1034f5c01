from __future__ import annotations

from pathlib import Path

import pytest

from clsum.pipeline import segment
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


SEED_002 = Path("/work/shared/seeds/002_adaef2065d6d3256.txt")


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("nl", "‘Ik heb veel respect.’ Dat zei Musk.", ["‘Ik heb veel respect.’", "Dat zei Musk."]),
        ("de", 'Er sagte: "Nein."', ['Er sagte: "Nein."']),
        ("de", "»Wir werden dichtgemacht.« Das sagte er.", ["»Wir werden dichtgemacht.«", "Das sagte er."]),
        ("de", "Er sagte „Nein.“ Dann ging er.", ["Er sagte „Nein.“", "Dann ging er."]),
        # An opening guillemet after a space (French style) stays where it is.
        ("fr", "Il a dit. « Bonjour » et puis.", ["Il a dit.", "« Bonjour » et puis."]),
    ],
)
def test_closing_quotes_stay_with_their_sentence(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


@pytest.mark.skipif(not SEED_002.exists(), reason="seed articles not available")
def test_seed_002_has_no_sentence_that_is_only_a_quote() -> None:
    paragraph = SEED_002.read_text(encoding="utf-8").split("\n\n")[4]
    sentences = split_sentences(paragraph, "de")
    assert sentences[-1] == (
        '"Sollte Tesla Autos benutzten, um in China oder anderswo zu spionieren, werden wir dichtgemacht."'
    )
    assert all(any(c.isalnum() for c in s) for s in sentences)


@pytest.mark.slow
def test_a_long_paragraph_goes_to_pysbd_in_blocks_with_the_same_sentences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paragraph = " ".join(f"Der Rat tagte am Montag zum {i}. Mal. Dr. Weber war dabei." for i in range(600))
    whole = [s.strip() for s in segment._segmenter("de").segment(paragraph) if s.strip()]
    seen: list[int] = []
    real = segment._segmenter("de")

    class Recording:
        def segment(self, text: str) -> list[str]:
            seen.append(len(text))
            return real.segment(text)

    monkeypatch.setattr(segment, "_segmenter", lambda lang: Recording())
    assert split_sentences(paragraph, "de") == whole
    assert len(seen) > 1 and max(seen) <= segment.BLOCK_CHARS  # pysbd's time is quadratic in its input
