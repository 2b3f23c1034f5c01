"""Real checkpoints generate as their authors configured them, on both backends (tests/replicas.py).

Every replica is loaded by its real hub id from a Hugging Face cache laid out like a download, in
the legacy (2020-era) and the modern file layout: the code path of a user's first real run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clsum.cli import main
from clsum.pipeline.runtime import Seq2Seq
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.generation import BOOKKEEPING, DEFAULT, GENERATION_CONFIG, LEGACY_CONFIG, Task
from tests import replicas, tinymodels
from tests.backendmodels import applied_settings
from tests.helpers import set_args, write_inputs
from tests.replicas import REPLICAS, Replica

# Every test here loads replicas of the real checkpoints, built once per session (seconds each).
pytestmark = pytest.mark.slow

CASES = [(layout, r) for layout in replicas.LAYOUTS for r in REPLICAS]
IDS = [f"{layout}-{r.repo_id.split('/')[1]}" for layout, r in CASES]
HF_F32, CT2_F32 = Options("transformers", "float32"), Options("ctranslate2", "float32")


@pytest.fixture
def use_layout(replica_homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point hub-id loading at one layout's cache (transformers reads the constant per call)."""
    from huggingface_hub import constants

    def use(layout: str) -> Path:
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(replica_homes[layout] / "hub"))
        return replica_homes[layout]

    return use


@pytest.fixture(scope="module")
def pair(replica_homes: dict[str, Path]) -> Any:
    """(transformers, ctranslate2) float32 models of a replica, loaded once per module: weights are
    read while the layout's cache is in place, so later tests need no cache of their own."""
    from huggingface_hub import constants

    loaded: dict[tuple[str, str], tuple[Seq2Seq, Seq2Seq]] = {}

    def get(layout: str, replica: Replica) -> tuple[Seq2Seq, Seq2Seq]:
        if (layout, replica.repo_id) not in loaded:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(constants, "HF_HUB_CACHE", str(replica_homes[layout] / "hub"))
                models = tuple(Seq2Seq(replica.repo_id, "cpu", o, _task(replica)) for o in (HF_F32, CT2_F32))
                for model in models:
                    _ = model.engine
            loaded[layout, replica.repo_id] = models  # type: ignore[assignment]
        return loaded[layout, replica.repo_id]

    return get


def _task(replica: Replica) -> Task:
    return Task(f"translation_{replica.lang}_to_en") if replica.lang else Task("summarization")


def _inputs(replica: Replica, model: Seq2Seq) -> list[str]:
    if replica.lang:
        return replicas.CORPORA[replica.lang][4:9]
    return [model.settings.prefix + " ".join(tinymodels.CORPUS_EN[i : i + 3]) for i in range(0, 15, 3)]


def _expected(replica: Replica, layout: str, model: Seq2Seq) -> dict[str, Any]:
    """What the replica's files say, layered as the issue asks: the checkpoint's own settings, then
    the task's entry in task_specific_params."""
    tok = model.tokenizer
    ids = {"pad": tok.pad_token_id, "eos": tok.eos_token_id}
    expected = dict(replicas.generation_settings(replica.family, layout, ids))
    if replica.legacy_extra.get("force_bos_token_to_be_generated") and layout == "legacy":
        expected["forced_bos_token_id"] = 0
    task = (replica.task_specific_params or {}).get("summarization" if not replica.lang else "")
    if task:
        expected.update(task)
    return expected


# --- the replicas themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(("layout", "replica"), CASES, ids=IDS)
def test_replicas_have_the_real_file_layouts(
    layout: str, replica: Replica, replica_homes: dict[str, Path]
) -> None:
    folder = replica_homes[layout] / "hub" / f"models--{replica.repo_id.replace('/', '--')}"
    assert (folder / "refs" / "main").read_text() == replicas.COMMITS[layout]
    files = {p.name for p in (folder / "snapshots" / replicas.COMMITS[layout]).iterdir()}
    slow = {
        "marian": {"source.spm", "target.spm", "vocab.json"},
        "bart": {"vocab.json", "merges.txt"},
        "pegasus": {"spiece.model"},
        "t5": {"spiece.model"},
    }[replica.family]
    assert slow <= files
    if layout == "legacy":
        assert "config.json" in files and "pytorch_model.bin" in files
        assert not files & {"generation_config.json", "model.safetensors", "tokenizer.json"}
    else:
        assert {"config.json", "generation_config.json", "model.safetensors"} <= files
        assert "pytorch_model.bin" not in files
        assert ("tokenizer.json" in files) == (replica.family != "marian")  # opus-mt has none
    limit = replicas.TOKENIZER_MAX_LENGTH[replica.family][layout]
    tok_config = folder / "snapshots" / replicas.COMMITS[layout] / "tokenizer_config.json"
    written = json.loads(tok_config.read_text())["model_max_length"] if limit else None
    assert written == limit


