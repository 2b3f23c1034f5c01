"""Ingest: folders, single files, JSONL, encodings, mojibake and documents that are not text."""

from __future__ import annotations

import codecs
import json
import random
from pathlib import Path
from typing import Any

import pytest

from clsum.errors import InputError
from clsum.pipeline.decode import decode, looks_binary
from clsum.pipeline.ingest import ingest

SEEDS = Path("/work/shared/seeds")
TEXT = "De gemeente heeft de nieuwe brug geopend. Het verkeer rijdt weer."


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- decode ---------------------------------------------------------------------------------------


def test_decode_plain_utf8() -> None:
    assert decode("Straße über Brücke".encode()) == ("Straße über Brücke", "utf-8", [])


def test_decode_utf8_bom_is_stripped() -> None:
    text, encoding, _ = decode(codecs.BOM_UTF8 + "Grüße".encode())
    assert (text, encoding) == ("Grüße", "utf-8-sig")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_decode_utf16_with_bom(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    text, encoding, _ = decode(bom + "Café in Köln\r\nzweite Zeile".encode(codec))
    assert (text, encoding) == ("Café in Köln\nzweite Zeile", "utf-16")


def test_decode_cp1252() -> None:
    text, encoding, repairs = decode("„Übermäßig“ – 5 €".encode("cp1252"))
    assert (text, encoding, repairs) == ("„Übermäßig“ – 5 €", "cp1252", [])


def test_decode_cp1252_undefined_byte_falls_back_to_latin1() -> None:
    text, encoding, _ = decode(b"caf\xe9 \x81x")
    assert encoding == "cp1252"
    assert text.startswith("café ")  # the undefined byte is a C1 control, dropped as such


def test_decode_repairs_utf8_read_as_cp1252() -> None:
    text, _, repairs = decode("camera’s die geÃ¯nstalleerd zijn".encode())
    assert text == "camera’s die geïnstalleerd zijn"
    assert repairs == ["mojibake"]


def test_decode_repairs_utf8_read_as_cp437_next_to_curly_quotes() -> None:
    # ftfy alone leaves this line alone because the correct ’ cannot be re-encoded as cp437.
    text, _, repairs = decode("camera’s die op de voertuigen zijn ge├»nstalleerd.".encode())
    assert text == "camera’s die op de voertuigen zijn geïnstalleerd."
    assert repairs == ["mojibake"]


def test_decode_keeps_curly_quotes_and_box_drawing_tables() -> None:
    source = "‘Ik heb veel respect’, zei hij. „So“ – «oui»\n│ a │ b │\n"
    assert decode(source.encode()) == (source, "utf-8", [])


def test_decode_normalizes_line_endings_and_drops_control_chars() -> None:
    text, _, _ = decode(b"one\r\ntwo\rthree\x07\x0b\tfour\n")
    assert text == "one\ntwo\nthree\tfour\n"


def test_looks_binary() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert not looks_binary(codecs.BOM_UTF16_LE + "text".encode("utf-16-le"))
    assert not looks_binary(b"gewoon tekst\n")


def test_binary_is_decided_by_the_share_of_control_bytes_not_their_presence() -> None:
    article = ("De gemeente heeft de nieuwe brug geopend. " * 40).encode()
    assert not looks_binary(article[:500] + b"\x00" + article[500:])  # one stray NUL
    assert not looks_binary(article + b"\x00" * 4096)  # NUL padding a crash left at the end
    assert looks_binary(random.Random(0).randbytes(8192))  # compressed data
    assert looks_binary(article[:200] + bytes(range(32)) * 4)  # 128 controls in 328 bytes


def test_a_stray_nul_byte_is_stripped_and_the_article_read(tmp_path: Path) -> None:
    write(tmp_path / "export.txt", TEXT.encode()[:20] + b"\x00" + TEXT.encode()[20:] + b"\x00\x00")
    (record,) = ingest(tmp_path)
    assert record.ok and record.raw == TEXT


# --- folders and single files ---------------------------------------------------------------------


def test_folder_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", TEXT)
    write(tmp_path / "a dir" / "Ärger über.md", "# Titel\n\nText.")
    write(tmp_path / "a dir" / "sub" / "page.HTM", "<p>Hallo</p>")
    write(tmp_path / "c.html", "<p>x</p>")
    write(tmp_path / ".hidden.txt", TEXT)
    write(tmp_path / ".git" / "notes.txt", TEXT)
    write(tmp_path / "notes.pdf", b"%PDF")
    write(tmp_path / "data.jsonl", '{"id": "x", "text": "y"}')
    records = ingest(tmp_path)
    assert [r.id for r in records] == ["a dir/sub/page.HTM", "a dir/Ärger über.md", "b.txt", "c.html"]
    assert [r.fmt for r in records] == ["html", "markdown", "text", "html"]
    assert records[2].path == str((tmp_path / "b.txt").resolve())
    assert records[2].raw == TEXT and records[2].encoding == "utf-8" and records[2].ok


def test_single_file_id_is_file_name(tmp_path: Path) -> None:
    records = ingest(write(tmp_path / "deep" / "artikel 1.txt", TEXT))
    assert [(r.id, r.fmt, r.raw) for r in records] == [("artikel 1.txt", "text", TEXT)]


def test_lang_sets_hint_on_every_record(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", TEXT)
    write(tmp_path / "b.txt", TEXT)
    assert {r.lang_hint for r in ingest(tmp_path, lang="nl")} == {"nl"}
    assert {r.lang_hint for r in ingest(tmp_path)} == {None}


def test_bad_documents_become_error_records(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.txt", " \n\t\r\n ")
    write(tmp_path / "bom-only.txt", codecs.BOM_UTF8)
    write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    write(tmp_path / "good.txt", TEXT)
    errors = {r.id: r.error.message for r in ingest(tmp_path) if r.error}
    assert errors == {
        "empty.txt": "file is empty",
        "blank.txt": "file contains only whitespace",
        "bom-only.txt": "file is empty",
        "image.txt": "file looks binary, not text",
    }


def test_encodings_end_to_end(tmp_path: Path) -> None:
    write(tmp_path / "1-cp1252.txt", "Müller sagt: „Schön“.".encode("cp1252"))
    write(tmp_path / "2-utf16.txt", codecs.BOM_UTF16_LE + "Müller".encode("utf-16-le"))
    write(tmp_path / "3-mojibake.txt", "MÃ¼ller und ge├»nstalleerd")
    records = ingest(tmp_path)
    assert [(r.raw, r.encoding, r.repairs) for r in records] == [
        ("Müller sagt: „Schön“.", "cp1252", []),
        ("Müller", "utf-16", []),
        ("Müller und geïnstalleerd", "utf-8", ["mojibake"]),
    ]


def test_unreadable_file_becomes_error_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod does not stop root, so the permission error is simulated.
    write(tmp_path / "locked.txt", TEXT)
    write(tmp_path / "open.txt", TEXT)
    real = Path.open

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    records = ingest(tmp_path)
    assert records[0].error is not None
    assert records[0].error.message == "cannot read file: Permission denied"
    assert records[1].ok


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input path '.*nope' does not exist"):
        ingest(tmp_path / "nope")


def test_folder_without_supported_files_raises(tmp_path: Path) -> None:
    write(tmp_path / "a.pdf", b"%PDF")
    write(tmp_path / ".hidden.txt", TEXT)
    with pytest.raises(InputError, match=r"no supported files \(.txt, .md, .html, .htm\)"):
        ingest(tmp_path)


def test_unsupported_single_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported suffix"):
        ingest(write(tmp_path / "a.docx", b"PK"))


# --- JSONL ----------------------------------------------------------------------------------------


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "Erster Text.", "lang": "de"}),
        "",
        json.dumps({"id": "b", "text": "Tweede tekst met geÃ¯nstalleerd."}),
        "{not json",
        json.dumps(["id", "text"]),
        json.dumps({"id": 3, "text": "x"}),
        json.dumps({"id": "c"}),
        json.dumps({"id": "a", "text": "Again."}),
        json.dumps({"id": "d", "text": "   "}),
        json.dumps({"id": "e", "text": "Zeile\u2028mit Trenner"}),
    ]
    file = write(tmp_path / "docs.jsonl", "\n".join(lines) + "\n")
    records = ingest(file)
    summary = [(r.id, r.error.message if r.error else None) for r in records]
    assert summary == [
        ("a", None),
        ("b", None),
        ("docs.jsonl:4", "line 4 is not valid JSON (Expecting property name enclosed in double quotes)"),
        ("docs.jsonl:5", "line 5 is not a JSON object"),
        ("docs.jsonl:6", "line 6 has no string 'id'"),
        ("docs.jsonl:7", "line 7 has no string 'text'"),
        ("a#8", "duplicate id 'a' (first used on line 1)"),
        ("d", "text contains only whitespace"),
        ("e", None),
    ]
    assert records[0].lang_hint == "de" and records[1].lang_hint is None
    assert records[1].raw == "Tweede tekst met geïnstalleerd." and records[1].repairs == ["mojibake"]
    assert records[0].path is None and records[0].fmt == "text" and records[0].encoding == "utf-8"


