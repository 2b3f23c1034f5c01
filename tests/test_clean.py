"""Clean: each rule on a small hand-checkable input, then Markdown, HTML and the real seed articles."""

from __future__ import annotations

from pathlib import Path

import pytest

import clsum.pipeline.html as html_module
from clsum.pipeline.clean import clean
from clsum.pipeline.ingest import ingest
from clsum.record import Record

SEEDS = Path("/work/shared/seeds")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "articles"
BODY = "Die Stadt hat am Montag die neue Brücke eröffnet. Der Verkehr fließt wieder."
MORE = "Der Bürgermeister sprach von einem guten Tag für alle Pendler."


def run(raw: str, fmt: str = "text") -> Record:
    return clean([Record(id="doc", raw=raw, fmt=fmt)])[0]


def kinds(record: Record) -> list[tuple[str, str]]:
    return [(r.kind, r.text) for r in record.removed]


# --- paragraphs -----------------------------------------------------------------------------------


def test_paragraphs_split_on_blank_lines_and_join_single_newlines() -> None:
    record = run(f"{BODY}\nnoch ein Satz.\n\n\n  {MORE}  \n")
    assert record.paragraphs == [f"{BODY} noch ein Satz.", MORE]
    assert record.removed == [] and record.title is None


def test_without_blank_lines_each_line_is_a_paragraph() -> None:
    assert run(f"{BODY}\n{MORE}").paragraphs == [BODY, MORE]


def test_whitespace_inside_paragraphs_is_normalized() -> None:
    assert run("Ein\u00a0 Satz\tmit   Lücken.").paragraphs == ["Ein Satz mit Lücken."]


def test_same_list_in_same_order_and_failed_records_skipped() -> None:
    failed = Record(id="bad")
    failed.fail("ingest", "file is empty")
    records = [Record(id="a", raw=BODY), failed, Record(id="b", raw=MORE)]
    assert clean(records) is records
    assert [r.paragraphs for r in records] == [[BODY], [], [MORE]]
    assert failed.error is not None and failed.error.stage == "ingest"


def test_nothing_left_fails_the_record() -> None:
    record = run("Foto: dpa\n\n(dpa)")
    assert record.error is not None
    assert (record.error.stage, record.error.message) == ("clean", "no article text left after cleaning")


# --- title ----------------------------------------------------------------------------------------


def test_short_first_line_without_punctuation_is_the_title() -> None:
    record = run(f"Neue Brücke eröffnet\n\n{BODY}")
    assert record.title == "Neue Brücke eröffnet" and record.paragraphs == [BODY]
    assert record.removed == []  # a title is not removed content


@pytest.mark.parametrize(
    "raw",
    [
        f"{BODY}\n\n{MORE}",  # ends with a full stop
        "Neue Brücke eröffnet",  # nothing follows
        f"Neue Brücke eröffnet\nzweite Zeile\n\n{BODY}",  # two lines
        " ".join(["Wort"] * 21) + f"\n\n{BODY}",  # too long
    ],
)
def test_title_is_conservative(raw: str) -> None:
    assert run(raw).title is None


# --- metadata -------------------------------------------------------------------------------------


def test_leading_metadata_lines() -> None:
    raw = f"date: 2021-09-14\nAuthor: Jan de Vries\nbron NOS\ntitle: Brug open\n\n{BODY}"
    record = run(raw)
    assert record.metadata == {
        "date": "2021-09-14",
        "author": "Jan de Vries",
        "source": "NOS",
        "title": "Brug open",
    }
    assert record.title == "Brug open" and record.paragraphs == [BODY]
    assert [k for k, _ in kinds(record)] == ["metadata"] * 4


def test_metadata_glued_to_first_sentence() -> None:
    record = run(f" date 2021-09 {BODY}\n\n{MORE}")
    assert record.metadata == {"date": "2021-09"}
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("metadata", "date 2021-09")]


def test_metadata_only_at_the_start_and_only_known_keys() -> None:
    raw = f"date night in Berlin was fun\n\n{BODY}\n\nauthor: not metadata here"
    record = run(raw)
    assert record.metadata == {}
    assert record.paragraphs[-1] == "author: not metadata here"


