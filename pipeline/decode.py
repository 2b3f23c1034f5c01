"""Bytes to clean Unicode for the ingest stage: encodings, mojibake (UTF-8 once read as cp1252 or
cp437) and binary files (docs/outputs.md, "Input that cannot be read")."""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata

import ftfy

# Only the encoding repairs: curly quotes, ligatures, full-width characters and line breaks are
# real text and stay as they are. HTML entities are left for the clean stage's HTML parser.
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    normalization=None,
    remove_control_chars=False,  # dropped below and reported as what they are, not as mojibake
    remove_terminal_escapes=False,
    explain=False,
)
# Characters of cp437's upper half. A run of them that contains a box-drawing or block character
# (U+2500-U+259F) is almost always UTF-8 that was read as cp437 (``├»`` for ``ï``).
_CP437_HIGH = "".join(bytes([b]).decode("cp437") for b in range(0x80, 0x100))
_CP437_RUN = re.compile(f"[{re.escape(_CP437_HIGH)}]{{2,}}")
_BOX_DRAWING = re.compile("[\u2500-\u259f]")
# Control characters except tab and newline; also stray BOMs and zero-width spaces inside the text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\u200b]")
_TERMINAL_ESCAPE = re.compile("\x1b\\[[0-9;?]*[A-Za-z]")  # e.g. ESC [1m: bold on a terminal
# Share of control bytes (NUL included; tab, newlines, form feed and ^Z not) above which a file is
# not text. Compressed or random data has about 10.5% of them (27 of 256 byte values), executables
# and office files far more; an article has next to none, and a stray one (a NUL from a broken
# export) is dropped with the other control characters.
_BINARY_SHARE = 0.05
SNIFF_BYTES = 8192  # how much of a file ``looks_binary`` needs to see
# cp1252 is Latin-1 but for 0x80-0x9f, where it has letters and signs instead of C1 controls.
_CP1252 = {b: bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(0x80, 0xA0)}
# Part of every document's key: raise it when ``decode`` or ``repair_text`` would turn the same bytes
# into other text, so a resume redoes what the old decoder made.
DECODER_VERSION = "2"


def input_digest(data: bytes) -> str:
    """What a document's key holds of its input (a file's bytes, or a JSONL text's UTF-8): hashed with
    the decoder version, never decoded (docs/outputs.md, "Resume")."""
    return hashlib.sha256(DECODER_VERSION.encode() + b"\x00" + data).hexdigest()


def decode(data: bytes) -> tuple[str, str, list[str]]:
    """Decode ``data`` to clean text; returns (text, encoding name, repairs made): the encodings and
    repairs of docs/outputs.md ("Input that cannot be read")."""
    encoding = bom_encoding(data) or utf16_without_bom(data) or "utf-8"
    try:
        text = data.decode(encoding, errors="strict" if encoding == "utf-8" else "replace")
    except UnicodeDecodeError:
        text, encoding = cp1252_text(data), "cp1252"
    text, repairs = repair_text(text)
    return text, encoding, repairs


def repair_text(text: str) -> tuple[str, list[str]]:
    """Repair mojibake, normalize line endings and drop control characters; returns (text, repairs)."""
    repairs: list[str] = []
    plain = _TERMINAL_ESCAPE.sub("", text)
    fixed = ftfy.fix_text(_fix_cp437(plain), _FTFY_CONFIG)
    if fixed != plain:
        repairs.append("mojibake")
    fixed = fixed.replace("\r\n", "\n").replace("\r", "\n")
    kept = _CONTROL.sub("", fixed)
    if kept != fixed or plain != text:
        repairs.append("control characters")
    return unicodedata.normalize("NFC", kept), repairs


def bom_encoding(data: bytes) -> str | None:
    """``utf-8-sig`` or ``utf-16`` when ``data`` starts with that byte order mark, else None."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def cp1252_text(data: bytes) -> str:
    """``data`` read as cp1252; the five bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d)
    are read as Latin-1, whose C1 controls ftfy can still use to undo mojibake."""
    return data.decode("latin-1").translate(_CP1252)


def looks_binary(data: bytes) -> bool:
    """True for data that is not text: more than 5% control bytes in its first ``SNIFF_BYTES``. UTF-16
    is text; NULs padding the end of a file (what a crash can leave) do not count."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or utf16_without_bom(data):
        return False
    sample = data[:SNIFF_BYTES].rstrip(b"\x00")
    controls = sum(1 for b in sample if b < 0x20 and b not in b"\t\n\r\f\x1a")
    return bool(sample) and controls / len(sample) > _BINARY_SHARE


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` for UTF-16 text without a byte order mark: Latin script in
    UTF-16 has a NUL in (nearly) every other byte, on one side only; text in any 8-bit encoding
    has next to none."""
    sample = data[: SNIFF_BYTES - SNIFF_BYTES % 2].rstrip(b"\x00")
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    even, odd = sample[0::2].count(0) / pairs, sample[1::2].count(0) / pairs
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def _fix_cp437(text: str) -> str:
    # ftfy fixes cp437 mojibake only when a whole line re-encodes, which fails as soon as the line
    # also holds a correct curly quote; so each suspicious run is repaired on its own.
    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        if not _BOX_DRAWING.search(run):
            return run
        try:
            return run.encode("cp437").decode("utf-8")
        except UnicodeError:
            return run

    return _CP437_RUN.sub(fix, text)
