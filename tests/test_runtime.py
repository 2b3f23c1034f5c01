"""clsum.pipeline.runtime against tiny real models: loading, limits, batching, provenance, the HF cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from clsum.config import Config, SummarizationConfig, TranslationConfig
from clsum.errors import ModelError
from clsum.pipeline.runtime import Models, Seq2Seq, describe, hub
from clsum.pipeline.runtime import models as runtime_models
from clsum.pipeline.runtime.backends import Options
from clsum.pipeline.runtime.backends.transformers import TransformersEngine
from tests import tinymodels

REPO_ROOT = Path(__file__).resolve().parents[1]

# Varied lengths (one word up to several sentences), all well under the 128-token Marian limit.
GERMAN = [
    "Ja.",
    "Die Feuerwehr konnte den Brand nach zwei Stunden löschen.",
    "Der Rhein führt nach tagelangem Regen Hochwasser.",
    " ".join(tinymodels.CORPUS_DE[:2]),
    "Größere Unternehmen müssen künftig ihre Emissionen genauer melden.",
    "Schätzungen zufolge fehlen bundesweit rund vierhunderttausend Wohnungen.",
    " ".join(tinymodels.CORPUS_DE[10:12]),
    "Die Wahlbeteiligung lag bei etwa zweiundsiebzig Prozent.",
    "Über den Vorschlag soll im Frühjahr in einer Volksabstimmung entschieden werden.",
]


@pytest.fixture(scope="module")
def de(tiny_models: dict[str, Path]) -> Seq2Seq:
    return Seq2Seq(str(tiny_models["de"]), "cpu")


@pytest.fixture(scope="module")
def bart(tiny_models: dict[str, Path]) -> Seq2Seq:
    return Seq2Seq(str(tiny_models["summarizer"]), "cpu")


def _text_of_exactly(model: Seq2Seq, n_tokens: int) -> str | None:
    """Words from the corpus appended until the input (with specials) is exactly ``n_tokens`` long."""
    words = " ".join(tinymodels.CORPUS_EN * 4).split()
    for start in range(50):  # a word can add several tokens: try other starting points
        for end in range(start + 1, len(words) + 1):
            text = " ".join(words[start:end])
            count = model.count_tokens([text])[0]
            if count == n_tokens:
                return text
            if count > n_tokens:
                break
    return None


# --- loading and limits ---------------------------------------------------------------------------


def test_loads_local_dir_tokenizer_first_weights_on_use(tiny_models: dict[str, Path]) -> None:
    model = Seq2Seq(str(tiny_models["nl"]), "cpu")
    assert model.ref.is_local
    assert type(model.tokenizer).__name__ == "MarianTokenizer"
    assert "engine" not in vars(model)  # weights wait for the first generate()
    engine = model.engine
    assert isinstance(engine, TransformersEngine) and engine is model.engine
    assert type(engine.model).__name__ == "MarianMTModel"
    assert not engine.model.training


def test_max_input_tokens_is_the_tokenizer_limit(de: Seq2Seq, bart: Seq2Seq) -> None:
    assert de.max_input_tokens == de.tokenizer.model_max_length == 128
    assert bart.max_input_tokens == bart.tokenizer.model_max_length == 64
    assert de.max_output_tokens == 24
    assert bart.max_output_tokens == 24


def test_max_input_tokens_falls_back_to_positions_when_tokenizer_has_no_limit(
    tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    copy = shutil.copytree(tiny_models["summarizer"], tmp_path / "bart")
    config_file = copy / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("model_max_length")
    config_file.write_text(json.dumps(config))
    model = Seq2Seq(str(copy), "cpu")
    assert model.tokenizer.model_max_length > 10**6
    assert model.max_input_tokens == 64  # max_position_embeddings


def test_count_tokens(de: Seq2Seq, bart: Seq2Seq) -> None:
    texts = ["Die Straße ist gesperrt.", "Köln", ""]
    counts = de.count_tokens(texts)
    assert counts == [len(de.tokenizer(t)["input_ids"]) for t in texts]
    assert de.count_tokens(texts, special=False) == [c - 1 for c in counts]  # Marian adds </s> only
    assert counts[-1] == 1
    assert (
        bart.count_tokens(["The mayor said."], special=False)[0] + 2
        == bart.count_tokens(["The mayor said."])[0]
    )
    assert de.count_tokens([]) == []


# --- generation -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_returns_outputs_in_input_order(de: Seq2Seq) -> None:
    single = [de.generate([t], batch_size=1)[0] for t in GERMAN]
    assert len({o.text for o in single}) > 1, (
        "tiny model gives one output for every input: order is untestable"
    )
    assert de.generate(GERMAN, batch_size=4) == single
    assert de.generate(GERMAN[::-1], batch_size=4) == single[::-1]
    assert all(isinstance(o.text, str) and o.text == o.text.strip() for o in single)
    assert de.generate([], batch_size=4) == []


@pytest.mark.parametrize("model_name", ["de", "bart"])
def test_greedy_output_does_not_depend_on_batch_size(model_name: str, request: pytest.FixtureRequest) -> None:
    model: Seq2Seq = request.getfixturevalue(model_name)
    texts = GERMAN if model_name == "de" else [t[:120] for t in tinymodels.CORPUS_EN[:9]]
    results = {bs: model.generate(texts, batch_size=bs) for bs in (1, 2, 7)}
    assert results[1] == results[2] == results[7]


def test_generate_reports_progress_per_batch(de: Seq2Seq) -> None:
    seen: list[int] = []
    de.generate([GERMAN[0]] * 9, batch_size=4, progress=seen.append)  # one length: full batches
    assert seen == [4, 4, 1]
    seen.clear()
    de.generate(GERMAN, batch_size=4, progress=seen.append)
    assert sum(seen) == len(GERMAN)


def test_generate_overrides_apply_and_none_means_model_default(de: Seq2Seq) -> None:
    texts = GERMAN[:3]
    default = de.generate(texts, batch_size=3)
    assert de.generate(texts, batch_size=3, max_length=None, num_beams=None) == default
    short = de.generate(texts, batch_size=3, max_length=6)
    assert all(
        len(s.text) < len(d.text) and d.text.startswith(s.text) for s, d in zip(short, default, strict=True)
    )
    assert len(de.generate(texts, batch_size=3, num_beams=2)) == 3


def test_input_up_to_the_limit_is_accepted_and_over_it_refused(bart: Seq2Seq, de: Seq2Seq) -> None:
    exact = _text_of_exactly(bart, bart.max_input_tokens)
    assert exact is not None
    assert len(bart.generate([exact], batch_size=1)) == 1
    with pytest.raises(ModelError, match="exceeds its limit"):
        bart.generate(["Short text.", exact + " and more words"], batch_size=2)
    too_long = " ".join(tinymodels.CORPUS_DE)
    assert de.count_tokens([too_long])[0] > de.max_input_tokens
    with pytest.raises(ModelError, match=re.escape(de.ref.spec)):
        de.generate([too_long], batch_size=1)


# --- provenance -----------------------------------------------------------------------------------


def test_provenance_of_a_local_dir_is_a_content_hash(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    original = Seq2Seq(str(tiny_models["de"]), "cpu").provenance
    suffix = re.escape(" (transformers float32)")
    assert re.fullmatch(re.escape(str(tiny_models["de"])) + r"#[0-9a-f]{16}" + suffix, original)

    copy = shutil.copytree(tiny_models["de"], tmp_path / "de-copy")
    same = Seq2Seq(str(copy), "cpu").provenance
    assert same == f"{copy}#{original.rsplit('#', 1)[1]}"  # same bytes, same hash

    gen_file = copy / "generation_config.json"
    gen = json.loads(gen_file.read_text())
    gen["max_length"] = 30
    gen_file.write_text(json.dumps(gen))
    changed = Seq2Seq(str(copy), "cpu").provenance
    assert changed.startswith(f"{copy}#") and changed != same


def test_same_seed_builds_identical_models(tmp_path: Path, tiny_models: dict[str, Path]) -> None:
    again = tinymodels.build_marian(tmp_path / "again", "de")
    other = tinymodels.build_marian(tmp_path / "other", "de", seed=1)
    assert hub.local_dir_hash(again) == hub.local_dir_hash(tiny_models["de"])
    assert hub.local_dir_hash(other) != hub.local_dir_hash(again)


# --- Models ---------------------------------------------------------------------------------------


def _models(translation: dict[str, str], summarizer: str) -> Models:
    """Models of a config naming these, on the reference backend (transformers float32)."""
    config = Config(
        backend="transformers",
        translation=TranslationConfig(models=translation),
        summarization=SummarizationConfig(model=summarizer),
    )
    return Models(config, "cpu")


def test_models_load_each_spec_once_and_only_on_demand(
    tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []

    class Counting(Seq2Seq):
        def __init__(self, spec: str, device: str, options: Options | None = None, task: Any = None) -> None:
            loads.append(spec)
            super().__init__(spec, device, options, task)

    monkeypatch.setattr(runtime_models, "Seq2Seq", Counting)
    de_dir, nl_dir, summ_dir = (str(tiny_models[k]) for k in ("de", "nl", "summarizer"))
    models = _models({"de": de_dir, "nl": nl_dir, "de-alias": de_dir}, summ_dir)
    assert loads == [] and models.provenance() == {}

    first = models.translator("de")
    assert models.translator("de") is first
    assert models.translator("de-alias") is first  # same spec, same instance
    assert loads == [de_dir]
    assert "engine" not in vars(first)  # weights only when generating

    assert models.summarizer() is models.summarizer()
    assert loads == [de_dir, summ_dir]
    assert set(models.provenance()) == {de_dir, summ_dir}
    assert all("#" in p for p in models.provenance().values())
    with pytest.raises(KeyError):
        models.translator("fr")


# --- missing models and the HF cache ----------------------------------------------------------------


def test_absent_hub_id_offline_names_it_and_the_download_command(session_hf_home: Path) -> None:
    assert hub.offline()
    assert hub.hf_cache_dir().is_relative_to(session_hf_home)  # never the user's cache
    with pytest.raises(ModelError) as err:
        Seq2Seq("clsum-tests/no-such-model", "cpu")
    message = str(err.value)
    assert "'clsum-tests/no-such-model'" in message
    assert "clsum models download" in message
    assert "HF_HUB_OFFLINE=1" in message


def test_absent_hub_id_with_revision(session_hf_home: Path) -> None:
    with pytest.raises(ModelError, match="clsum models download") as err:
        Seq2Seq("clsum-tests/no-such-model@v1.0", "cpu")
    assert "clsum-tests/no-such-model@v1.0" in str(err.value)


@pytest.mark.parametrize("spec", ["./no/such/dir", "no-such-model-name"])
def test_missing_local_dir_is_a_model_error(spec: str) -> None:
    with pytest.raises(ModelError, match=re.escape(spec)):
        Seq2Seq(spec, "cpu")


def test_describe_local_missing_and_online(
    tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert describe(str(tiny_models["de"])) == f"local directory {tiny_models['de']}"
    assert describe("clsum-tests/no-such-model").startswith("NOT AVAILABLE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert describe("clsum-tests/no-such-model").startswith("not cached: downloaded")


def test_describe_cached(hf_home_with_defaults: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home_with_defaults / "hub"))
    for repo_id in tinymodels.DEFAULT_HUB_IDS.values():
        text = describe(repo_id)
        assert text.startswith("Hugging Face cache") and tinymodels.DEFAULT_COMMIT in text
    assert describe(f"{tinymodels.DEFAULT_HUB_IDS['de']}@{tinymodels.DEFAULT_COMMIT}").startswith(
        "Hugging Face cache"
    )
    assert describe("clsum-tests/no-such-model").startswith("NOT AVAILABLE")


_LOAD_DEFAULTS = """
import json
from clsum.pipeline.runtime import Seq2Seq, describe, download
from tests.tinymodels import DEFAULT_HUB_IDS
out = {}
for key, repo_id in DEFAULT_HUB_IDS.items():
    model = Seq2Seq(repo_id, "cpu")
    text = "Der Bürgermeister äußerte sich." if key != "summarizer" else "The mayor said he was satisfied."
    out[repo_id] = {
        "provenance": model.provenance,
        "describe": describe(repo_id),
        "generated": [o.text for o in model.generate([text], batch_size=1)],
        "limit": model.max_input_tokens,
        "download": download(repo_id),
    }
