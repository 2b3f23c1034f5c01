"""Report files: report.html is self-contained, report.json and outputs/ carry the numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from clsum.eval.benchmark import load_benchmark
from clsum.eval.harness import run_benchmark
from clsum.versions import git_hash
from tests.helpers import needs_data


@pytest.fixture(scope="module")
def lead_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weight-free systems on 5 CNN/DM articles: real scores, no models."""
    run_dir = tmp_path_factory.mktemp("report")
    cfg = load_benchmark("cnndm-frank250")
    cfg.metrics.append("ter")  # a lower-is-better metric (TER: about 1 s per system on 5 summaries)
    run_benchmark(cfg, run_dir, systems=["lead-3", "textrank", "bart-large-cnn-published"], limit=5)
    return run_dir


@needs_data
@pytest.mark.slow  # renders report.html's figures (seconds of matplotlib)
def test_html_is_self_contained(lead_run: Path) -> None:
    page = (lead_run / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 3 * 5  # bars, distributions, score vs. length per metric
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link)\b", page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


@needs_data
@pytest.mark.slow  # renders report.html's figures (seconds of matplotlib)
def test_markdown_has_a_row_per_system(lead_run: Path) -> None:
    md = (lead_run / "report.md").read_text(encoding="utf-8")
    for name in ("lead-3", "textrank", "bart-large-cnn-published"):
        assert re.search(rf"^\| {re.escape(name)} \| \d", md, re.M), name
    assert "## Signatures" in md


