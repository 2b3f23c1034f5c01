"""Weight-free systems: lead-k, TextRank, published outputs, identity (no models needed)."""

from __future__ import annotations

import numpy as np
import pytest

from clsum.config import load_config
from clsum.errors import ConfigError
from clsum.eval import extractive
from clsum.eval.data import Segment
from clsum.eval.systems import SYSTEM_TYPES, RunContext, build

ARTICLE = (
    "The council approved the new bridge on Monday. "
    "Dogs were seen in the park. "
    "The bridge will cost the council ten million euros. "
    "It rained in the afternoon.\n"
    "Work on the new bridge starts next year, the council said."
)


def ctx(lang: str = "en") -> RunContext:
    return RunContext(lang, load_config(None, ["device=cpu"]))


def run(type_: str, segments: list[Segment], lang: str = "en", **params: object) -> list[str]:
    return build("s", type_, dict(params)).run(segments, ctx(lang))


def test_lead_k_takes_the_first_sentences_one_per_line() -> None:
    out = run("lead-k", [Segment("a", ARTICLE, "")], k=2)
    assert out == ["The council approved the new bridge on Monday.\nDogs were seen in the park."]


def test_lead_k_uses_the_source_language_splitter() -> None:
    text = "Der Preis liegt bei ca. 5 Mio. Euro. Das ist viel. Mehr folgt."
    assert run("lead-k", [Segment("a", text, "")], lang="de", k=1) == ["Der Preis liegt bei ca. 5 Mio. Euro."]


def test_lead_k_with_fewer_sentences_returns_them_all() -> None:
    assert run("lead-k", [Segment("a", "Only one.", "")], k=3) == ["Only one."]


def test_textrank_picks_the_central_sentences_in_document_order() -> None:
    # The three bridge/council sentences share words; the dog and rain sentences share none.
    out = run("textrank", [Segment("a", ARTICLE, "")], k=2).pop().split("\n")
    assert len(out) == 2
    assert all("bridge" in s for s in out)
    order = [ARTICLE.index(s) for s in out]
    assert order == sorted(order)
    assert "Dogs" not in "\n".join(run("textrank", [Segment("a", ARTICLE, "")], k=3))


def test_pagerank_star_graph_ranks_the_hub_first_and_sums_to_one() -> None:
    sim = np.array([[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=float)
    rank = extractive.pagerank(sim)
    assert rank.sum() == pytest.approx(1.0)
    assert rank.argmax() == 0
    assert rank[1] == pytest.approx(rank[2]) == pytest.approx(rank[3])
    # Hand-solved stationary point: hub h = 0.15/4 + 0.85 * 3l, leaf l = 0.15/4 + 0.85 * h/3.
    h = (0.0375 + 0.85 * 3 * 0.0375) / (1 - 0.85**2)
    assert rank[0] == pytest.approx(h, rel=1e-5)


def test_pagerank_without_edges_is_uniform() -> None:
    assert extractive.pagerank(np.zeros((3, 3))) == pytest.approx([1 / 3] * 3)


def test_tfidf_rows_are_unit_length_and_identical_sentences_match() -> None:
    m = extractive.tfidf_matrix(["a b c", "a b c", "x y"])
    assert np.linalg.norm(m, axis=1) == pytest.approx([1, 1, 1])
    assert m[0] @ m[1] == pytest.approx(1.0)
    assert m[0] @ m[2] == pytest.approx(0.0)


def test_published_reads_the_named_field() -> None:
    segments = [Segment("a", "src", "ref", {"bart": "published summary"})]
    assert run("published", segments, field="bart") == ["published summary"]
    with pytest.raises(ConfigError, match="unknown published field 'pegasus' \\(available: bart\\)"):
        run("published", segments, field="pegasus")


def test_identity_returns_the_source() -> None:
    segments = [Segment("a", "Hallo Welt.", "Hello world."), Segment("b", "Zwei.", "Two.")]
    assert run("identity", segments, lang="de") == ["Hallo Welt.", "Zwei."]


def test_summarize_then_translate_in_english_needs_no_model_and_can_use_english_summaries() -> None:
    segments = [Segment("a", ARTICLE, ARTICLE)]
    system = build(
        "s", "summarize-then-translate", {"extractor": "lead-k", "k": 1, "reference": "english-summary"}
    )
    assert system.run(segments, ctx("en")) == ["The council approved the new bridge on Monday."]
    assert system.references == ["The council approved the new bridge on Monday."]


def test_registry_covers_the_documented_types() -> None:
    assert set(SYSTEM_TYPES) == {
        "identity",
        "pipeline-translate",
        "pipeline-summarize",
        "lead-k",
        "textrank",
        "published",
        "summarize-then-translate",
        "cross-lingual-consistency",
    }
