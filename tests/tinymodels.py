"""Tiny, real transformers models built from scratch in seconds, for tests that must run offline.

Every builder trains its tokenizer on a small corpus embedded below, creates a model from a tiny
random config with a fixed seed (with ``clsum.bench.standins.builders``, which also builds the bench's
stand-ins for the real models), and writes both with ``save_pretrained`` so that
``AutoTokenizer.from_pretrained(dir)`` and ``AutoModelForSeq2SeqLM.from_pretrained(dir)`` load them
exactly like a downloaded checkpoint. Same seed, same files: the outputs are deterministic.

``place_in_hf_cache`` lays a model directory out like the Hugging Face hub cache, so code that loads
hub ids (``Helsinki-NLP/opus-mt-de-en``) can be tested with ``HF_HOME`` pointing at it and
``HF_HUB_OFFLINE=1``.

This module has no pytest dependency; torch/transformers/sentencepiece/tokenizers are imported
lazily so that importing it never initialises ``huggingface_hub`` before the environment is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from clsum.bench.standins import builders

# A fixed, fake commit hash for models placed in the test HF cache.
DEFAULT_COMMIT = "0123456789abcdef0123456789abcdef01234567"

# Hub ids the clsum defaults use; tests place tiny models under these names.
DEFAULT_HUB_IDS = {
    "de": "Helsinki-NLP/opus-mt-de-en",
    "nl": "Helsinki-NLP/opus-mt-nl-en",
    "summarizer": "sshleifer/distilbart-cnn-12-6",
}

CORPUS_DE = [
    "Die Bundesregierung hat am Montag ein neues Klimaschutzgesetz vorgestellt.",
    "Der Bundestag stimmt nächste Woche über den Haushalt für das Jahr 2025 ab.",
    "In München demonstrierten am Wochenende mehr als zehntausend Menschen für höhere Löhne.",
    "Die Deutsche Bahn kündigte für Donnerstag einen bundesweiten Streik an.",
    "Nach Angaben der Polizei wurde bei dem Unfall niemand schwer verletzt.",
    "Die Inflation ist im Oktober überraschend auf 2,4 Prozent gesunken.",
    "Der Bürgermeister von Köln äußerte sich zufrieden über die Ergebnisse.",
    "Die Straße zwischen Hamburg und Lübeck bleibt bis Freitag gesperrt.",
    "Forscher der Universität Heidelberg haben einen neuen Impfstoff getestet.",
    "Die Preise für Heizöl und Gas sind in diesem Winter deutlich gestiegen.",
    "Der Fußballverein gewann das Spiel gegen Dortmund mit drei zu eins.",
    "Viele Schüler in Sachsen müssen wegen Lehrermangels weite Wege zurücklegen.",
    "Die Ministerin für Gesundheit will die Krankenhäuser in ländlichen Regionen stärken.",
    "Am Flughafen Frankfurt fielen wegen des Sturms zahlreiche Flüge aus.",
    "Die Gewerkschaft fordert eine Erhöhung der Gehälter um acht Prozent.",
    "Über den Vorschlag soll im Frühjahr in einer Volksabstimmung entschieden werden.",
    "Der Angeklagte bestritt vor Gericht alle Vorwürfe gegen ihn.",
    "Die Zahl der Arbeitslosen ist im vergangenen Monat leicht gestiegen.",
    "Ein großes Feuer zerstörte in der Nacht eine Lagerhalle in Düsseldorf.",
    "Die Europäische Zentralbank lässt den Leitzins vorerst unverändert.",
    "Der Wetterdienst warnt vor Glätte und Schnee im Süden des Landes.",
    "Die Opposition kritisierte den Plan als unsozial und zu teuer.",
    "Im Rathaus wurde ein neues Konzept für den öffentlichen Nahverkehr präsentiert.",
    "Das Museum zeigt ab Samstag Gemälde aus dem achtzehnten Jahrhundert.",
    "Die Autoindustrie setzt zunehmend auf Elektrofahrzeuge und Batterien.",
    "Ärzte warnen vor einer starken Grippewelle in den kommenden Wochen.",
    "Der Kanzler reist morgen zu Gesprächen nach Paris und Brüssel.",
    "Die Mieten in Berlin sind in den letzten fünf Jahren stark gestiegen.",
    "Ein Sprecher des Ministeriums wollte sich zu den Berichten nicht äußern.",
    "Die Feuerwehr konnte den Brand nach zwei Stunden löschen.",
    "Größere Unternehmen müssen künftig ihre Emissionen genauer melden.",
    "Die Wahlbeteiligung lag bei etwa zweiundsiebzig Prozent.",
    "Der Rhein führt nach tagelangem Regen Hochwasser.",
    "Schätzungen zufolge fehlen bundesweit rund vierhunderttausend Wohnungen.",
    "Die Verhandlungen über einen neuen Tarifvertrag wurden ergebnislos abgebrochen.",
    "Das Gericht in Karlsruhe hat die Klage der Länder abgewiesen.",
    "Frage: Wer zahlt am Ende? Antwort: „Die Steuerzahler!“, sagte der Ökonom (55).",
    "Die Kosten liegen bei 3,5 Mio. € – rund 12 % mehr als geplant; Details folgen.",
    'Zitat: "Wir schaffen das", erklärte sie am 1. Januar in Zürich & Wien.',
]

CORPUS_NL = [
    "Het kabinet heeft maandag een nieuw klimaatplan gepresenteerd.",
    "De Tweede Kamer stemt volgende week over de begroting voor 2025.",
    "In Amsterdam demonstreerden zaterdag duizenden mensen voor betaalbare woningen.",
    "De NS kondigde voor donderdag een landelijke staking aan.",
    "Volgens de politie raakte niemand ernstig gewond bij het ongeluk.",
    "De inflatie is in oktober onverwacht gedaald tot 2,4 procent.",
    "De burgemeester van Rotterdam was tevreden over de resultaten.",
    "De weg tussen Utrecht en Arnhem blijft tot vrijdag afgesloten.",
    "Onderzoekers van de Universiteit Leiden hebben een nieuw vaccin getest.",
    "De prijzen voor gas en stroom zijn deze winter flink gestegen.",
    "De voetbalclub won de wedstrijd tegen Ajax met drie tegen één.",
    "Veel scholieren in Groningen moeten door het lerarentekort ver reizen.",
    "De minister van Volksgezondheid wil de ziekenhuizen in de regio versterken.",
    "Op Schiphol werden vanwege de storm tientallen vluchten geschrapt.",
    "De vakbond eist een loonsverhoging van acht procent.",
    "Over het voorstel wordt in het voorjaar een referendum gehouden.",
    "De verdachte ontkende voor de rechter alle beschuldigingen.",
    "Het aantal werklozen is vorige maand licht gestegen.",
    "Een grote brand verwoestte vannacht een loods in Eindhoven.",
    "De Europese Centrale Bank laat de rente voorlopig ongewijzigd.",
    "Het KNMI waarschuwt voor gladheid en sneeuw in het noorden.",
    "De oppositie noemde het plan onrechtvaardig en te duur.",
    "In het stadhuis werd een nieuw plan voor het openbaar vervoer gepresenteerd.",
    "Het museum toont vanaf zaterdag schilderijen uit de achttiende eeuw.",
    "De auto-industrie richt zich steeds meer op elektrische voertuigen.",
    "Artsen waarschuwen voor een zware griepgolf in de komende weken.",
    "De premier reist morgen naar Parijs en Brussel voor overleg.",
    "De huren in Den Haag zijn de afgelopen vijf jaar sterk gestegen.",
    "Een woordvoerder van het ministerie wilde niet reageren op de berichten.",
    "De brandweer had het vuur na twee uur onder controle.",
    "Grote bedrijven moeten hun uitstoot voortaan nauwkeuriger melden.",
    "De opkomst bij de verkiezingen lag rond tweeënzeventig procent.",
    "De Maas treedt na dagen van regen buiten haar oevers.",
    "Naar schatting is er een tekort van vierhonderdduizend woningen.",
    "Het overleg over een nieuwe cao is zonder resultaat afgebroken.",
    "Café Dijkstra in Zeeuws-Vlaanderen vierde zijn honderdjarig bestaan met een reünie.",
    "Vraag: wie betaalt uiteindelijk? Antwoord: „De belastingbetaler!”, zei de econoom (55).",
    "De kosten bedragen 3,5 mln. € – zo'n 12 % meer dan gepland; details volgen.",
    'Citaat: "Wij kunnen het", verklaarde zij op 1 januari in Gent & Brugge; geëmotioneerd, één keer.',
]

CORPUS_EN = [
    "The government presented a new climate law on Monday.",
    "Parliament will vote on the budget for 2025 next week.",
    "Thousands of people demonstrated for higher wages in the capital on Saturday.",
    "The railway company announced a nationwide strike for Thursday.",
    "According to the police, nobody was seriously injured in the accident.",
    "Inflation unexpectedly fell to 2.4 percent in October.",
    "The mayor said he was satisfied with the results.",
    "The road between the two cities will remain closed until Friday.",
    "Researchers at the university have tested a new vaccine.",
    "Prices for gas and electricity have risen sharply this winter.",
    "The football club won the match against its rival by three goals to one.",
    "Many pupils have to travel long distances because of the teacher shortage.",
    "The health minister wants to strengthen hospitals in rural areas.",
    "Dozens of flights were cancelled at the airport because of the storm.",
    "The union is demanding a pay rise of eight percent.",
    "A referendum on the proposal will be held in the spring.",
    "The defendant denied all the charges against him in court.",
    "The number of unemployed people rose slightly last month.",
    "A large fire destroyed a warehouse during the night.",
    "The European Central Bank is leaving interest rates unchanged for now.",
    "The weather service warns of ice and snow in the north of the country.",
    "The opposition criticised the plan as unfair and too expensive.",
    "A new plan for public transport was presented at the town hall.",
    "From Saturday the museum is showing paintings from the eighteenth century.",
    "The car industry is increasingly focusing on electric vehicles and batteries.",
    "Doctors are warning of a severe flu outbreak in the coming weeks.",
    "The chancellor travels to Paris and Brussels tomorrow for talks.",
    "Rents in the city have risen sharply over the past five years.",
    "A spokesman for the ministry declined to comment on the reports.",
    "Firefighters brought the blaze under control after two hours.",
    "Large companies will have to report their emissions more accurately.",
    "Turnout in the election was around seventy-two percent.",
    "The river has flooded after days of heavy rain.",
    "An estimated four hundred thousand homes are missing across the country.",
    "Talks on a new collective agreement broke down without a result.",
    "The court rejected the complaint brought by the regional governments.",
    "Officials said the new bridge would open to traffic early next year.",
    "Analysts expect economic growth to remain weak until the summer.",
    'Question: who pays in the end? Answer: "The taxpayers!", the economist (55) said.',
    "The costs amount to 3.5 million euros - about 12% more than planned; details will follow.",
    "'We can do it,' she said on 1 January in Zurich & Vienna.",
]

CORPORA = {"de": CORPUS_DE, "nl": CORPUS_NL, "en": CORPUS_EN}


# Small enough that a model builds in ~0.1 s and generates in milliseconds.
TINY_DIMS: dict[str, Any] = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
}
_TINY_MARIAN: dict[str, Any] = {
    **TINY_DIMS,
    "max_position_embeddings": 256,
    "scale_embedding": True,
    "share_encoder_decoder_embeddings": True,
}


def save_model(
    out: Path, vocab: builders.Vocab, spec: builders.ModelSpec, generation: dict[str, Any]
) -> None:
    """config.json, model.safetensors (random weights from ``spec.seed``) and generation_config.json
    (``generation`` and the tokenizer's special ids)."""
    from transformers import GenerationConfig

    model = builders.random_model(vocab, spec)
    ids: dict[str, Any] = dict(vocab.config_ids)
    if vocab.kind == "marian":  # decoding starts from <pad>, which may never be generated
        ids |= {"bos_token_id": ids["eos_token_id"], "bad_words_ids": [[ids["pad_token_id"]]]}
    else:  # BART: the first generated token is forced to <s>
        ids["forced_bos_token_id"] = ids["bos_token_id"]
    model.generation_config = GenerationConfig(**{**generation, **ids})
    model.save_pretrained(out)


def build_marian(
    out_dir: Path,
    src_lang: str,
    *,
    max_input_tokens: int = 128,
    max_new_length: int = 24,
    seed: int = 0,
) -> Path:
    """A tiny random MarianMT ``src_lang``->en model with its own SentencePiece tokenizer.

    The vocabulary follows opus-mt: ``</s>`` = 0, ``<unk>`` = 1, then the pieces of both spm models,
    ``<pad>`` last; decoding starts from ``<pad>``. Returns ``out_dir``.
    """
    if src_lang not in ("de", "nl"):
        raise ValueError(f"no embedded corpus for source language {src_lang!r} (have de, nl)")
    out_dir = Path(out_dir)
    spec = builders.TokenizerSpec(size=300, max_input_tokens=max_input_tokens, seed=seed)
    vocab = builders.marian_tokenizer(out_dir, src_lang, CORPORA[src_lang], CORPORA["en"], spec)
    generation = {"num_beams": 1, "max_length": max_new_length}
    save_model(out_dir, vocab, builders.ModelSpec(_TINY_MARIAN, seed=seed), generation)
    return out_dir


def build_bart(out_dir: Path, *, max_positions: int = 64, max_new_length: int = 24, seed: int = 0) -> Path:
    """A tiny random BART summarizer (distilbart-like) with a byte-level BPE tokenizer. Returns ``out_dir``.

    The tokenizer's ``model_max_length`` equals ``max_positions`` so long documents need several chunks.
    """
    out_dir = Path(out_dir)
    vocab = builders.bart_tokenizer(out_dir, CORPUS_EN, builders.TokenizerSpec(500, max_positions))
    architecture = {**TINY_DIMS, "max_position_embeddings": max_positions}
    generation = {"num_beams": 1, "max_length": max_new_length, "min_length": 0, "no_repeat_ngram_size": 3}
    save_model(out_dir, vocab, builders.ModelSpec(architecture, seed=seed), generation)
    return out_dir


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def place_in_hf_cache(model_dir: Path, repo_id: str, hf_home: Path, commit: str = DEFAULT_COMMIT) -> Path:
    """Lay ``model_dir`` out in ``hf_home`` exactly like a hub download of ``repo_id`` at ``commit``.

    ``hub/models--{org}--{name}/blobs/<sha256>`` hold the bytes, ``snapshots/<commit>/<file>`` are
    relative symlinks to them, ``refs/main`` names the commit. Returns the snapshot directory.
    """
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        raise ValueError(f"commit must be 40 lowercase hex characters, got {commit!r}")
    repo = Path(hf_home) / "hub" / f"models--{repo_id.replace('/', '--')}"
    blobs, snapshot = repo / "blobs", repo / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    if snapshot.exists():
        shutil.rmtree(snapshot)
    snapshot.mkdir(parents=True)
    for file in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        rel = file.relative_to(model_dir)
        sha = _sha256(file)
        blob = blobs / sha
        if not blob.exists():
            shutil.copyfile(file, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def offline_env(hf_home: Path, **extra: str) -> dict[str, str]:
    """The current environment with HF_HOME set to ``hf_home`` and every hub access switched off."""
    env = dict(os.environ)
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_ENDPOINT"):
        env.pop(key, None)
    env.update(
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    env.update(extra)
    return env


def run_offline(
    code: str, hf_home: Path, *, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code`` with ``offline_env(hf_home)`` (the env must be set before HF imports)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=offline_env(hf_home),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_LOAD_CHECK = """
import json, sys
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
repo_id = sys.argv[1] if len(sys.argv) > 1 else {repo_id!r}
tok = AutoTokenizer.from_pretrained(repo_id)
model = AutoModelForSeq2SeqLM.from_pretrained(repo_id)
enc = tok(["Ein kurzer Satz."], return_tensors="pt")
out = model.generate(**enc)
print(json.dumps({{"tokenizer": type(tok).__name__, "model": type(model).__name__,
                  "max": tok.model_max_length, "out_len": int(out.shape[1])}}))
"""


def check_hf_cache_loads(repo_id: str, hf_home: Path, timeout: float = 300) -> dict[str, Any]:
    """Load ``repo_id`` from ``hf_home`` offline in a fresh interpreter; returns what it saw."""
    proc = run_offline(_LOAD_CHECK.format(repo_id=repo_id), hf_home, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"loading {repo_id} from {hf_home} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _selfcheck(root: Path) -> None:
    """Build everything once, check round trips and generation, time it (``python tests/tinymodels.py``)."""
    import time

    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    samples = {
        "de": "Größere Straßen in Köln: Bürger äußern Ärger über Lärm.",
        "nl": "De reünie in Zeeuws-Vlaanderen was een groot succes.",
    }
    for name in ("de", "nl", "summarizer"):
        start = time.perf_counter()
        path = build_bart(root / name) if name == "summarizer" else build_marian(root / name, name)
        built = time.perf_counter() - start
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSeq2SeqLM.from_pretrained(path)
        text = samples.get(name, "The mayor said he was satisfied with the results.")
        ids = tok(text)["input_ids"]
        back = tok.decode(ids, skip_special_tokens=True)
        out = model.generate(**tok([text], return_tensors="pt"))
        kind = type(tok).__name__
        print(f"{name}: built in {built:.2f}s, {kind}, vocab {len(tok)}, max {tok.model_max_length}")
        print(f"  round trip {'OK' if back == text else 'FAILED'}: {back!r}")
        print(f"  generate -> {tok.batch_decode(out, skip_special_tokens=True)[0]!r}")
    hf_home = root / "hf"
    for name, repo_id in DEFAULT_HUB_IDS.items():
        place_in_hf_cache(root / name, repo_id, hf_home)
        print(f"{repo_id} from cache: {check_hf_cache_loads(repo_id, hf_home)}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as _tmp:
        _selfcheck(Path(_tmp))
