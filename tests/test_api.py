"""The Python API: order and ids preserved across batching; greedy output independent of batch size."""

from __future__ import annotations

import pytest

from clsum.config import load_config
from clsum.record import Record
from clsum.runner import Pipeline
from tests.articles import DE_BODY, EN_BODY, NL_BODY, SENTENCES_NL, long_dutch_article

TEXTS = [
    NL_BODY,
    "",  # fails in ingest, keeps its place
    DE_BODY + " " + DE_BODY,
    EN_BODY,
    SENTENCES_NL[0],
    long_dutch_article(4),
    "Le conseil municipal de Lyon a voté hier un nouveau budget pour les bibliothèques publiques.",
    DE_BODY,
]


def _pipeline(tiny_overrides: list[str], *extra: str) -> Pipeline:
    return Pipeline(load_config(None, [*tiny_overrides, *extra]))


@pytest.fixture(scope="module")
def reference(tiny_overrides: list[str]) -> list[Record]:
    return _pipeline(tiny_overrides).summarize_texts(TEXTS)


def test_records_come_back_in_order_with_their_ids(reference: list[Record]) -> None:
    assert [r.id for r in reference] == [str(i) for i in range(len(TEXTS))]
    assert [r.ok for r in reference] == [True, False, True, True, True, True, False, True]
    assert [r.lang for r in reference if r.ok] == ["nl", "de", "en", "nl", "nl", "de"]
    assert reference[1].error is not None and reference[1].error.stage == "ingest"
    assert reference[6].error is not None and reference[6].error.stage == "detect"


@pytest.mark.parametrize("sizes", [(1, 1, 1), (3, 2, 5), (64, 64, 64)])
def test_greedy_output_identical_whatever_the_batch_size(
    tiny_overrides: list[str], reference: list[Record], sizes: tuple[int, int, int]
) -> None:
    docs, sentences, chunks = sizes
    pipe = _pipeline(
        tiny_overrides,
        f"doc_batch_size={docs}",
        f"translation.batch_size={sentences}",
        f"summarization.batch_size={chunks}",
    )
    assert pipe.config.hash() == _pipeline(tiny_overrides).config.hash()  # batch sizes are not in the hash
    records = pipe.summarize_texts(TEXTS)
    assert [r.translated for r in records] == [r.translated for r in reference]
    assert [r.summary for r in records] == [r.summary for r in reference]


def test_long_document_is_chunked_and_fully_read(reference: list[Record]) -> None:
    long_doc = reference[5]
    assert long_doc.chunks >= 2 and long_doc.coverage == 1.0
    assert long_doc.summary


def test_truncate_reads_only_the_first_chunk_and_says_so(tiny_overrides: list[str]) -> None:
    (record,) = _pipeline(tiny_overrides, "summarization.truncate=true").summarize_texts(
        [long_dutch_article(4)]
    )
    assert record.chunks == 1
    assert record.coverage is not None and 0 < record.coverage < 1


def test_each_model_loads_once_and_only_for_languages_present(tiny_overrides: list[str]) -> None:
    pipe = _pipeline(tiny_overrides)
    pipe.summarize_texts([NL_BODY, NL_BODY + " " + SENTENCES_NL[1]])
    loaded = pipe.models.provenance()
    assert len(loaded) == 2  # nl translator + summarizer; no German model
    assert all("#" in v for v in loaded.values())


def test_process_can_stop_after_translation(tiny_overrides: list[str]) -> None:
    (record,) = _pipeline(tiny_overrides).summarize_texts([NL_BODY], until="translate")
    assert record.translated and record.summary is None and "summarize" not in record.timings
    with pytest.raises(ValueError, match="available: clean, detect"):
        _pipeline(tiny_overrides).summarize_texts([NL_BODY], until="translation")


def test_texts_get_the_repairs_files_get(tiny_overrides: list[str]) -> None:
    """Mojibake repair and control-character removal: one path for files, JSONL and the API."""
    garbled = "Nieuwe zonnepanelen zijn geÃ¯nstalleerd\x00 op het stadhuis.\r\n" + NL_BODY
    (record,) = _pipeline(tiny_overrides).summarize_texts([garbled], until="clean")
    assert record.raw == "Nieuwe zonnepanelen zijn geïnstalleerd op het stadhuis.\n" + NL_BODY
    assert record.repairs == ["mojibake", "control characters"]  # each repair by its name
    (blank,) = _pipeline(tiny_overrides).summarize_texts(["\x00\x07 \n"], until="clean")
    assert blank.error is not None and blank.error.message == "text contains only whitespace"
