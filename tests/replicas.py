"""Replicas of the real checkpoints clsum runs: tiny random weights in the real repositories' layouts.

Nothing here can download a real model, so the code path a user's first run takes (hub id ->
Hugging Face cache -> tokenizer, weights and generation settings) is tested on replicas: for every
family clsum supports (opus-mt de/nl/fr-en, distilbart-cnn / bart-large-cnn, PEGASUS cnn_dailymail,
T5-small), the real hub id, the real special-token ids, positions and generation settings, saved in
both styles the hub holds:

- ``legacy`` (2020-era uploads): generation settings as keys of ``config.json`` (distilBART also with
  the old ``force_bos_token_to_be_generated`` flag), no ``generation_config.json``,
  ``pytorch_model.bin`` only, slow-tokenizer files only (``vocab.json`` + ``merges.txt``;
  ``source.spm`` + ``target.spm`` + ``vocab.json``; ``spiece.model``);
- ``modern``: ``generation_config.json``, ``model.safetensors``, ``tokenizer.json`` (Marian has
  none: its tokenizer is SentencePiece only, in the real repositories too).

Tokenizer configs come with and without ``model_max_length`` (see ``TOKENIZER_MAX_LENGTH``), as on
the hub. ``place_replicas`` puts one layout of every replica into a Hugging Face cache under the
real hub ids (each layout its own commit, so CTranslate2 conversions never mix them up). They are
saved by ``clsum.bench.standins.builders.save_checkpoint`` with the authors' settings of
``clsum.bench.standins.models``, as the bench's random stand-ins of the real models are.

Weights are random but scaled up (as ``backendmodels.sharpen``), so that outputs depend on the input
and a backend difference cannot hide. Same seed, same files. No pytest dependency; HF libraries are
imported lazily (the test environment must be set before they load).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clsum.bench.standins import builders
from clsum.bench.standins.models import BART_CNN, DISTILBART_LEGACY_EXTRA, OPUS_MT_SETTINGS
from tests.tinymodels import CORPUS_DE, CORPUS_EN, CORPUS_NL, TINY_DIMS, place_in_hf_cache

COMMITS = {"legacy": "a" * 40, "modern": "b" * 40}  # one fake commit per layout

CORPUS_FR = [
    "Le gouvernement a présenté lundi une nouvelle loi sur le climat.",
    "L'Assemblée nationale votera le budget pour 2025 la semaine prochaine.",
    "Des milliers de personnes ont manifesté samedi à Paris pour des salaires plus élevés.",
    "La SNCF a annoncé une grève nationale pour jeudi.",
    "Selon la police, personne n'a été grièvement blessé dans l'accident.",
    "L'inflation est tombée de façon inattendue à 2,4 % en octobre.",
    "Le maire de Lyon s'est dit satisfait des résultats.",
    "La route entre Lille et Arras restera fermée jusqu'à vendredi.",
    "Des chercheurs de l'université de Strasbourg ont testé un nouveau vaccin.",
    "Les prix du gaz et de l'électricité ont fortement augmenté cet hiver.",
    "Le club de football a gagné le match contre Marseille par trois buts à un.",
    "De nombreux élèves doivent parcourir de longues distances à cause du manque d'enseignants.",
    "La ministre de la Santé veut renforcer les hôpitaux dans les régions rurales.",
    "Des dizaines de vols ont été annulés à l'aéroport à cause de la tempête.",
    "Le syndicat réclame une hausse des salaires de huit pour cent.",
    "Un référendum sur la proposition aura lieu au printemps.",
    "L'accusé a nié devant le tribunal toutes les accusations portées contre lui.",
    "Le nombre de chômeurs a légèrement augmenté le mois dernier.",
    "Un grand incendie a détruit un entrepôt pendant la nuit à Nantes.",
    "La Banque centrale européenne laisse ses taux inchangés pour le moment.",
    "Météo-France met en garde contre le verglas et la neige dans le nord du pays.",
    "L'opposition a qualifié le projet d'injuste et de trop coûteux.",
    "Un nouveau plan pour les transports publics a été présenté à la mairie.",
    "À partir de samedi, le musée expose des tableaux du dix-huitième siècle.",
    "L'industrie automobile mise de plus en plus sur les véhicules électriques.",
    "Les médecins mettent en garde contre une forte épidémie de grippe.",
    "Le président se rend demain à Bruxelles et à Berlin pour des discussions.",
    "Les loyers à Bordeaux ont fortement augmenté au cours des cinq dernières années.",
    "Un porte-parole du ministère n'a pas souhaité commenter ces informations.",
    "Les pompiers ont maîtrisé l'incendie au bout de deux heures.",
    "Les grandes entreprises devront déclarer leurs émissions plus précisément.",
    "La participation aux élections a atteint environ soixante-douze pour cent.",
    "La Seine est sortie de son lit après des jours de pluie.",
    "Il manquerait environ quatre cent mille logements dans tout le pays.",
    "Les négociations sur une nouvelle convention collective ont échoué.",
    "Question : qui paie à la fin ? Réponse : « Les contribuables ! », a dit l'économiste (55 ans).",
]

CORPORA = {"de": CORPUS_DE, "nl": CORPUS_NL, "fr": CORPUS_FR, "en": CORPUS_EN}

# The two file layouts the hub repositories hold checkpoints in (``builders.save_checkpoint``): which
# repositories were updated since cannot be checked from here, so the replicas are built in both.
LAYOUTS = ("legacy", "modern")

# What the checkpoints' authors configured beyond clsum.bench.standins.models (the bench's stand-ins).
PEGASUS_CNN: dict[str, Any] = {"length_penalty": 0.8, "max_length": 128, "num_beams": 8}
T5_TASKS = {
    "summarization": {
        "early_stopping": True,
        "length_penalty": 2.0,
        "max_length": 200,
        "min_length": 30,
        "no_repeat_ngram_size": 3,
        "num_beams": 4,
        "prefix": "summarize: ",
    },
    "translation_en_to_de": {
        "early_stopping": True,
        "max_length": 300,
        "num_beams": 4,
        "prefix": "translate English to German: ",
    },
    "translation_en_to_fr": {
        "early_stopping": True,
        "max_length": 300,
        "num_beams": 4,
        "prefix": "translate English to French: ",
    },
}
PEGASUS_TASKS = {
    "summarization_cnn_dailymail": {
        "length_penalty": 0.8,
        "max_length": 128,
        "max_position_embeddings": 1024,
    },
    "summarization_xsum": {"length_penalty": 0.6, "max_length": 64, "max_position_embeddings": 512},
}

# The tokenizer's model_max_length per family and layout; None: tokenizer_config.json has no such key
# (or there is no tokenizer_config.json at all: T5 legacy), so the limit comes from the positions.
TOKENIZER_MAX_LENGTH: dict[str, dict[str, int | None]] = {
    "marian": {"legacy": None, "modern": 512},
    "bart": {"legacy": 1024, "modern": None},
    "pegasus": {"legacy": 1024, "modern": None},
    "t5": {"legacy": None, "modern": 512},
}


@dataclass(frozen=True)
class Replica:
    repo_id: str
    family: str  # marian | bart | pegasus | t5
    lang: str | None = None  # a translator's source language; None: a summarizer
    positions: int = 1024  # max_position_embeddings (T5: n_positions, which it does not enforce)
    task_specific_params: dict[str, dict[str, Any]] | None = None
    seed: int = 0
    # config.json keys (legacy) beyond the family's generation settings
    legacy_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_limit(self) -> int:
        """The input limit clsum must find, whichever layout: the positions the model was built for."""
        return self.positions

    @property
    def role(self) -> str:
        return "translation" if self.lang else "summarization"


REPLICAS = (
    Replica("Helsinki-NLP/opus-mt-de-en", "marian", "de", 512),
    Replica("Helsinki-NLP/opus-mt-nl-en", "marian", "nl", 512, seed=1),
    Replica("Helsinki-NLP/opus-mt-fr-en", "marian", "fr", 512, seed=2),
    Replica(
        "sshleifer/distilbart-cnn-12-6",
        "bart",
        task_specific_params={"summarization": BART_CNN},
        legacy_extra=DISTILBART_LEGACY_EXTRA,
    ),
    Replica("facebook/bart-large-cnn", "bart", task_specific_params={"summarization": BART_CNN}, seed=1),
    Replica("google/pegasus-cnn_dailymail", "pegasus", task_specific_params=PEGASUS_TASKS),
    Replica("google-t5/t5-small", "t5", positions=512, task_specific_params=T5_TASKS),
)
BY_ID = {r.repo_id: r for r in REPLICAS}


def generation_settings(family: str, layout: str, ids: dict[str, int]) -> dict[str, Any]:
    """The generation settings a ``family`` (marian, bart, pegasus, t5) repository holds in
    ``layout``; ``ids``: its special tokens (``pad``, ``eos``)."""
    if family == "marian":
        legacy = {**OPUS_MT_SETTINGS, "bad_words_ids": [[ids["pad"]]]}
        modern = {
            **legacy,
            "bos_token_id": ids["eos"],
            "decoder_start_token_id": ids["pad"],
            "eos_token_id": ids["eos"],
            "forced_eos_token_id": ids["eos"],
            "pad_token_id": ids["pad"],
            "renormalize_logits": True,
        }
    elif family == "bart":
        legacy = dict(BART_CNN)
        modern = {
            **BART_CNN,
            "bos_token_id": 0,
            "decoder_start_token_id": 2,
            "eos_token_id": 2,
            "forced_bos_token_id": 0,
            "forced_eos_token_id": 2,
            "pad_token_id": 1,
        }
    elif family == "pegasus":
        legacy = dict(PEGASUS_CNN)
        modern = {**PEGASUS_CNN, "decoder_start_token_id": 0, "eos_token_id": 1, "forced_eos_token_id": 1}
        modern["pad_token_id"] = 0
    else:  # t5: nothing but token ids; its settings are in task_specific_params
        legacy = {}
        modern = {"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0}
    return legacy if layout == "legacy" else modern


def write_tokenizer_config(out: Path, base: dict[str, Any] | None, limit: int | None) -> None:
    """tokenizer_config.json: ``base`` with ``model_max_length`` = ``limit`` (None: without the key);
    no file at all when there is neither a base nor a limit."""
    path = out / "tokenizer_config.json"
    if base is None and limit is None:
        path.unlink(missing_ok=True)
        return
    config = {k: v for k, v in (base or {}).items() if k != "model_max_length"}
    if limit is not None:
        config["model_max_length"] = limit
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")


# --- tokenizers ---------------------------------------------------------------------------------


def _spm(sentences: list[str], vocab_size: int, **ids: int) -> bytes:
    """A unigram SentencePiece model; ``ids``: pad_id/eos_id/unk_id/bos_id as the family has them."""
    import sentencepiece as spm

    buf = io.BytesIO()
    options: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hard_vocab_limit": False,  # small corpora cannot fill a larger vocabulary
        "model_type": "unigram",
        "character_coverage": 1.0,
        "num_threads": 1,
        **ids,
    }
    with open(os.devnull, "w") as devnull:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences * 3), model_writer=buf, logstream=devnull, **options
        )
    return buf.getvalue()


def _marian_tokenizer(lang: str, out: Path) -> dict[str, int]:
    """source.spm, target.spm, vocab.json as opus-mt ships them: ``</s>`` 0, ``<unk>`` 1, ``<pad>`` last."""
    import sentencepiece as spm

    (out / "source.spm").write_bytes(_spm(CORPORA[lang], 300, bos_id=-1, eos_id=-1, unk_id=0))
    (out / "target.spm").write_bytes(_spm(CORPORA["en"], 300, bos_id=-1, eos_id=-1, unk_id=0))
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for name in ("source.spm", "target.spm"):
        sp = spm.SentencePieceProcessor(model_file=str(out / name))
        for piece in (sp.id_to_piece(i) for i in range(sp.get_piece_size())):
            if piece not in vocab and piece not in ("<s>", "<pad>"):
                vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8")
    config = {"source_lang": lang, "target_lang": "en"}
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return {"eos": 0, "unk": 1, "pad": vocab["<pad>"], "vocab": len(vocab)}


def _bart_tokenizer(out: Path) -> dict[str, int]:
    """vocab.json + merges.txt of a byte-level BPE with BART's specials: <s> 0, <pad> 1, </s> 2."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(CORPUS_EN, vocab_size=500, min_frequency=2, special_tokens=specials)
    bpe.save_model(str(out))
    size = len(json.loads((out / "vocab.json").read_text(encoding="utf-8")))
    return {"bos": 0, "pad": 1, "eos": 2, "vocab": size}


