"""End to end: `clsum summarize` over messy articles, with tiny models the tests build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.pipeline.write import read_rows
from tests.articles import write_messy_corpus
from tests.helpers import set_args


def run_cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return list(read_rows(path))


def overrides(tiny_overrides: list[str]) -> list[str]:
    return set_args(*tiny_overrides)


@pytest.fixture(scope="module")
def messy_run(tmp_path_factory: pytest.TempPathFactory, tiny_overrides: list[str]) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("messy")
    expected = write_messy_corpus(root / "in")
    out = root / "out"
    result = run_cli("summarize", str(root / "in"), "-o", str(out), *overrides(tiny_overrides))
    rows = {r["id"]: r for r in read_jsonl(out / "summaries.jsonl")}
    errors = {r["id"]: r for r in read_jsonl(out / "errors.jsonl")}
    return {"root": root, "out": out, "expected": expected, "result": result, "rows": rows, "errors": errors}


def test_exit_code_3_when_some_documents_fail(messy_run: dict[str, Any]) -> None:
    assert messy_run["result"].exit_code == 3, messy_run["result"].output
    assert "4 failed" in messy_run["result"].output


def test_a_prefix_that_fills_the_input_is_one_config_error_before_any_document(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    write_messy_corpus(tmp_path / "in")
    prefix = " ".join(["summarize this article please"] * 20)  # > the tiny summarizer's 64 input tokens
    result = run_cli(
        "summarize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
        *overrides([*tiny_overrides, f"summarization.prefix={prefix}"]),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert errors == [f"clsum: error: summarization.prefix {prefix!r} alone fills the 64-token input limit"]
    assert not (tmp_path / "out" / "summaries.jsonl").read_text()  # no document was processed
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_every_document_lands_exactly_once(messy_run: dict[str, Any]) -> None:
    expected = messy_run["expected"]
    assert set(messy_run["rows"]) == {i for i, stage in expected.items() if not stage}
    assert {i: e["stage"] for i, e in messy_run["errors"].items()} == {i: s for i, s in expected.items() if s}
    assert set(messy_run["rows"]).isdisjoint(messy_run["errors"])


def test_error_messages_are_one_clear_sentence(messy_run: dict[str, Any]) -> None:
    errors = messy_run["errors"]
    assert errors["fr/article.txt"]["error"] == (
        "unsupported language 'fr' (configured: de, nl; English passes through)"
    )
    for row in errors.values():
        assert "\n" not in row["error"] and row["error"]


def test_decoding_and_mojibake_repair(messy_run: dict[str, Any]) -> None:
    rows = messy_run["rows"]
    assert "geïnstalleerd" in rows["nl/mojibake.txt"]["source"]
    assert "mojibake" in rows["nl/mojibake.txt"]["repairs"]
    assert "café" in rows["nl/oud cp1252.txt"]["source"] and "één" in rows["nl/oud cp1252.txt"]["source"]
    assert "Straßenbahn" in rows["de/utf16.txt"]["source"]
    assert "Leerzeichen" not in rows["Ordner mit Leerzeichen/überschrift ä.txt"]["source"]


def test_clean_removes_page_furniture_and_records_it(messy_run: dict[str, Any]) -> None:
    row = messy_run["rows"]["de/fotos.txt"]
    for junk in ("Foto:", "Marienplatz", "Fotostrecke", "schönsten", "Reuters"):
        assert junk not in row["source"]
    removed = " | ".join(r["text"] for r in row["removed"])
    for junk in ("Foto: Peter Kneffel / dpa", "Marienplatz", "Fotostrecke", "ak/Reuters"):
        assert junk in removed
    assert row["source"].count("Straßenbahnlinie") == 2


def test_metadata_line_parsed(messy_run: dict[str, Any]) -> None:
    row = messy_run["rows"]["nl/meta.txt"]
    assert row["metadata"].get("date") == "2021-09"
    assert row["source"].startswith("De gemeente Utrecht")


def test_html_article_text_only(messy_run: dict[str, Any]) -> None:
    row = messy_run["rows"]["de/seite.html"]
    for junk in ("GEHEIM", "NAVIGATIONSTEXT", "FUSSZEILE"):
        assert junk not in row["source"]
    assert "Straßenbahnlinie" in row["source"]
    assert row["lang"] == "de"


def test_languages_translation_and_english_passthrough(messy_run: dict[str, Any]) -> None:
    rows = messy_run["rows"]
    assert rows["en/story.txt"]["lang"] == "en"
    assert rows["en/story.txt"]["translation"] == rows["en/story.txt"]["source"]
    assert "translation" not in rows["en/story.txt"]["models"]
    for doc_id in ("nl/mojibake.txt", "de/utf16.txt"):
        row = rows[doc_id]
        assert row["lang"] == doc_id[:2] and 0.5 < row["lang_confidence"] <= 1
        assert row["translation"] and row["translation"] != row["source"]
        # one translated paragraph per source paragraph
        assert row["translation"].count("\n\n") == row["source"].count("\n\n")


def test_summary_fields_and_provenance(messy_run: dict[str, Any]) -> None:
    for row in messy_run["rows"].values():
        assert row["summary"].strip()
        assert row["coverage"] == 1.0 and row["chunks"] >= 1
        assert set(row["timings"]) == {"clean", "detect", "segment", "translate", "summarize"}
        assert "#" in row["models"]["summarization"]  # local dir + content hash
    assert messy_run["rows"]["nl/lang.md"]["chunks"] >= 2


def test_manifest_and_markdown(messy_run: dict[str, Any]) -> None:
    out = messy_run["out"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert len(manifest["config_hash"]) == 16 and manifest["config"]["device"] == "cpu"
    assert manifest["counts"]["input"] == len(messy_run["expected"])
    assert manifest["counts"]["failed"] == 4
    assert {"torch", "transformers", "python"} <= set(manifest["packages"])
    assert all("#" in v for v in manifest["models"].values()) and len(manifest["models"]) == 3
    assert manifest["started_at"] <= manifest["finished_at"]
    markdown = (out / "summaries.md").read_text()
    for row in messy_run["rows"].values():
        assert row["summary"] in markdown


def test_rerun_skips_done_documents_and_force_redoes_them(
    messy_run: dict[str, Any], tiny_overrides: list[str], tmp_path: Path
) -> None:
    args = [
        "summarize",
        str(messy_run["root"] / "in"),
        "-o",
        str(messy_run["out"]),
        *overrides(tiny_overrides),
    ]
    before = (messy_run["out"] / "summaries.jsonl").read_text()
    again = run_cli(*args)
    assert again.exit_code == 3 and "0 summarized, 9 already done, 4 failed" in again.output
    assert (messy_run["out"] / "summaries.jsonl").read_text() == before
    forced = run_cli(*args, "--force")
    assert "9 summarized, 0 already done" in forced.output
    assert len(read_jsonl(messy_run["out"] / "summaries.jsonl")) == 9
    assert len(read_jsonl(messy_run["out"] / "errors.jsonl")) == 4


def test_changed_config_redoes_documents(tiny_overrides: list[str], tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Die Stadt baut eine neue Brücke über den Fluss.\n")
    args = ["summarize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *overrides(tiny_overrides)]
    assert run_cli(*args).exit_code == 0
    assert "1 summarized" in run_cli(*args, "--set", "summarization.min_length=3").output
    assert "1 already done" in run_cli(*args, "--set", "summarization.min_length=3").output


def test_lang_override(tiny_overrides: list[str], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Tesla Model 3 BMW Audi Volkswagen.\n")
    result = run_cli(
        "summarize",
        str(tmp_path / "a.txt"),
        "-o",
        str(tmp_path / "out"),
        "--lang",
        "nl",
        *overrides(tiny_overrides),
    )
    assert result.exit_code == 0, result.output
    (row,) = read_jsonl(tmp_path / "out" / "summaries.jsonl")
    assert (row["id"], row["lang"], row["lang_confidence"], row["lang_source"]) == (
        "a.txt",
        "nl",
        1.0,
        "given",
    )
    bad = run_cli("summarize", str(tmp_path / "a.txt"), "-o", str(tmp_path / "out"), "--lang", "fr")
    assert bad.exit_code == 2 and "no translation model for 'fr'" in bad.output


def test_jsonl_input(tiny_overrides: list[str], tmp_path: Path) -> None:
    lines = [
        {"id": "x", "text": "De trein naar Amsterdam had vanochtend een uur vertraging.", "lang": "nl"},
        {"id": "y", "text": "Der Zug nach Berlin hatte heute Morgen eine Stunde Verspätung."},
    ]
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines) + "{not json\n")
    result = run_cli("summarize", str(src), "-o", str(tmp_path / "out"), *overrides(tiny_overrides))
    assert result.exit_code == 3
    assert [r["id"] for r in read_jsonl(tmp_path / "out" / "summaries.jsonl")] == ["x", "y"]
    assert [r["stage"] for r in read_jsonl(tmp_path / "out" / "errors.jsonl")] == ["ingest"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "summarization.num_beam=2"], "did you mean 'summarization.num_beams'?"),
        (["--set", "translaton.models.fr=x"], "did you mean 'translation.models.<key>'?"),
        (["--set", "device=tpu"], "device must be auto, cpu or cuda"),
        (["--set", "translation.batch_size=0"], "translation.batch_size must be at least 1"),
        (["--set", "nonsense"], "--set expects KEY=VALUE"),
        (["--config", "/nonexistent.yaml"], "cannot read config file"),
    ],
)
def test_config_errors_are_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hallo Welt.\n")
    result = CliRunner().invoke(
        main, ["summarize", str(tmp_path / "a.txt"), "-o", str(tmp_path / "o"), *args]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_missing_input_and_missing_model_are_one_line(tmp_path: Path, tiny_overrides: list[str]) -> None:
    missing = run_cli("summarize", str(tmp_path / "nope"), "-o", str(tmp_path / "o"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "a.txt").write_text("Der Zug nach Berlin hatte heute Morgen eine Stunde Verspätung.\n")
    sets = [*overrides(tiny_overrides), "--set", "translation.models.de=nobody/opus-mt-xx-en"]
    result = run_cli("summarize", str(tmp_path / "a.txt"), "-o", str(tmp_path / "o"), *sets)
    assert result.exit_code == 2
    assert "'nobody/opus-mt-xx-en'" in result.output and "clsum models download" in result.output
    assert result.output.count("\n") == 1


def test_config_show_prints_effective_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("summarization:\n  model: sshleifer/distilbart-cnn-6-6\n")
    result = run_cli(
        "config", "show", "--config", str(cfg), "--set", "translation.models.fr=Helsinki-NLP/opus-mt-fr-en"
    )
    assert result.exit_code == 0
    assert "model: sshleifer/distilbart-cnn-6-6" in result.output
    assert (
        "fr: Helsinki-NLP/opus-mt-fr-en" in result.output
        and "de: Helsinki-NLP/opus-mt-de-en" in result.output
    )


def clsum_subprocess(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """Run the real CLI in a fresh interpreter (HF_HOME is read when huggingface_hub is imported)."""
    base = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "TRANSFORMERS_CACHE")}
    return subprocess.Popen(
        [sys.executable, "-m", "clsum", *args],
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.integration
def test_default_hub_ids_from_offline_hf_cache_with_no_config(
    hf_home_with_defaults: Path, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    write_messy_corpus(src)
    env = {"HF_HOME": str(hf_home_with_defaults), "HF_HUB_OFFLINE": "1"}
    proc = clsum_subprocess(
        ["summarize", str(src / "nl"), "-o", str(tmp_path / "out"), "--set", "device=cpu"], env
    )
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(manifest["models"]) == {"Helsinki-NLP/opus-mt-nl-en", "sshleifer/distilbart-cnn-12-6"}
    assert manifest["models"]["Helsinki-NLP/opus-mt-nl-en"].startswith("Helsinki-NLP/opus-mt-nl-en@")
    listing = clsum_subprocess(["models", "list"], env)
    text, _ = listing.communicate(timeout=120)
    assert text.count("Hugging Face cache") == 3, text


def test_bundled_examples_summarize_cleanly(tiny_overrides: list[str], tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "articles"
    result = run_cli("summarize", str(examples), "-o", str(tmp_path / "out"), *overrides(tiny_overrides))
    assert result.exit_code == 0, result.output
    rows = read_jsonl(tmp_path / "out" / "summaries.jsonl")
    assert {r["id"].split("/")[0]: r["lang"] for r in rows} == {"de": "de", "en": "en", "nl": "nl"}
    assert len(rows) == 5 and all(r["lang_confidence"] > 0.9 for r in rows)


def test_the_command_line_imports_no_model_library_or_runner_at_startup() -> None:
    """``clsum --help`` stays fast: the commands import what they run when they run."""
    libraries = {"torch", "transformers", "ctranslate2", "ray", "lxml"}
    code = "import json, sys, clsum.cli.main; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    heavy = [
        m for m in loaded if m.split(".")[0] in libraries or m.startswith(("clsum.runner", "clsum.bench."))
    ]
    assert heavy == []
    assert "clsum.cli.bench" in loaded  # the check above looked at the right process