# --- photo credits and captions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "credit",
    ["Foto: Wu Hong / EPA", "Bild: dpa", "Foto ANP", "(Foto: dpa)", "Beeld: Reuters", "Photo: AP", "© dpa"],
)
def test_photo_credit_lines(credit: str) -> None:
    record = run(f"{BODY}\n\n{credit}\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("photo_credit", credit)]


def test_caption_ending_in_credit() -> None:
    caption = "Der Bürgermeister auf der neuen Brücke. Foto: Anna Schmidt / dpa"
    record = run(f"{BODY}\n\n{caption}\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("caption", caption)]


def test_sentences_mentioning_photos_stay() -> None:
    raw = (
        f"Foto's van de ramp gingen de hele wereld over.\n\n{BODY}\n\nHij maakte een foto: de brug was leeg."
    )
    assert run(raw).removed == []


# --- repeated captions ----------------------------------------------------------------------------


def test_repeated_caption_drops_both_copies_even_inside_a_paragraph() -> None:
    caption = "Diplomat: Der Minister am Samstag in Peking"
    record = run(f"{BODY}\n{caption}\n\n{caption.upper()}\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("repeated_caption", caption), ("repeated_caption", caption.upper())]


@pytest.mark.parametrize("text", [BODY, " ".join([MORE] * 3)])
def test_repeated_story_text_keeps_one_copy(text: str) -> None:
    # Two sentences, or more than 30 words: story text pasted twice, not a caption.
    record = run(f"{text}\n\n{text}\n\n{MORE} Ende.")
    assert record.paragraphs == [text, f"{MORE} Ende."]
    assert kinds(record) == [("duplicate", text)]


# --- galleries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker", ["Fotostrecke", "Bildergalerie", "Fotoserie", "Video", "Fotostrecke 12 Bilder"]
)
def test_gallery_marker_and_its_title(marker: str) -> None:
    record = run(f"{BODY}\n\n{marker}\n\nDie schönsten Brücken der Welt\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("gallery", marker), ("gallery", "Die schönsten Brücken der Welt")]


def test_gallery_marker_keeps_a_following_sentence() -> None:
    record = run(f"{BODY}\n\nFotostrecke\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("gallery", "Fotostrecke")]


# --- agencies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signoff", ["(ANP)", "ANP", "dpa", "(dpa)", "AFP", "Reuters", "ak/Reuters", "mes/dpa/AFP"]
)
def test_agency_signoff_lines(signoff: str) -> None:
    record = run(f"{BODY}\n\n{MORE}\n\n{signoff}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("agency", signoff)]


def test_agency_glued_to_last_paragraph_and_dateline_kept() -> None:
    record = run(f"BERLIN (dpa) - {BODY}\n\n{MORE} (ANP)")
    assert record.paragraphs == [f"BERLIN (dpa) - {BODY}", MORE]
    assert kinds(record) == [("agency", "(ANP)")]


# --- related links --------------------------------------------------------------------------------


def test_related_marker_with_link_on_same_line() -> None:
    record = run(f"{BODY}\n\nLees ook: Nieuwe brug kost miljoenen meer\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("related", "Lees ook: Nieuwe brug kost miljoenen meer")]


@pytest.mark.parametrize("marker", ["Lesen Sie auch", "Mehr zum Thema", "Read more:"])
def test_bare_related_marker_drops_the_next_title(marker: str) -> None:
    record = run(f"{BODY}\n\n{marker}\n\nBrücken in Gefahr: Was jetzt zu tun ist\n\n{MORE}")
    assert record.paragraphs == [BODY, MORE]
    assert kinds(record) == [("related", marker), ("related", "Brücken in Gefahr: Was jetzt zu tun ist")]


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown() -> None:
    raw = (
        "---\ntitle: Front matter title\ndate: 2024-03-12\n---\n"
        "# Brücke eröffnet\n\n"
        "Die **Stadt** hat die [neue Brücke](https://example.org) *feierlich* eröffnet.\n"
        "![Die Brücke](bruecke.jpg)\n\n"
        "## Kosten\n"
        "Die Brücke kostete:\n- 12 Millionen Euro\n* mehr als geplant\n"
    )
    record = run(raw, fmt="markdown")
    assert record.title == "Brücke eröffnet"  # the visible headline wins over front matter
    assert record.metadata == {"title": "Front matter title", "date": "2024-03-12"}
    assert record.paragraphs == [
        "Die Stadt hat die neue Brücke feierlich eröffnet.",
        "Kosten",
        "Die Brücke kostete:",
        "12 Millionen Euro",
        "mehr als geplant",
    ]
    assert ("image", "![Die Brücke](bruecke.jpg)") in kinds(record)


def test_markdown_heading_becomes_title_and_plain_rules_apply() -> None:
    record = run(f"# Brücke eröffnet\n\n{BODY}\n\nFoto: dpa\n\nsnake_case_name bleibt", fmt="markdown")
    assert record.title == "Brücke eröffnet"
    assert record.paragraphs == [BODY, "snake_case_name bleibt"]
    assert kinds(record) == [("photo_credit", "Foto: dpa")]


# --- HTML -----------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head><title>Brücke eröffnet – Stadtanzeiger</title>
<script>var tracking = "Tracking-Text";</script><style>p {{ color: red }}</style></head>
<body><div class="cookie-banner"><p>Wir verwenden Cookies für ein besseres Erlebnis.</p></div>
<header><nav><a href="/">Startseite</a> <a href="/lokal">Lokales</a></nav></header>
<article><h1>Brücke eröffnet</h1>{paragraphs}</article>
<aside><p>Beliebte Artikel: Wetter am Wochenende</p></aside>
<footer><p>© Stadtanzeiger · Impressum</p></footer></body></html>"""


def test_html_short_page_drops_boilerplate() -> None:
    record = run(PAGE.format(paragraphs=f"<p>{BODY}</p><p>{MORE}</p>"), fmt="html")
    assert record.title == "Brücke eröffnet"
    assert record.paragraphs == [BODY, MORE]


def test_html_long_page() -> None:
    paragraphs = "".join(f"<p>{BODY} {MORE} Absatz {n} erzählt mehr.</p>" for n in range(8))
    record = run(PAGE.format(paragraphs=paragraphs), fmt="html")
    assert record.title == "Brücke eröffnet"
    assert len(record.paragraphs) == 8
    text = record.source
    for boilerplate in ("Tracking", "Cookies", "Startseite", "Beliebte", "Impressum", "color"):
        assert boilerplate not in text


def test_html_tiny_fragment_falls_back_to_lxml() -> None:
    # trafilatura returns nothing for a page this small.
    record = run("<p>Nur ein kurzer Satz.</p>", fmt="html")
    assert record.paragraphs == ["Nur ein kurzer Satz."] and record.title is None


def test_html_lxml_fallback_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_module, "_trafilatura_text", lambda html, body, record: "")
    record = run(PAGE.format(paragraphs=f"<p>{BODY}</p><ul><li><p>{MORE}</p></li></ul>"), fmt="html")
    assert record.title == "Brücke eröffnet"  # the <h1>, taken as first paragraph and as title
    assert record.paragraphs == [BODY, MORE]


def test_html_with_xml_declaration() -> None:
    raw = '<?xml version="1.0" encoding="utf-8"?><html><body><p>Satz eins.</p></body></html>'
    assert run(raw, fmt="html").paragraphs == ["Satz eins."]


def test_html_without_text_fails() -> None:
    record = run("<html><body><nav>Menü</nav><script>x()</script></body></html>", fmt="html")
    assert record.error is not None and record.error.stage == "clean"


# --- examples and seeds ---------------------------------------------------------------------------


def test_examples_clean_up() -> None:
    records = {r.id: r for r in clean(ingest(EXAMPLES))}
    assert all(r.ok for r in records.values())
    german = records["de/pokal-halbfinale.txt"]
    assert {k for k, _ in kinds(german)} == {"caption", "photo_credit", "agency"}
    html = records["de/inflation-handwerk.html"]
    assert html.title == "Handwerk klagt über fehlende Aufträge"
    assert "Cookies" not in html.source and "Impressum" not in html.source
    assert (
        records["nl/zeespiegel-onderzoek.md"].title == "Wadden groeien voorlopig mee met stijgende zeespiegel"
    )


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed articles not available")
def test_seed_articles() -> None:
    first, second, third = clean(ingest(SEEDS))
    assert all(r.ok for r in (first, second, third))
    assert "geïnstalleerd" in first.source and first.removed == []
    assert second.metadata == {"date": "2021-09"}
    assert second.paragraphs[0].startswith("Chinese automakers zijn de meest concurrerende")
    assert third.title is not None and third.title.startswith("Bann des chinesischen Militärs")
    removed = kinds(third)
    assert [k for k, _ in removed].count("repeated_caption") == 2
    assert ("photo_credit", "Foto: Wu Hong / EPA") in removed
    assert ("gallery", "Fotostrecke") in removed
    assert ("gallery", "Die meistverkauften Elektroautos der Welt") in removed
    assert ("agency", "ak/Reuters") in removed
    for artefact in ("Zugeschalteter", "Foto:", "Fotostrecke", "ak/Reuters"):
        assert artefact not in third.source
    assert third.paragraphs[0].startswith("Elon Musk versucht, Chinas Führung")