# --- settings: what from_pretrained gives, then the task, then the config -----------------------


@pytest.mark.parametrize(("layout", "replica"), CASES, ids=IDS)
def test_effective_settings_are_what_from_pretrained_gives(
    layout: str, replica: Replica, use_layout: Any, pair: Any
) -> None:
    from transformers import AutoModelForSeq2SeqLM

    use_layout(layout)
    model, _ = pair(layout, replica)
    settings = model.settings
    assert settings.source == (LEGACY_CONFIG if layout == "legacy" else GENERATION_CONFIG)
    reference = AutoModelForSeq2SeqLM.from_pretrained(replica.repo_id).generation_config
    values = settings.values()
    for name, origin in settings.origins.items():
        if origin == settings.source:  # the checkpoint's own value, exactly as transformers loads it
            assert values[name] == getattr(reference, name), name
    for name, value in reference.to_diff_dict().items():
        if name not in (*BOOKKEEPING, "_from_model_config") and value is not None:
            assert name in values, name
    expected = _expected(replica, layout, model)
    prefix = expected.pop("prefix", "")
    assert {k: values[k] for k in expected} == expected
    assert settings.prefix == prefix
    task_keys = set((replica.task_specific_params or {}).get(settings.task or "", {})) - {"prefix"}
    for name in task_keys:
        assert settings.origins[name] == f"task_specific_params.{settings.task}"
    assert all(values[k] is not None or settings.origins[k] == DEFAULT for k in values if k != "prefix")


def test_legacy_flags_and_task_params_are_applied_where_present(use_layout: Any) -> None:
    use_layout("legacy")
    distilbart = Seq2Seq("sshleifer/distilbart-cnn-12-6", "cpu", HF_F32, Task("summarization"))
    assert distilbart.settings.values()["forced_bos_token_id"] == 0  # force_bos_token_to_be_generated
    assert distilbart.settings.origins["forced_bos_token_id"] == LEGACY_CONFIG
    pegasus = Seq2Seq("google/pegasus-cnn_dailymail", "cpu", HF_F32, Task("summarization"))
    assert pegasus.settings.task is None  # it has summarization_cnn_dailymail etc., no "summarization"
    assert pegasus.settings.values()["num_beams"] == 8
    t5 = Seq2Seq("google-t5/t5-small", "cpu", HF_F32, Task("summarization"))
    assert t5.settings.task == "summarization" and t5.settings.prefix == "summarize: "
    assert t5.settings.origins["prefix"] == "task_specific_params.summarization"
    # the translation pipeline's key for X->en: T5 has none, so nothing of en->de leaks in
    t5_as_translator = Seq2Seq("google-t5/t5-small", "cpu", HF_F32, Task("translation_de_to_en"))
    assert t5_as_translator.settings.task is None and t5_as_translator.settings.prefix == ""
    assert t5_as_translator.settings.values()["max_length"] == 21  # transformers: 20 new tokens
    assert t5_as_translator.settings.origins["max_length"] == DEFAULT


def test_config_overrides_win_and_say_so(use_layout: Any) -> None:
    use_layout("legacy")
    values = {"num_beams": 2, "max_length": 60, "min_length": None, "prefix": ""}
    t5 = Seq2Seq(
        "google-t5/t5-small",
        "cpu",
        HF_F32,
        Task("summarization", "summarization", tuple(sorted(values.items()))),
    )
    assert (t5.settings.values()["num_beams"], t5.settings.values()["max_length"]) == (2, 60)
    assert t5.settings.origins["num_beams"] == "config summarization.num_beams"
    assert t5.settings.values()["min_length"] == 30  # None in the config: the task's value stays
    assert t5.settings.prefix == "" and t5.settings.origins["prefix"] == "config summarization.prefix"


