"""End-to-end ``clsum eval`` with tiny models on 3-segment slices of the shipped benchmarks."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.eval.data import data_root
from tests.helpers import needs_data, set_args


def run_eval(args: list[str]) -> Any:
    return CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)


def load(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def check_shape(report: dict[str, Any], systems: list[str], metrics: dict[str, list[str]]) -> None:
    assert list(report["systems"]) == systems
    for name in systems:
        assert set(report["systems"][name]) == set(metrics[name]), name
        for entry in report["systems"][name].values():
            assert set(entry) == {"score", "signature", "ci"}
            assert entry["signature"]
    for key in ("benchmark", "versions", "git", "data", "pipeline", "dataset"):
        assert key in report
    assert report["pipeline"]["config_hash"]
    assert all(len(digest) == 16 for digest in report["data"].values())


@pytest.mark.slow
@needs_data
def test_flores_slice_end_to_end(tmp_path: Path, tiny_overrides: list[str]) -> None:
    out = tmp_path / "flores"
    result = run_eval(["flores-de-en", "--limit", "3", "-o", str(out), *set_args(*tiny_overrides)])
    assert result.exit_code == 0, result.output
    report = load(out)
    check_shape(
        report, ["pipeline", "identity"], {"pipeline": ["bleu", "chrf"], "identity": ["bleu", "chrf"]}
    )
    assert report["dataset"]["segments"] == 3
    assert set(report["data"]) == {"flores200-devtest/deu_Latn.devtest", "flores200-devtest/eng_Latn.devtest"}
    assert "opus-mt-de-en" in json.dumps(report["pipeline"]["models"])
    rows = [json.loads(line) for line in (out / "outputs" / "identity.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["flores-1", "flores-2", "flores-3"]
    assert (
        rows[0]["output"] == (data_root() / "flores200-devtest/deu_Latn.devtest").read_text().split("\n")[0]
    )
    for name in ("report.md", "report.html"):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow
@needs_data
def test_ntrex_documents_and_consistency(tmp_path: Path, tiny_overrides: list[str]) -> None:
    out = tmp_path / "ntrex"
    result = run_eval(["ntrex-de-en", "--limit", "3", "-o", str(out), *set_args(*tiny_overrides)])
    assert result.exit_code == 0, result.output
    report = load(out)
    rouge = ["rouge1", "rouge2", "rougeLsum"]
    names = [
        "pipeline-translate",
        "identity",
        "consistency-pipeline",
        "consistency-textrank",
        "summarize-then-translate",
    ]
    check_shape(report, names, {n: (["chrf", "bleu"] if i < 2 else rouge) for i, n in enumerate(names)})
    info = report["system_info"]
    # Every input line of every document comes out as one translated paragraph.
    assert info["pipeline-translate"]["reassembly"]["documents"] == 3
    assert info["pipeline-translate"]["reassembly"]["documents_changed"] == 0
    assert info["consistency-pipeline"]["references"] == "system"
    assert "consistency-pipeline" in report["checks"]
    rows = [
        json.loads(line) for line in (out / "outputs" / "consistency-textrank.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 3 and all(r["reference"] for r in rows)
    translated = [
        json.loads(line) for line in (out / "outputs" / "pipeline-translate.jsonl").read_text().splitlines()
    ]
    assert all(r["info"]["lines"] == r["output"].count("\n") + 1 for r in translated)


@pytest.mark.slow
@needs_data
def test_cnndm_slice_with_selected_systems(tmp_path: Path, tiny_overrides: list[str]) -> None:
    out = tmp_path / "cnndm"
    result = run_eval(
        ["cnndm-frank250", "--limit", "3", "--systems", "lead-3,pipeline,bart-large-cnn-published"]
        + ["-o", str(out), *set_args(*tiny_overrides)]
    )
    assert result.exit_code == 0, result.output
    report = load(out)
    rouge = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    names = ["lead-3", "pipeline", "bart-large-cnn-published"]
    check_shape(report, names, dict.fromkeys(names, rouge))
    assert set(report["checks"]) == set(names)
    rows = [json.loads(line) for line in (out / "outputs" / "lead-3.jsonl").read_text().splitlines()]
    assert all(r["output"].count("\n") == 2 for r in rows)  # three sentences, one per line
    assert set(rows[0]["scores"]) == set(rouge)


def test_unknown_system_name_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "cnndm-frank250", "--systems", "lead3", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "unknown system 'lead3' (did you mean 'lead-3'? available: lead-3, textrank" in result.output


def test_list_names_every_shipped_benchmark() -> None:
    result = CliRunner().invoke(main, ["eval", "--list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "cnndm-frank250",
        "flores-de-en",
        "flores-nl-en",
        "ntrex-de-en",
        "ntrex-nl-en",
        "wikilingua-de-en",
        "wikilingua-nl-en",
    ]


def test_wikilingua_without_datasets_gives_the_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_datasets(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "datasets" or name.startswith("datasets."):
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    result = CliRunner().invoke(main, ["eval", "wikilingua-de-en", "-o", str(tmp_path / "wl")])
    assert result.exit_code == 2
    assert "dataset wikilingua with source: datasets needs the optional 'datasets' package" in result.output
    assert "pip install 'clsum[online]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "lang", "repo", "config", "row"),
    [
        ("wikilingua", "nl", "GEM/wiki_lingua", "nl_en", {"gem_id": "w1", "source": "T.", "target": "S."}),
        (
            "flores",
            "de",
            "facebook/flores",
            "deu_Latn-eng_Latn",
            {"id": 7, "sentence_deu_Latn": "Satz.", "sentence_eng_Latn": "Sentence."},
        ),
        ("cnndm", "en", "abisee/cnn_dailymail", "3.0.0", {"id": "c1", "article": "A.", "highlights": "H."}),
    ],
)
def test_online_sets_map_hub_rows_to_segments(
    monkeypatch: pytest.MonkeyPatch, name: str, lang: str, repo: str, config: str, row: dict[str, Any]
) -> None:
    """``source: datasets`` asks the hub for the right repo/config/split and reads the right fields."""
    import sys
    import types

    from clsum.eval.benchmark import BenchmarkConfig, DatasetConfig
    from clsum.eval.harness import load_data

    calls: list[tuple[Any, ...]] = []

    def load_dataset(repo_id: str, cfg_name: str, split: str) -> list[dict[str, Any]]:
        calls.append((repo_id, cfg_name, split))
        return [row]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    dataset_cfg = DatasetConfig(name=name, lang=lang, source="datasets", split="test")
    cfg = BenchmarkConfig(name="x", dataset=dataset_cfg, task="translate", systems=[], metrics=[])
    dataset = load_data(cfg)
    assert calls == [(repo, config, "test")]
    (segment,) = dataset.segments
    source, reference = [v for k, v in row.items() if k not in ("id", "gem_id")]
    assert (segment.id, segment.source, segment.reference) == (str(list(row.values())[0]), source, reference)


@pytest.mark.parametrize(
    ("name", "lang", "source", "message"),
    [
        ("flores", "fr", "local", "dataset flores: unknown language 'fr' (available: de, nl, en)"),
        ("wmt19", "nl", "local", "dataset wmt19: unknown language 'nl' (available: de)"),
        ("ntrex", "de", "datasets", "read from the data root only (online: cnndm, flores, wikilingua)"),
        ("wikilingua", "de", "local", "dataset wikilingua has no local copy; set dataset.source: datasets"),
        ("florse", "de", "local", "unknown dataset 'florse' (did you mean 'flores'?"),
    ],
)
def test_the_datasets_table_says_what_cannot_be_loaded(
    name: str, lang: str, source: str, message: str
) -> None:
    """Language and availability come from ``eval.data.DATASETS``, before any file is read."""
    from clsum.errors import ConfigError
    from clsum.eval.data import load

    with pytest.raises(ConfigError) as info:
        load(name, lang, source)
    assert message in str(info.value)


def test_clsum_data_pointing_nowhere_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clsum.errors import InputError

    monkeypatch.setenv("CLSUM_DATA", str(tmp_path / "missing"))
    with pytest.raises(InputError, match=f"CLSUM_DATA={tmp_path / 'missing'} is not a folder"):
        data_root()


def test_a_bad_score_option_fails_before_any_system_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(
        "name: b\ndataset: {name: cnndm-frank250}\ntask: summarize\nmetrics: [rouge1]\n"
        "systems: [{name: lead, type: lead-k}]\nscore: {seed: '12345'}\n"
    )
    result = CliRunner().invoke(main, ["eval", str(cfg), "-o", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"clsum: error: {cfg}: score.seed must be a whole number, got '12345'"
    ]
    assert not (tmp_path / "run").exists()


def _failing_translate(fail: Any) -> Any:
    """A translate stage that fails the records ``fail(record)`` picks and leaves the rest untranslated."""
    from clsum.runner import translate

    def stage(records: list[Any], **kwargs: Any) -> list[Any]:
        for record in records:
            if record.ok and fail(record):
                record.fail("translate", "model exploded")
        translate([r for r in records if r.ok], **kwargs)
        return records

    return stage


@needs_data
def test_a_system_that_fails_everywhere_has_no_scores_and_exit_3(
    tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("clsum.runner.translate", _failing_translate(lambda record: True))
    out = tmp_path / "flores"
    result = run_eval(["flores-de-en", "--limit", "3", "-o", str(out), *set_args(*tiny_overrides)])
    assert result.exit_code == 3, result.output
    assert "clsum: documents failed (pipeline 3 of 3)" in result.output
    report = load(out)
    info = report["system_info"]
    assert (info["pipeline"]["scored"], info["pipeline"]["failed"], info["identity"]["scored"]) == (0, 3, 3)
    assert info["pipeline"]["failures"][0] == {
        "id": "flores-1",
        "stage": "translate",
        "message": "model exploded",
    }
    bleu = report["systems"]["pipeline"]["bleu"]
    assert bleu["score"] is None and bleu["skipped"] == "all 3 documents failed"  # not BLEU 0.00
    line = "pipeline: 3 of 3 documents failed in translate: model exploded (flores-1, flores-2, flores-3)"
    assert line in (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert line in page and "n/a*" in page and "0/3, 3 failed" in page
    assert "n/a* pipeline bleu: all 3 documents failed" in page


@needs_data
def test_scores_stand_on_the_documents_that_succeeded(
    tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    second = (data_root() / "flores200-devtest/deu_Latn.devtest").read_text(encoding="utf-8").split("\n")[1]
    monkeypatch.setattr("clsum.runner.translate", _failing_translate(lambda record: record.raw == second))
    out = tmp_path / "flores"
    result = run_eval(
        ["flores-de-en", "--limit", "3", "--systems", "pipeline", "-o", str(out)] + set_args(*tiny_overrides)
    )
    assert result.exit_code == 3
    assert "pipeline" in result.output and "(scored 2/3)" in result.output
    report = load(out)
    assert "|n:2|" in report["systems"]["pipeline"]["chrf"]["signature"]
    assert report["systems"]["pipeline"]["chrf"]["score"] is not None
    rows = [json.loads(line) for line in (out / "outputs" / "pipeline.jsonl").read_text().splitlines()]
    assert [bool(r["scores"]) for r in rows] == [True, False, True]
    assert rows[1]["info"]["error"] == {"stage": "translate", "message": "model exploded"}
    assert (
        "| pipeline | " in (out / "report.md").read_text()
        and "| 2/3, 1 failed |" in (out / "report.md").read_text()
    )


@needs_data
def test_systems_failing_on_different_documents_are_compared_on_the_common_ones(
    tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline fails on the longest of 6 sentences: every row is scored on the other 5 (and says
    so), identity's own 6-document scores stay beside it, and identity is tested against the pipeline."""
    lines = (data_root() / "flores200-devtest/deu_Latn.devtest").read_text(encoding="utf-8").split("\n")[:6]
    longest = max(lines, key=len)
    monkeypatch.setattr("clsum.runner.translate", _failing_translate(lambda record: record.raw == longest))
    out = tmp_path / "flores"
    result = run_eval(["flores-de-en", "--limit", "6", "-o", str(out), *set_args(*tiny_overrides)])
    assert result.exit_code == 3, result.output
    report = load(out)
    assert report["common"]["documents"] == 5
    assert list(report["common"]["scores"]) == ["identity"]  # the pipeline's own scores are the common ones
    assert "|n:5|" in report["common"]["scores"]["identity"]["chrf"]["signature"]
    assert "|n:6|" in report["systems"]["identity"]["chrf"]["signature"]
    comparisons = report["comparisons"]
    assert comparisons["baseline"] == "pipeline" and comparisons["documents"] == 5
    chrf = comparisons["systems"]["identity"]["chrf"]
    assert chrf["n"] == 5 and chrf["differing"] == 5 and chrf["test"] == "permutation-exact"
    assert chrf["ci"] is None and chrf["p_value"] >= 2 / 32
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| identity | " in md and "| 5/6 common |" in md
    assert "| ↳ identity: every document it succeeded on |" in md and "| 6/6 |" in md
    assert "| 5/6, 1 failed |" in md  # the pipeline's row
    assert "## Paired comparisons vs. pipeline" in md and "| identity | chrf |" in md
    assert "BLEU, chrF and TER are corpus-level" in md
    assert "only 5 segments differ: the smallest possible p is 0.0625" in md