@needs_data
@pytest.mark.slow  # renders report.html's figures (seconds of matplotlib)
def test_json_scores_match_per_segment_outputs(lead_run: Path) -> None:
    report = json.loads((lead_run / "report.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (lead_run / "outputs" / "lead-3.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    assert all(0 <= r["scores"]["rouge1"] <= 100 for r in rows)
    assert 0 < report["systems"]["lead-3"]["rouge1"]["score"] <= 100
    assert report["benchmark"]["name"] == "cnndm-frank250"
    assert list(report["data"]) == ["cnndm-frank250/cnndm_frank250.jsonl"]
    assert yaml.safe_load(json.dumps(report["benchmark"]))["dataset"]["name"] == "cnndm-frank250"


def test_git_hash_outside_a_repository_is_none(tmp_path: Path) -> None:
    assert git_hash(tmp_path) is None


def test_versions_name_every_package_that_changes_a_number() -> None:
    from clsum.versions import package_versions

    versions = package_versions()
    for name in ("ctranslate2", "rouge-score", "nltk", "numpy", "sacrebleu", "torch", "transformers"):
        assert versions[name] != "not installed", name


@needs_data
@pytest.mark.slow  # renders report.html's figures (seconds of matplotlib)
def test_html_says_what_every_number_means(lead_run: Path) -> None:
    import html

    page = html.unescape((lead_run / "report.html").read_text(encoding="utf-8"))
    report = json.loads((lead_run / "report.json").read_text(encoding="utf-8"))
    for text in (
        "Brackets: 95% confidence intervals: percentile bootstrap over documents, 1000 resamples, seed 12345",
        "Higher is better, except ter (lower is better).",
        "<th>ter (lower is better)</th>",
        "scored n/N",
        "<td>5/5</td>",
        "None: every system ran on every document.",
        "<h2>Summary checks</h2>",
        "textrank (max_words 60 was tuned on these same 250 test articles)",
        "Run with --limit 5 and --systems lead-3,textrank,bart-large-cnn-published.",
        f"pipeline config hash {report['pipeline']['config_hash']}",
        "cnndm-frank250/cnndm_frank250.jsonl sha256:",
        "split:auto[hyp:newline=5,ref:ptb=5]",
        "ctranslate2 ",
    ):
        assert text in page, text
    assert report["run"] == {"limit": 5, "systems": ["lead-3", "textrank", "bart-large-cnn-published"]}


@pytest.mark.slow
@needs_data
def test_generation_settings_and_models_are_in_the_report(tmp_path: Path, tiny_overrides: list[str]) -> None:
    from clsum.eval.harness import pipeline_config

    cfg = load_benchmark("cnndm-frank250")
    config = pipeline_config(cfg, overrides=[*tiny_overrides, "summarization.num_beams=2"])
    run_benchmark(cfg, tmp_path, systems=["pipeline"], limit=2, config=config)
    generation = json.loads((tmp_path / "report.json").read_text())["pipeline"]["generation"]
    assert list(generation) == ["summarization"]
    assert generation["summarization"]["num_beams"] == "2 (config summarization.num_beams)"
    assert generation["summarization"]["max_length"].endswith("(generation_config.json)")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "summarization: model " in page and "num_beams 2 (config summarization.num_beams)" in page


def test_bars_of_zero_scores_stay_visible() -> None:
    from types import SimpleNamespace

    from clsum.eval.report import bar_figure
    from clsum.eval.scores import Score

    zero = Score("bleu", 0.0, "bleu|x", (0.0, 0.0), [0.0, 0.0])
    system = SimpleNamespace(
        scores={"bleu": zero}, main_scores={"bleu": zero}, scored=[0, 1], common_scores={}
    )
    report = SimpleNamespace(systems={n: system for n in ("a", "b")}, common=[0, 1])
    fig = bar_figure(report, "bleu")  # type: ignore[arg-type]
    assert fig is not None
    (ax,) = fig.axes
    assert ax.get_ylim() == (0.0, 1.0)  # not -0.04..0.04 around nothing
    assert [t.get_text() for t in ax.texts] == ["0.00", "0.00"]


def _browser() -> str | None:
    import shutil

    return next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )


@pytest.mark.slow
@pytest.mark.integration
@needs_data
@pytest.mark.skipif(
    _browser() is None, reason="no Chromium/Chrome on PATH (.ci/run installs Debian's chromium)"
)
def test_html_renders_in_a_real_browser(lead_run: Path, tmp_path: Path) -> None:
    import subprocess

    from PIL import Image

    shot = tmp_path / "report.png"
    browser = _browser()
    assert browser is not None
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    page = (lead_run / "report.html").as_uri()
    run = [browser, *flags, f"--screenshot={shot}", "--window-size=1200,2400", page]
    subprocess.run(run, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "the browser wrote no screenshot"
    # The document as the browser parsed it says what the brackets and marks mean.
    dump = [browser, *flags, "--dump-dom", page]
    dom = subprocess.run(dump, capture_output=True, text=True, timeout=120, check=False).stdout
    assert "Brackets: 95% confidence intervals: percentile bootstrap" in dom
    assert "<th>ter (lower is better)</th>" in dom
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    pixels = np.asarray(image.resize((300, 600)), dtype=np.int64).reshape(-1, 3)
    ink = float(np.mean(pixels.sum(axis=1) < 600))
    assert ink > 0.03, f"the page looks blank ({ink:.1%} non-white)"
    colours = len(np.unique(pixels[:, 0] * 65536 + pixels[:, 1] * 256 + pixels[:, 2]))
    assert colours > 100  # text, tables and the plots' colours, not a flat page


@pytest.mark.slow
@pytest.mark.integration
@needs_data
@pytest.mark.skipif(
    _browser() is None, reason="no Chromium/Chrome on PATH (.ci/run installs Debian's chromium)"
)
def test_html_fits_a_1400_pixel_window_with_paired_comparisons(lead_run: Path, tmp_path: Path) -> None:
    """Laid out by a real browser at 1400 px, no element reaches past the window's right edge."""
    import subprocess

    browser = _browser()
    assert browser is not None
    # A copy with a measuring script (report.html itself has none): the widest right edge of any
    # element, written into the DOM that --dump-dom prints.
    measure = (
        "<script>window.addEventListener('load',()=>{let r=0;for(const e of document.querySelectorAll"
        "('body *')){r=Math.max(r,e.getBoundingClientRect().right)}"
        "document.body.setAttribute('data-right',Math.ceil(r));"
        "document.body.setAttribute('data-scroll',document.documentElement.scrollWidth)})</script>"
    )
    page = tmp_path / "measured.html"
    page.write_text(
        (lead_run / "report.html").read_text(encoding="utf-8").replace("</body>", measure + "</body>")
    )
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900", "--virtual-time-budget=5000",
    ]  # fmt: skip
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "Paired comparisons vs. lead-3" in dom and "<th>95% CI of Δ</th>" in dom
    right = re.search(r'data-right="(\d+)"', dom)
    scroll = re.search(r'data-scroll="(\d+)"', dom)
    assert right and scroll, dom[-500:]
    assert int(right.group(1)) <= 1400 and int(scroll.group(1)) <= 1400, (right.group(1), scroll.group(1))


@needs_data
@pytest.mark.slow  # renders report.html's figures (seconds of matplotlib)
def test_a_rerun_with_fewer_systems_removes_the_old_outputs(tmp_path: Path) -> None:
    cfg = load_benchmark("cnndm-frank250")
    run_benchmark(cfg, tmp_path, systems=["lead-3", "bart-large-cnn-published"], limit=2)
    assert {p.name for p in (tmp_path / "outputs").iterdir()} == {
        "lead-3.jsonl",
        "bart-large-cnn-published.jsonl",
    }
    run_benchmark(cfg, tmp_path, systems=["lead-3"], limit=2)
    assert {p.name for p in (tmp_path / "outputs").iterdir()} == {"lead-3.jsonl"}


@needs_data
def test_a_second_eval_into_a_held_folder_fails_at_once(tmp_path: Path) -> None:
    from clsum.errors import OutputError
    from clsum.pipeline.lock import FolderLock

    cfg = load_benchmark("cnndm-frank250")
    with FolderLock(tmp_path), pytest.raises(OutputError, match="is in use by another clsum run"):
        run_benchmark(cfg, tmp_path, systems=["lead-3"], limit=2)
    assert not (tmp_path / "report.json").exists()