@pytest.mark.parametrize(("layout", "replica"), CASES, ids=IDS)
def test_input_limits_come_from_the_tokenizer_else_the_positions(
    layout: str, replica: Replica, pair: Any
) -> None:
    model, _ = pair(layout, replica)
    assert model.max_input_tokens == replica.input_limit
    has_limit = replicas.TOKENIZER_MAX_LENGTH[replica.family][layout] is not None
    if replica.family != "marian":  # MarianTokenizer has 512 built in when the config has none
        assert (model.tokenizer.model_max_length < 10**6) == has_limit


# --- both backends ------------------------------------------------------------------------------


@pytest.mark.parametrize(("layout", "replica"), CASES, ids=IDS)
def test_greedy_float32_outputs_are_token_identical_across_backends(
    layout: str, replica: Replica, pair: Any
) -> None:
    hf, ct = pair(layout, replica)
    assert ct.settings == hf.settings  # one source of truth, whichever backend
    greedy = hf.settings.with_overrides({"num_beams": 1}, "test").config
    texts = _inputs(replica, hf)
    batch = hf.tokenizer(texts)["input_ids"]
    hf_ids, ct_ids = (
        next(hf.engine.generate_all([batch], greedy)),
        next(ct.engine.generate_all([batch], greedy)),
    )
    assert len({tuple(x) for x in hf_ids}) > 1, "outputs do not depend on the input: nothing is compared"
    assert ct_ids == hf_ids
    assert applied_settings(ct, greedy) == applied_settings(hf, greedy)


@pytest.mark.parametrize(("layout", "replica"), CASES, ids=IDS)
def test_backends_apply_the_same_settings_but_two_ctranslate2_cannot_change(
    layout: str, replica: Replica, pair: Any
) -> None:
    hf, ct = pair(layout, replica)
    config = hf.settings.config
    hf_applied, ct_applied = applied_settings(hf, config), applied_settings(ct, config)
    fixed = {"early_stopping": True, "renormalize_logits": True}  # what ct2's beam search always does
    assert {k: ct_applied[k] for k in fixed} == fixed
    assert {k: v for k, v in ct_applied.items() if k not in fixed} == {
        k: v for k, v in hf_applied.items() if k not in fixed
    }
    assert hf_applied["max_length"] == config.max_length  # transformers' count: decoder start included
    assert ct.engine.options(config)["max_decoding_length"] == config.max_length - 1  # ct2's: not


@pytest.mark.parametrize("repo_id", ["sshleifer/distilbart-cnn-12-6", "facebook/bart-large-cnn"])
@pytest.mark.parametrize("layout", replicas.LAYOUTS)
def test_beam_search_differs_only_by_the_settings_ctranslate2_cannot_change(
    layout: str, repo_id: str, pair: Any
) -> None:
    """With the checkpoint's own beam settings (4 beams, length penalty 2, no-repeat 3, min 56),
    ct2's beam search is transformers' with renormalize_logits=True and early_stopping=True."""
    replica = replicas.BY_ID[repo_id]
    hf, ct = pair(layout, replica)
    batch = hf.tokenizer(_inputs(replica, hf))["input_ids"]
    ct_ids = next(ct.engine.generate_all([batch], ct.settings.config))
    assert next(hf.engine.generate_all([batch], hf.settings.config)) != ct_ids  # renormalizing matters here
    as_ct2 = hf.settings.with_overrides({"renormalize_logits": True, "early_stopping": True}, "test")
    assert next(hf.engine.generate_all([batch], as_ct2.config)) == ct_ids