@needs_data
def test_a_missing_model_fails_before_any_system_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clsum.eval import systems

    ran: list[str] = []
    monkeypatch.setattr(systems.Identity, "run", lambda self, segments, ctx: ran.append(self.name) or [])
    out = tmp_path / "flores"
    args = ["flores-de-en", "--systems", "identity,pipeline", "-o", str(out)]
    result = run_eval(
        [*args, "--set", f"translation.models.de={tmp_path / 'no-model'}", "--set", "device=cpu"]
    )
    assert result.exit_code == 2
    assert result.output.startswith("clsum: error: ") and result.output.count("\n") == 1
    assert ran == [] and not out.exists()


@needs_data
def test_a_constant_summarizer_cannot_look_consistent(
    tmp_path: Path, tiny_overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same summary for every input: 100 against its own English side, 100 in the contrast too."""

    def constant(records: list[Any], **kwargs: Any) -> list[Any]:
        for record in records:
            if record.ok:
                record.summary = "Nothing."
        return records

    monkeypatch.setattr("clsum.runner.summarize", constant)
    out = tmp_path / "ntrex"
    args = ["ntrex-de-en", "--limit", "3", "--systems", "consistency-pipeline"]
    result = run_eval([*args, "-o", str(out), *set_args(*tiny_overrides)])
    assert result.exit_code == 0, result.output
    report = load(out)
    assert report["systems"]["consistency-pipeline"]["rouge1"]["score"] == pytest.approx(100.0)
    assert report["contrast"]["consistency-pipeline"]["rouge1"]["score"] == pytest.approx(100.0)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| consistency-pipeline † | 100.00 [CI n/a] |" in md  # zero width: no interval to show
    assert "CI n/a: the interval has zero width" in md
    assert "| ↳ consistency-pipeline: contrast (vs. another document's English-side summary) | 100.00" in md
    assert "3/3 flagged, 3 too short" in md
    assert "not against human references" in md


def test_the_contrast_drops_for_outputs_that_depend_on_the_document() -> None:
    from clsum.eval.benchmark import parse_benchmark
    from clsum.eval.harness import contrast

    cfg = parse_benchmark(
        {"name": "c", "dataset": {"name": "wmt19"}, "task": "documents", "metrics": ["rouge1"],
         "systems": [{"name": "i", "type": "identity"}], "score": {"bootstrap": 0}}
    )  # fmt: skip
    refs = ["the mayor opened the bridge", "storms closed three schools", "prices of bread rose again"]
    assert contrast(refs, refs, ["rouge1"], cfg)["rouge1"].score == 0.0  # no words shared across documents
    assert contrast(["same words"] * 3, ["same words"] * 3, ["rouge1"], cfg)["rouge1"].score == 100.0
    assert (
        contrast(refs[:1], refs[:1], ["rouge1"], cfg)["rouge1"].skipped
        == "a contrast needs at least 2 documents"
    )


def test_empty_sources_and_outputs_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """identity on a data set with empty source lines: warned with counts, never silent zeros."""
    from clsum.eval import data
    from clsum.eval.benchmark import load_benchmark
    from clsum.eval.harness import run_benchmark

    segments = [
        data.Segment("a", "Der Rat stimmte zu.", "The council agreed."),
        data.Segment("b", "", "The tram line opens on Monday."),
        data.Segment("c", "  ", "Nobody came."),
    ]
    monkeypatch.setattr(data, "load", lambda *a, **k: data.Dataset("fake", "de", list(segments), {}))
    cfg = load_benchmark("flores-de-en")
    with caplog.at_level("WARNING"):
        report = run_benchmark(cfg, tmp_path, systems=["identity"])
    assert "fake: 2 of 3 source texts are empty" in caplog.text
    assert "identity: 2 of 3 outputs are empty (scored as they are: 0)" in caplog.text
    assert report.systems["identity"].empty_outputs == 2
    assert load(tmp_path)["system_info"]["identity"]["empty_outputs"] == 2
