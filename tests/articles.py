"""Messy articles for end-to-end tests, written for the tests (no external data)."""

from __future__ import annotations

from pathlib import Path

NL_BODY = (
    "De gemeente Utrecht heeft gisteren nieuwe fietspaden geopend in het centrum van de stad. "
    "Volgens de wethouder zijn de paden breder en veiliger dan de oude routes. "
    "Bewoners reageren over het algemeen positief, maar winkeliers maken zich zorgen over de bevoorrading."
)
DE_BODY = (
    "Die Stadt München hat am Montag eine neue Straßenbahnlinie in Betrieb genommen. "
    "Nach Angaben der Verkehrsbetriebe fahren die Bahnen tagsüber alle zehn Minuten. "
    "Fahrgäste lobten die Verbindung, Anwohner klagten jedoch über den Lärm der Bauarbeiten."
)
EN_BODY = (
    "The city council approved a new budget for public libraries on Tuesday. "
    "Officials said the money will pay for longer opening hours and more books for children. "
    "Critics argued that the plan does not address the shortage of staff."
)
FR_BODY = (
    "Le conseil municipal de Lyon a voté hier un nouveau budget pour les bibliothèques publiques. "
    "Selon le maire, les horaires d'ouverture seront prolongés dès le mois prochain."
)

SENTENCES_NL = [
    "Het kabinet wil volgend jaar meer geld uittrekken voor onderwijs en zorg.",
    "De minister van Financiën presenteerde de plannen dinsdag in Den Haag.",
    "Oppositiepartijen noemen de begroting onvoldoende en willen lagere lasten.",
    "Economen verwachten dat de inflatie in de komende maanden verder daalt.",
    "Vakbonden eisen hogere lonen voor leraren en verpleegkundigen.",
    "De Tweede Kamer debatteert volgende week over de voorstellen.",
    "Gemeenten krijgen extra middelen voor de opvang van asielzoekers.",
    "Het Centraal Planbureau rekent de plannen later deze maand door.",
]


def long_dutch_article(paragraphs: int = 6) -> str:
    """Long enough that a 64-token summarizer needs several chunks."""
    return "\n\n".join(" ".join(SENTENCES_NL[(i + j) % 8] for j in range(4)) for i in range(paragraphs))


def write_messy_corpus(root: Path) -> dict[str, str]:
    """Write the corpus under ``root``; returns id -> the stage it should fail in ('' for success)."""
    files: dict[str, tuple[bytes, str]] = {
        "nl/mojibake.txt": (
            ("Nieuwe zonnepanelen zijn geïnstalleerd op het stadhuis. " + NL_BODY)
            .encode("utf-8")
            .decode("cp437")
            .encode("utf-8"),
            "",
        ),
        "nl/oud cp1252.txt": (
            ("Het café aan de haven is één van de oudste. " + NL_BODY).encode("cp1252"),
            "",
        ),
        "de/utf16.txt": (("Die Straßenbahn kommt pünktlich. " + DE_BODY).encode("utf-16"), ""),
        "de/fotos.txt": (
            (
                "Neue Straßenbahn für München\n\n"
                f"{DE_BODY}\n\n"
                "Eröffnung: Die erste Bahn am Marienplatz\n\n"
                "Eröffnung: Die erste Bahn am Marienplatz\n\n"
                "Foto: Peter Kneffel / dpa\n\n"
                f"{DE_BODY}\n\n"
                "Fotostrecke\n\n"
                "Die schönsten Straßenbahnen Europas\n\n"
                "ak/Reuters\n"
            ).encode(),
            "",
        ),
        "nl/meta.txt": (f" date 2021-09 {NL_BODY}\n\n{NL_BODY}\n".encode(), ""),
        "de/seite.html": (
            (
                "<html><head><title>Neue Straßenbahn</title><script>var tracking = 'GEHEIM';</script></head>"
                "<body><nav>Startseite | Politik | Sport | NAVIGATIONSTEXT</nav>"
                f"<article><h1>Neue Straßenbahn</h1><p>{DE_BODY}</p><p>{DE_BODY}</p></article>"
                "<footer>Impressum FUSSZEILE Datenschutz</footer></body></html>"
            ).encode(),
            "",
        ),
        "en/story.txt": (f"{EN_BODY}\n\n{EN_BODY}\n".encode(), ""),
        "fr/article.txt": (FR_BODY.encode(), "detect"),
        "empty.txt": (b"", "ingest"),
        "blank.txt": (b"  \n\t\n   \n", "ingest"),
        "binary.txt": (bytes(range(256)) * 4, "ingest"),
        "Ordner mit Leerzeichen/überschrift ä.txt": (f"{DE_BODY}\n".encode(), ""),
        "nl/lang.md": (f"# Begroting\n\n{long_dutch_article()}\n".encode(), ""),
    }
    for rel, (data, _) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: stage for rel, (_, stage) in files.items()}


DE_MORE = (
    "Der Bürgermeister sprach von einem wichtigen Tag für die Stadt und ihre Bewohner. "
    "Die Bauarbeiten hatten fast drei Jahre gedauert und deutlich mehr gekostet als geplant."
)
NL_MORE = (
    "De minister van Financiën presenteerde de plannen dinsdag in Den Haag aan de Tweede Kamer. "
    "Oppositiepartijen noemen de begroting onvoldoende en willen lagere lasten voor gezinnen."
)


def mixed_german_dutch_article() -> str:
    """A German report that quotes a Dutch statement at length: two paragraphs of each language."""
    return "\n\n".join([DE_BODY, DE_MORE, NL_BODY, NL_MORE])
