from __future__ import annotations

from clsum.pipeline.detect import detect
from clsum.record import Record
from tests.articles import DE_BODY, EN_BODY, FR_BODY, NL_BODY, mixed_german_dutch_article


def _records(*texts: str, hint: str | None = None) -> list[Record]:
    return [Record(id=str(i), paragraphs=[t], lang_hint=hint) for i, t in enumerate(texts)]


def test_detects_dutch_german_english_with_confidence() -> None:
    records = detect(_records(NL_BODY, DE_BODY, EN_BODY), ["de", "nl"])
    assert [r.lang for r in records] == ["nl", "de", "en"]
    assert all(r.ok and r.lang_source == "detected" and 0.9 < (r.lang_confidence or 0) <= 1 for r in records)


def test_unsupported_language_is_an_error_record_naming_the_configured_ones() -> None:
    (record,) = detect(_records(FR_BODY), ["de", "nl"])
    assert record.error is not None and record.error.stage == "detect"
    assert record.error.message == "unsupported language 'fr' (configured: de, nl; English passes through)"


def test_configured_language_is_supported() -> None:
    (record,) = detect(_records(FR_BODY), ["de", "fr", "nl"])
    assert record.ok and record.lang == "fr"


def test_hint_overrides_detection() -> None:
    (record,) = detect(_records(DE_BODY, hint="NL"), ["de", "nl"])
    assert (record.lang, record.lang_confidence, record.lang_source) == ("nl", 1.0, "given")


def test_failed_records_are_left_alone() -> None:
    record = Record(id="x", paragraphs=[NL_BODY])
    record.fail("ingest", "file is empty")
    detect([record], ["nl"])
    assert record.lang is None and record.error is not None and record.error.stage == "ingest"


def test_a_german_dutch_article_gets_a_language_per_paragraph() -> None:
    record = Record(id="mixed", paragraphs=mixed_german_dutch_article().split("\n\n"))
    detect([record], ["de", "nl"])
    assert record.ok and record.lang in ("de", "nl") and record.lang_source == "detected"
    assert record.paragraph_langs == ["de", "de", "nl", "nl"]


def test_short_paragraphs_follow_the_text_after_them() -> None:
    paragraphs = ["Reaktion", DE_BODY, "Reactie", NL_BODY, "Einde"]
    (record,) = detect([Record(id="x", paragraphs=paragraphs)], ["de", "nl"])
    assert record.paragraph_langs == ["de", "de", "nl", "nl", "nl"]


def test_a_document_in_one_language_has_no_paragraph_languages() -> None:
    records = detect(_records(NL_BODY, DE_BODY, EN_BODY), ["de", "nl"])
    assert [r.paragraph_langs for r in records] == [[], [], []]
    (hinted,) = detect([Record(id="x", paragraphs=[DE_BODY, NL_BODY], lang_hint="de")], ["de", "nl"])
    assert hinted.paragraph_langs == []  # a language the user gave is not second-guessed


def test_a_configured_language_the_detector_does_not_know_is_no_crash() -> None:
    (record,) = detect([Record(id="x", paragraphs=[DE_BODY, NL_BODY])], ["de", "nl", "xx"])
    assert record.ok and record.paragraph_langs == ["de", "nl"]