out["missing"] = describe("clsum-tests/no-such-model")
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.integration
def test_default_hub_ids_load_from_the_hf_cache_offline(hf_home_with_defaults: Path) -> None:
    proc = tinymodels.run_offline(_LOAD_DEFAULTS, hf_home_with_defaults, cwd=REPO_ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    commit = tinymodels.DEFAULT_COMMIT
    for repo_id in tinymodels.DEFAULT_HUB_IDS.values():
        info = result[repo_id]
        assert info["provenance"] == f"{repo_id}@{commit} (transformers float32)"
        assert info["download"] == f"{repo_id}@{commit} (transformers float32)"
        assert info["describe"] == f"Hugging Face cache {hf_home_with_defaults / 'hub'} (revision {commit})"
        assert len(info["generated"]) == 1
    assert result["Helsinki-NLP/opus-mt-de-en"]["limit"] == 128
    assert result["sshleifer/distilbart-cnn-12-6"]["limit"] == 64
    assert result["missing"].startswith("NOT AVAILABLE")


def test_placed_cache_is_laid_out_like_the_hub(hf_home_with_defaults: Path) -> None:
    repo = hf_home_with_defaults / "hub" / "models--Helsinki-NLP--opus-mt-de-en"
    assert (repo / "refs" / "main").read_text() == tinymodels.DEFAULT_COMMIT
    snapshot = repo / "snapshots" / tinymodels.DEFAULT_COMMIT
    files = sorted(p.name for p in snapshot.iterdir())
    assert {"config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json"} <= set(files)
    for link in snapshot.iterdir():
        assert link.is_symlink() and not Path(link.readlink()).is_absolute()
        assert link.resolve().parent == (repo / "blobs").resolve()
        assert link.resolve().name == tinymodels._sha256(link)


# --- device ---------------------------------------------------------------------------------------


def test_resolve_device() -> None:
    import torch

    assert runtime_models.resolve_device("cpu") == "cpu"
    if torch.cuda.is_available():
        assert runtime_models.resolve_device("auto") == "cuda"
    else:
        assert runtime_models.resolve_device("auto") == "cpu"
        with pytest.raises(ModelError, match="device=cpu"):
            runtime_models.resolve_device("cuda")


def test_translators_take_their_languages_task_params_and_share_a_model_otherwise(
    tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    """A translator gets task_specific_params.translation_<lang>_to_en where the model has it (its
    prefix included; a null there keeps the checkpoint's value); languages without an entry share
    one loaded model."""
    copy = Path(shutil.copytree(tiny_models["de"], tmp_path / "multi"))
    config = json.loads((copy / "config.json").read_text())
    task = {"prefix": ">>en<< ", "num_beams": 2, "max_length": None}
    config["task_specific_params"] = {"translation_de_to_en": task}
    (copy / "config.json").write_text(json.dumps(config))
    models = _models(dict.fromkeys(("de", "nl", "fr"), str(copy)), str(tiny_models["summarizer"]))
    de, nl, fr = (models.translator(lang) for lang in ("de", "nl", "fr"))
    assert de.settings.task == "translation_de_to_en" and de.settings.prefix == ">>en<< "
    assert de.settings.values()["num_beams"] == 2
    assert de.settings.table()["max_length"] == {"value": 24, "origin": "generation_config.json"}
    assert nl is fr and nl is not de and nl.settings.prefix == "" and nl.settings.task is None
    seen: list[str] = []
    real = de.generate

    def spy(texts: list[str], *args: Any, **kwargs: Any) -> Any:
        seen.extend(texts)
        return real(texts, *args, **kwargs)

    de.generate = spy  # type: ignore[method-assign]
    from clsum.pipeline.translate import translate
    from clsum.record import Record

    record = Record(id="a", lang="de", sentences=[["Die Feuerwehr konnte den Brand löschen."]])
    translate([record], models, TranslationConfig())
    assert seen == [">>en<< Die Feuerwehr konnte den Brand löschen."]
    assert record.translated[0][0] == de.generate([seen[0]], batch_size=1)[0].text