def test_legacy_reproduction_prints_identical_settings_on_both_backends(
    tiny_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's reproduction: a BART whose config.json holds the generation keys and that has no
    generation_config.json. CTranslate2 used to decode it with its own defaults."""
    model_dir = Path(shutil.copytree(tiny_models["summarizer"], tmp_path / "legacy-bart"))
    (model_dir / "generation_config.json").unlink()
    config = json.loads((model_dir / "config.json").read_text())
    legacy = {
        "num_beams": 4,
        "max_length": 40,
        "min_length": 12,
        "length_penalty": 2.0,
        "no_repeat_ngram_size": 3,
    }
    (model_dir / "config.json").write_text(json.dumps({**config, **legacy}))
    applied = {}
    for options in (HF_F32, CT2_F32):
        model = Seq2Seq(str(model_dir), "cpu", options, Task("summarization"))
        applied[options.backend] = applied_settings(model, model.settings.config)
        print(f"{options.backend:13} { ({k: applied[options.backend][k] for k in legacy}) }")
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "transformers  {'num_beams': 4, 'max_length': 40, 'min_length': 12, 'length_penalty': 2.0, "
        "'no_repeat_ngram_size': 3}",
        "ctranslate2   {'num_beams': 4, 'max_length': 40, 'min_length': 12, 'length_penalty': 2.0, "
        "'no_repeat_ngram_size': 3}",
    ]
    differ = {k for k in applied["transformers"] if applied["transformers"][k] != applied["ctranslate2"][k]}
    assert differ == {"early_stopping", "renormalize_logits"}  # unset here; ct2 always behaves as True


# --- the default code path: hub ids, the pipeline, its outputs ----------------------------------


def test_models_list_shows_each_setting_and_its_origin(use_layout: Any) -> None:
    use_layout("legacy")
    sets = set_args(
        "summarization.model=google-t5/t5-small",
        "translation.models.fr=Helsinki-NLP/opus-mt-fr-en",
        "translation.num_beams=2",
        "backend=ctranslate2",
    )
    result = CliRunner().invoke(main, ["models", "list", *sets], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("generation settings, by origin:") == 4
    assert out.count("config.json (legacy): max_length=512, bad_words_ids=[[") == 3
    assert out.count("config translation.num_beams: num_beams=2") == 3
    t5_task = "task_specific_params.summarization: early_stopping=True, length_penalty=2.0, max_length=200"
    assert t5_task in out
    assert "prefix='summarize: '" in out
    assert out.count("runs on ctranslate2 int8") == 4


def test_default_run_records_settings_origins_engines_and_warnings(use_layout: Any, tmp_path: Path) -> None:
    """The defaults (opus-mt de/nl, distilbart-cnn-12-6; backend auto) from a cache of legacy
    checkpoints: the path a user's first real run takes."""
    use_layout("legacy")
    src = write_inputs(
        tmp_path / "in",
        {"de.txt": " ".join(tinymodels.CORPUS_DE[:3]), "nl.txt": " ".join(tinymodels.CORPUS_NL[:3])},
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["summarize", str(src), "-o", str(out), *set_args("device=cpu")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    generation = manifest["generation"]
    assert set(generation) == {"summarization.model", "translation.models.de", "translation.models.nl"}
    summarizer = generation["summarization.model"]
    assert summarizer["model"] == "sshleifer/distilbart-cnn-12-6"
    assert (summarizer["backend"], summarizer["compute_type"]) == ("ctranslate2", "int8")
    assert summarizer["settings_from"] == LEGACY_CONFIG
    # config.json holds them, and task_specific_params.summarization (applied on top) the same values
    task = "task_specific_params.summarization"
    assert summarizer["generation"]["num_beams"] == {"value": 4, "origin": task}
    assert summarizer["generation"]["forced_bos_token_id"] == {"value": 0, "origin": LEGACY_CONFIG}
    assert summarizer["generation"]["min_length"]["value"] == 56
    translator = generation["translation.models.de"]["generation"]
    assert translator["max_length"] == {"value": 512, "origin": LEGACY_CONFIG}
    rows = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert all(r["models"]["summarization"].endswith("(ctranslate2 int8)") for r in rows)
    flagged: dict[str, int] = {}
    for row in rows:
        for w in row["warnings"]:
            flagged[f"{w['stage']} {w['kind']}"] = flagged.get(f"{w['stage']} {w['kind']}", 0) + 1
    counts = manifest["counts"]
    assert counts["warnings"] == flagged  # documents per kind, not outputs
    assert counts["with_warnings"] == sum(1 for r in rows if r["warnings"])
    if flagged:  # random weights: whether any output loops is the model's business, the count is ours
        assert f"{counts['with_warnings']} with warnings (" in result.output


def test_t5_summarizes_with_its_task_prefix_unless_the_config_sets_one(use_layout: Any) -> None:
    from clsum import Pipeline, load_config

    use_layout("legacy")
    seen: list[str] = []
    for extra, prefix in (([], "summarize: "), (["summarization.prefix="], "")):
        config = load_config(None, ["summarization.model=google-t5/t5-small", "device=cpu", *extra])
        pipe = Pipeline(config)
        model = pipe.models.summarizer()
        real = model.generate

        def spy(texts: list[str], *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            seen.extend(texts)
            return _real(texts, *args, **kwargs)

        model.generate = spy  # type: ignore[method-assign]
        records = pipe.summarize_texts([" ".join(tinymodels.CORPUS_EN[:3])], lang="en")
        assert records[0].ok and records[0].summary, records[0].error
        assert seen and all(t.startswith(prefix + "The government") for t in seen)
        seen.clear()