def test_a_jsonl_files_encoding_does_not_depend_on_max_bytes(tmp_path: Path) -> None:
    """A byte that is not UTF-8 in a line too long to read still makes the file cp1252: the
    encoding (and so every text and key) must not change with input.max_bytes."""
    good = json.dumps({"id": "a", "text": "caf\u00e9"}, ensure_ascii=False).encode("utf-8")
    long = b'{"id": "b", "text": "' + b"\xe9" * 400 + b'"}'
    file = tmp_path / "docs.jsonl"
    file.write_bytes(good + b"\n" + long + b"\n")
    small, large = ingest(file, max_bytes=50), ingest(file, max_bytes=10_000)
    assert small[0].encoding == large[0].encoding == "cp1252"  # the file's, not the lines read
    assert small[0].raw == large[0].raw
    assert small[1].error is not None and large[1].ok


def test_jsonl_lang_argument_overrides_field(tmp_path: Path) -> None:
    file = write(tmp_path / "docs.jsonl", json.dumps({"id": "a", "text": "Text.", "lang": "de"}))
    assert ingest(file, lang="nl")[0].lang_hint == "nl"


def test_jsonl_without_records_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no JSON lines"):
        ingest(write(tmp_path / "empty.jsonl", "\n\n"))


# --- the real articles users bring ----------------------------------------------------------------


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed articles not available")
def test_seed_cp437_mojibake_is_repaired() -> None:
    records = ingest(SEEDS)
    assert len(records) == 3 and all(r.ok for r in records)
    first = records[0]
    assert "geïnstalleerd" in first.raw and "├" not in first.raw
    assert first.repairs == ["mojibake"]
    assert "’s werelds" in first.raw  # curly quotes stay curly


def test_nul_and_esc_are_reported_as_control_characters_not_mojibake() -> None:
    text, _, repairs = decode(b"Der Zug\x00 f\xc3\xa4hrt \x1b[1mab.")
    assert (text, repairs) == ("Der Zug fährt ab.", ["control characters"])


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_as_utf16(codec: str) -> None:
    data = "De trein naar Köln vertrekt om acht uur.\n".encode(codec)
    assert not looks_binary(data)
    assert decode(data) == ("De trein naar Köln vertrekt om acht uur.\n", codec, [])