def _sentencepiece_tokenizer(family: str, out: Path) -> dict[str, int]:
    """spiece.model with T5's and PEGASUS's ids (<pad> 0, </s> 1, <unk> 2)."""
    (out / "spiece.model").write_bytes(_spm(CORPUS_EN, 300, pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
    # T5 adds 100 sentinel tokens after the pieces; PEGASUS puts 103 mask/unk tokens before them
    # (and its 3 specials map onto its own): both end up 100 or 103 ids larger than the spm.
    return {"pad": 0, "eos": 1, "vocab": 300 + (100 if family == "t5" else 103)}


def _tokenizer_files(replica: Replica, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    if replica.family == "marian":
        assert replica.lang is not None
        return _marian_tokenizer(replica.lang, out)
    if replica.family == "bart":
        return _bart_tokenizer(out)
    return _sentencepiece_tokenizer(replica.family, out)


# --- models -------------------------------------------------------------------------------------


def _model_config(replica: Replica, ids: dict[str, int]) -> Any:
    from transformers import BartConfig, MarianConfig, PegasusConfig, T5Config

    if replica.family == "t5":
        # decoder_start_token_id and n_positions are not T5Config fields: extra keys, as in t5-small
        extra: dict[str, Any] = {"decoder_start_token_id": 0, "n_positions": replica.positions}
        return T5Config(
            vocab_size=ids["vocab"],
            d_model=32,
            d_kv=16,
            d_ff=64,
            num_layers=2,
            num_heads=2,
            pad_token_id=0,
            eos_token_id=1,
            **extra,
        )
    common = {**TINY_DIMS, "vocab_size": ids["vocab"], "max_position_embeddings": replica.positions}
    if replica.family == "marian":
        return MarianConfig(
            **common,
            pad_token_id=ids["pad"],
            eos_token_id=ids["eos"],
            bos_token_id=ids["eos"],
            decoder_start_token_id=ids["pad"],
            scale_embedding=True,
            share_encoder_decoder_embeddings=True,
        )
    if replica.family == "bart":
        return BartConfig(
            **common,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
        )
    return PegasusConfig(
        **common, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, scale_embedding=True
    )


def _random_model(replica: Replica, ids: dict[str, int], tokenizer: Any) -> Any:
    """Random weights, scaled so outputs depend on the input (see ``backendmodels.sharpen``).

    The pad token, which T5 and PEGASUS also start decoding from, gets a zero embedding so random
    weights never pick it (a real model never writes padding). Where the family has a
    ``final_logits_bias``, the end token gets a bias (``_end_bias``), so some outputs end on their
    own and others run to the length limit.
    """
    import torch
    from transformers import AutoModelForSeq2SeqLM

    torch.manual_seed(replica.seed)
    model = AutoModelForSeq2SeqLM.from_config(_model_config(replica, ids)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2 and "embed_positions" not in name:  # Marian, PEGASUS: fixed sinusoids
                param.mul_(10.0 if replica.family != "t5" else 3.0)
        if replica.family in ("t5", "pegasus"):
            model.get_input_embeddings().weight[ids["pad"]] = 0.0
        if hasattr(model, "final_logits_bias"):
            model.final_logits_bias[0, ids["eos"]] = _end_bias(model, tokenizer, replica, ids["eos"])
    return model


def _end_bias(model: Any, tokenizer: Any, replica: Replica, eos: int) -> float:
    """The bias that puts the end token first at a tenth of the greedy decoding steps on sample
    text (its first 24 steps), so outputs end after a few to a few dozen tokens or not at all."""
    import torch

    enc = tokenizer(CORPORA[replica.lang or "en"][:8], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(
            **enc, num_beams=1, max_length=24, min_length=24, output_logits=True, return_dict_in_generate=True
        )
    logits = torch.cat(out.logits)  # (steps x rows, vocab)
    others = logits.clone()
    others[:, eos] = float("-inf")
    margins = others.max(dim=-1).values - logits[:, eos]
    return float(torch.quantile(margins, 0.1))


def _save(model: Any, replica: Replica, layout: str, ids: dict[str, int], tokenizer: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    generation = generation_settings(replica.family, layout, ids)
    config_keys = (
        {"task_specific_params": replica.task_specific_params} if replica.task_specific_params else {}
    )
    if layout == "legacy":
        config_keys |= replica.legacy_extra
    builders.save_checkpoint(model, out, layout, generation, config_keys)
    for file in tokenizer.iterdir():
        shutil.copyfile(file, out / file.name)
    limit = TOKENIZER_MAX_LENGTH[replica.family][layout]
    if layout == "modern" and replica.family != "marian":
        # tokenizer.json is what transformers writes for the slow files: the same tokenizer, fast
        with tempfile.TemporaryDirectory(prefix="replica-tok-") as tmp:
            AutoTokenizer.from_pretrained(out).save_pretrained(tmp)
            shutil.copyfile(Path(tmp) / "tokenizer.json", out / "tokenizer.json")
            saved = json.loads((Path(tmp) / "tokenizer_config.json").read_text(encoding="utf-8"))
        write_tokenizer_config(out, saved if replica.family != "bart" else None, limit)
    else:
        existing = out / "tokenizer_config.json"
        base = json.loads(existing.read_text(encoding="utf-8")) if existing.is_file() else None
        write_tokenizer_config(out, base if base is not None or limit else None, limit)


def build_replica(replica: Replica, root: Path) -> dict[str, Path]:
    """``replica`` in both layouts under ``root``; returns {layout: directory}."""
    import warnings

    from transformers import AutoTokenizer

    name = replica.repo_id.replace("/", "--")
    tokenizer = root / f"{name}-tokenizer"
    ids = _tokenizer_files(replica, tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _model_config(replica, ids).save_pretrained(tokenizer)  # tells AutoTokenizer the class
        model = _random_model(replica, ids, AutoTokenizer.from_pretrained(tokenizer))
        (tokenizer / "config.json").unlink()
        dirs = {layout: root / layout / name for layout in LAYOUTS}
        for layout, out in dirs.items():
            _save(model, replica, layout, ids, tokenizer, out)
    shutil.rmtree(tokenizer)
    return dirs


def place_replicas(root: Path, replicas: tuple[Replica, ...] = REPLICAS) -> dict[str, Path]:
    """Build every replica and place each layout into its own HF_HOME; returns {layout: HF_HOME}."""
    homes = {layout: root / f"hf-{layout}" for layout in LAYOUTS}
    for replica in replicas:
        for layout, folder in build_replica(replica, root / "models").items():
            place_in_hf_cache(folder, replica.repo_id, homes[layout], commit=COMMITS[layout])
    return homes
