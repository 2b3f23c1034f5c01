"""Articles in more than one language: each paragraph goes to its own language's translation model,
and the mix is recorded."""

from __future__ import annotations

import json
from pathlib import Path

from clsum.config import load_config
from clsum.runner import Pipeline
from tests.articles import DE_BODY, DE_MORE, EN_BODY, NL_BODY, NL_MORE, mixed_german_dutch_article


def test_each_paragraph_is_translated_by_its_own_languages_model(tiny_overrides: list[str]) -> None:
    pipe = Pipeline(load_config(None, tiny_overrides))
    (mixed,) = pipe.summarize_texts([mixed_german_dutch_article()], until="translate")
    (german,) = pipe.summarize_texts([f"{DE_BODY}\n\n{DE_MORE}"], lang="de", until="translate")
    (dutch,) = pipe.summarize_texts([f"{NL_BODY}\n\n{NL_MORE}"], lang="nl", until="translate")
    assert mixed.paragraph_langs == ["de", "de", "nl", "nl"]
    assert mixed.translated == german.translated + dutch.translated
    other = "nl" if mixed.lang == "de" else "de"
    assert set(mixed.models) == {"translation", f"translation.{other}"}


def test_an_english_paragraph_in_a_german_article_passes_through(tiny_overrides: list[str]) -> None:
    pipe = Pipeline(load_config(None, tiny_overrides))
    (record,) = pipe.summarize_texts([f"{DE_BODY}\n\n{DE_MORE}\n\n{EN_BODY}"])
    assert record.ok and record.lang == "de" and record.paragraph_langs == ["de", "de", "en"]
    assert record.english[2] == record.sentences[2]
    assert record.translation.endswith(EN_BODY)


def test_the_mix_is_recorded_in_summaries_jsonl(tiny_overrides: list[str], tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "gemischt.txt").write_text(mixed_german_dutch_article(), encoding="utf-8")
    (tmp_path / "in" / "nl.txt").write_text(f"{NL_BODY}\n\n{NL_MORE}", encoding="utf-8")
    result = Pipeline(load_config(None, tiny_overrides)).run(tmp_path / "in", tmp_path / "out")
    assert result.ok
    rows = {
        row["id"]: row
        for row in map(json.loads, (tmp_path / "out" / "summaries.jsonl").read_text().splitlines())
    }
    assert rows["gemischt.txt"]["paragraph_langs"] == ["de", "de", "nl", "nl"]
    assert rows["nl.txt"]["paragraph_langs"] is None
