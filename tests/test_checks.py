"""Reference-free checks: hand-checkable cases for each check, and `clsum check` on a real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.eval import checks
from clsum.eval.checks import aggregate, check
from clsum.eval.entities import candidates, fold
from clsum.eval.numbers import extract_numbers, numeral_values
from clsum.eval.scores import jsonable
from tests.helpers import set_args

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"


def values(text: str, lang: str = "en") -> list[set[float]]:
    return [set(m.values) for m in extract_numbers(text, lang)]


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numeral", "expected"),
    [
        ("147.445", {147445.0, 147.445}),  # de/nl thousands or en decimal: both readings kept
        ("147,445", {147445.0, 147.445}),
        ("1.234.567", {1234567.0}),
        ("1,234,567", {1234567.0}),
        ("1,5", {1.5}),
        ("1.5", {1.5}),
        ("1.234,5", {1234.5}),
        ("1,234.5", {1234.5}),
        ("2021", {2021.0}),
    ],
)
def test_numeral_values(numeral: str, expected: set[float]) -> None:
    assert numeral_values(numeral) == expected


@pytest.mark.parametrize(
    ("source", "lang", "summary"),
    [
        ("Es kamen 147.445 Besucher.", "de", "There were 147,445 visitors."),
        ("Er kwamen 147 445 bezoekers.", "nl", "There were 147,445 visitors."),
        ("Es kostet 1,5 Millionen Euro.", "de", "It costs 1.5 million euros."),
        ("Het kost 1,5 miljoen euro.", "nl", "It costs 1,500,000 euros."),
        ("Es kostet 2 Mrd. Euro.", "de", "It costs two billion euros."),
        ("Die Preise stiegen um 30 Prozent.", "de", "Prices rose 30%."),
        ("De prijzen stegen met 30 procent.", "nl", "Prices rose by 30 percent."),
        ("Es kamen zwei Minister.", "de", "Two ministers came."),
        ("Er kwamen twee ministers.", "nl", "2 ministers came."),
        ("Es kamen zweiundzwanzig Kinder.", "de", "22 children came."),
        ("Es geschah am 3.10.2021.", "de", "It happened on October 3, 2021."),
        ("Het gebeurde op 3.10.2021.", "nl", "It happened on 2021-10-03."),
    ],
)
def test_numbers_in_other_formats_are_supported(source: str, lang: str, summary: str) -> None:
    assert check(source, summary, source_lang=lang).unsupported_numbers == []


@pytest.mark.parametrize(
    ("source", "lang", "summary", "unsupported"),
    [
        ("Um 19.30 Uhr am 3.10. begann es.", "de", "It began at 7.30pm on October 3.", []),
        ("Om 9:30 uur begon het.", "nl", "It began at 9.30am.", []),
        ("Es geschah am 3.10.2021.", "de", "It happened on 2021-10-05.", ["2021-10-05"]),
        ("Um 19.30 Uhr begann es.", "de", "It began at 19:45.", ["19:45"]),
    ],
)
def test_dates_and_times_need_every_part(
    source: str, lang: str, summary: str, unsupported: list[str]
) -> None:
    assert check(source, summary, source_lang=lang).unsupported_numbers == unsupported


def test_number_missing_from_source_is_flagged_as_written() -> None:
    source = "Es kamen 147.445 Besucher und 30 Prozent mehr."
    result = check(source, "There were 150,000 visitors, 40% more.", "de")
    assert result.unsupported_numbers == ["150,000", "40%"]
    assert any(f.startswith("unsupported_numbers:") for f in result.flags)


def test_numbers_in_translation_count_as_support() -> None:
    # the source spells it out in a way text2num does not read; the translation has the digits
    result = check("Ein Dutzend Gäste.", "12 guests came.", "de", translation="12 guests came.")
    assert result.unsupported_numbers == []


def test_articles_are_not_numbers_but_two_is() -> None:
    assert values("a house and one of them", "en") == []
    assert values("ein Haus", "de") == [] and values("een huis", "nl") == []
    assert values("zwei Häuser", "de") == [{2.0}]


def test_ordinals_and_vague_plurals_are_not_number_claims() -> None:
    assert values("for the first time, hundreds of people, tens of millions", "en") == []
    assert values("zum ersten Mal kamen Hunderte", "de") == []
    assert values("der zweite, zwei", "de") == [{2.0}]  # the ordinal goes, the cardinal stays
    assert values("on the 21st", "en") == [{21.0}]  # written with digits: kept
    assert values("just five. The second.", "en") == [{5.0}]  # a full stop is not an ordinal dot


def test_scale_words_multiply_and_metres_stay_ambiguous() -> None:
    assert values("2 Mrd. Euro", "de") == [{2e9}]
    assert values("3 m", "en") == [{3.0, 3e6}]


# -- n-grams ---------------------------------------------------------------------------------------


def test_novel_ngrams_exact_on_tiny_example() -> None:
    # summary unigrams: the cat sat (all in the source) + quietly (new) -> 1/4
    # bigrams: "the cat", "cat sat" known; "sat quietly" new -> 1/3; trigrams: 1 of 2 new -> 1/2
    result = check("the cat sat on the mat", "The cat sat quietly.")
    assert result.novel_ngrams == {1: 0.25, 2: pytest.approx(1 / 3), 3: 0.5}
    assert result.compression == pytest.approx(4 / 6)


def test_novel_ngrams_use_the_translation_when_given() -> None:
    result = check("die Katze sass", "the cat sat", "de", translation="the cat sat")
    assert result.novel_ngrams == {1: 0.0, 2: 0.0, 3: 0.0}
    untranslated = check("die Katze sass", "the cat sat", "de")
    assert untranslated.novel_ngrams[1] == 1.0
    assert not any(f.startswith("novel_words") for f in untranslated.flags)  # not comparable: no flag


def test_repetition_loop_is_flagged() -> None:
    source = "The council approved the new tram line to the university on Tuesday after a long debate."
    loop = "The council approved the tram line. " * 5
    result = check(source, loop)
    # 30 tokens, 28 trigrams; the first sentence plus its wrap-around gives 6 distinct trigrams
    assert result.repeated_trigrams == pytest.approx((28 - 6) / 28)
    assert "repetition" in [f.split(":")[0] for f in result.flags]
    fine = check(source, "The council approved the new tram line after a long debate.")
    assert fine.repeated_trigrams == 0.0 and fine.flags == []


def test_short_and_uncompressed_summaries_are_flagged() -> None:
    kinds = [f.split(":")[0] for f in check("one two three four five six", "one two").flags]
    assert "too_short" in kinds
    kinds = [f.split(":")[0] for f in check("a b c d e f", "a b c d e f").flags]
    assert "not_compressed" in kinds


# -- entities --------------------------------------------------------------------------------------


def test_entity_candidates_heuristic() -> None:
    text = (
        "Police said Angela Merkel visited the University of Amsterdam on Monday. "
        "Merkel met students. The Hague was next."
    )
    # "Police" starts a sentence and is not capitalised elsewhere; "Merkel" starts one but is;
    # "Monday" and "The" are stop words.
    assert candidates(text) == ["Angela Merkel", "University of Amsterdam", "Merkel", "Hague"]


def test_missing_entity_is_flagged() -> None:
    source = "Bürgermeisterin Sharon Dijksma eröffnete die Straßenbahn in Utrecht."
    result = check(source, "Mayor Sharon Dijksma and Mark Rutte opened the tram in Utrecht.", "de")
    assert result.unsupported_entities == ["Mark Rutte"]
    assert any(f.startswith("unsupported_entities: Mark Rutte") for f in result.flags)


@pytest.mark.parametrize("spelling", ["München", "Muenchen", "MUENCHEN", "Munchen", "Munich"])
def test_umlaut_folding_supports_entities(spelling: str) -> None:
    source = f"Die Straßenbahn in {spelling} fährt wieder."
    assert check(source, "The tram in München runs again after repairs.", "de").unsupported_entities == []
    assert check(source, "The tram in Munich runs again after repairs.", "de").unsupported_entities == []
    assert fold(spelling) == fold("München")


def test_entity_supported_by_translation_only() -> None:
    result = check(
        "Der Bundestag stimmte zu.",
        "The German parliament, the Bundestag, agreed.",
        "de",
        translation="The Bundestag agreed.",
    )
    assert result.unsupported_entities == ["German"]  # heuristic: capitalised adjectives count too


# -- aggregate -------------------------------------------------------------------------------------


def test_aggregate_means_and_flag_counts() -> None:
    source = "the cat sat on the mat today while the dog slept in the garden"  # 14 words
    good = check(source, "The cat sat on the mat.")
    bad = check(source, "The cat sat in 1999 in Paris.")
    agg = aggregate([good, bad])
    assert agg["documents"] == 2 and agg["flagged"] == 1 and agg["share_flagged"] == 0.5
    assert agg["flags"]["unsupported_numbers"] == 1 and agg["flags"]["unsupported_entities"] == 1
    assert agg["flags"]["repetition"] == 0
    assert agg["mean_compression"] == pytest.approx((6 / 14 + 7 / 14) / 2)
    assert agg["signature"] == checks.CHECKS_SIGNATURE
    assert json.loads(json.dumps(jsonable(good)))["novel_ngrams"] == {"1": 0.0, "2": 0.0, "3": 0.0}


def test_aggregate_of_nothing() -> None:
    assert aggregate([])["documents"] == 0


# -- clsum check -----------------------------------------------------------------------------------


def _write_rows(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (folder / "summaries.jsonl").write_text(text + '{"id": "partial', encoding="utf-8")


def test_check_cli_flags_and_exit_codes(tmp_path: Path) -> None:
    source = "Die Stadt Utrecht eröffnet am 3.10.2021 eine neue Straßenbahnlinie mit 147.445 Fahrgästen."
    translation = "The city of Utrecht opens a new tram line with 147,445 passengers on 3.10.2021."
    rows = [
        {"id": "good", "lang": "de", "source": source, "translation": translation,
         "summary": "Utrecht opens a new tram line with 147,445 passengers."},
        {"id": "loop", "lang": "de", "source": source, "translation": translation,
         "summary": "Utrecht opens a tram line. " * 6},
        {"id": "made-up", "lang": "de", "source": source, "translation": translation,
         "summary": "The city of Amsterdam opens a new tram line with 200,000 passengers."},
    ]  # fmt: skip
    _write_rows(tmp_path / "out", rows)
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 of 3 summaries flagged" in result.output and "good " not in result.output
    assert "loop" in result.output and "made-up" in result.output and "200,000" in result.output

    result = runner.invoke(main, ["check", str(tmp_path / "out"), "--json", "--fail-on-flag"])
    assert result.exit_code == 3
    payload = json.loads(result.stdout)
    docs = {d["id"]: d for d in payload["documents"]}
    assert docs["good"]["flags"] == []
    assert docs["made-up"]["unsupported_numbers"] == ["200,000"]
    assert docs["made-up"]["unsupported_entities"] == ["Amsterdam"]
    assert payload["aggregate"]["flags"]["repetition"] == 1


@pytest.mark.parametrize("make", ["missing", "no-summaries"])
def test_check_cli_bad_folder_is_one_line_exit_2(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "out"
    if make == "no-summaries":
        folder.mkdir()
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("clsum: error: ")


def test_check_after_summarize_with_tiny_models(tiny_overrides: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    sets = set_args(*tiny_overrides)
    runner = CliRunner()
    done = runner.invoke(main, ["summarize", str(EXAMPLES), "-o", str(out), "-q", *sets])
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    summarized = {row["id"] for row in rows}
    assert {"de", "nl"} <= {row.get("lang") for row in rows}  # the translation path is covered
    result = runner.invoke(main, ["check", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {d["id"] for d in payload["documents"]} == summarized and summarized
    for doc in payload["documents"]:
        assert doc["compression"] > 0 and set(doc["novel_ngrams"]) == {"1", "2", "3"}
        assert 0 <= doc["repeated_trigrams"] <= 1
    assert payload["aggregate"]["documents"] == len(summarized)
    # tiny random models write gibberish: the checks must notice
    assert payload["aggregate"]["share_flagged"] > 0
