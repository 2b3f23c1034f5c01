"""The plain-text line rules of the clean stage: metadata, page furniture (credits, captions,
galleries, agency sign-offs, "read also" links), repeats and the title. Each drop is kept in
``record.removed`` with its kind. The rules are deliberately conservative: a missed credit costs
little, a dropped sentence of the story costs more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from clsum.record import Record, Removed

METADATA_KEYS = {
    "date": "date", "datum": "date",
    "author": "author", "auteur": "author", "autor": "author",
    "source": "source", "bron": "source", "quelle": "source",
    "url": "url",
    "title": "title", "titel": "title",
    "category": "category", "rubriek": "category", "rubrik": "category",
    "tags": "tags",
}  # fmt: skip
_KEYS = "|".join(sorted(METADATA_KEYS, key=len, reverse=True))
# "key: value" with any known key; "key value" only for a lowercase key, as export tools write it.
_META_COLON = re.compile(rf"^\s*({_KEYS})\s*:\s*(\S.*?)\s*$", re.IGNORECASE)
_META_SPACE = re.compile(rf"^\s*({_KEYS})\s+(\S.*?)\s*$")
# A date exported glued to the first sentence: " date 2021-09 Chinese automakers zijn ...".
_DATE_PREFIX = re.compile(r"^\s*(date|datum)\s*:?\s+(\d{4}-\d{2}(?:-\d{2})?)\s+(\S.*)$", re.IGNORECASE)
_DATE_VALUE = re.compile(r"^\d{4}-\d{2}(-\d{2})?([T ][\d:]+.*)?$")
_MAX_META_WORDS = 12
_MAX_GLUED_VALUE_WORDS = 3

_CREDIT_WORDS = (
    r"Fotos?|Bild(?:er)?|Beeld|Images?|Photos?|Pictures?|Afbeelding|Illustrati(?:e|on)|Grafik|Quelle"
)
# "Foto: Wu Hong / EPA", "Bild: dpa", "(Foto: dpa)", "Foto ANP", "© dpa", "(c) Reuters".
_CREDIT_LINE = re.compile(
    rf"^\(?\s*(?:(?:{_CREDIT_WORDS})\s*:\s*\S.*|(?:{_CREDIT_WORDS})\s+[^.!?]+|(?:©|\(c\)|Copyright)\s*\S.*)$"
)
_MAX_CREDIT_WORDS = 12
# A caption that ends in a credit: "De burgemeester opent de lijn. Foto: Jan de Boer / ANP".
_CAPTION_CREDIT = re.compile(
    rf"(?:^|[.!?)]\s+|\s[|/–-]\s+)\(?(?:(?:{_CREDIT_WORDS})\s*:|©)\s*[^.!?]{{1,80}}\)?$"
)
_MAX_CAPTION_WORDS = 30

_GALLERY = re.compile(
    r"^(?:Fotostrecke|Bildergalerie|Bilderstrecke|Fotoserie|Fotogalerie|Fotoreeks|Galerie|Video|Gallery"
    r"|Photo gallery|Slideshow)(?:\s*[:(–-]?\s*\d+\s*(?:Bilder|Fotos|foto's|photos|images|beelden)\)?)?$",
    re.IGNORECASE,
)
# A gallery or related-link title: short, and no sentence-final punctuation.
_MAX_TEASER_WORDS = 15

_AGENCIES = (
    r"ANP|dpa|AFP|Reuters|sda|apa|AP|KNA|epd|Belga|ddp|dts|SID|AAP|Novum|Keystone-SDA|RTR|BNO|Bloomberg|DJ"
)
# "(ANP)", "dpa", "dpa/AFP", "ak/Reuters", "mes/dpa/AFP", "(ak/dpa)".
_AGENCY_LINE = re.compile(
    rf"^\(?\s*(?:[a-zäöü]{{1,4}}\s*/\s*)*(?:{_AGENCIES})(?:\s*[/,]\s*(?:{_AGENCIES}))*\s*\)?\.?$",
    re.IGNORECASE,
)
# A sign-off glued to the end of the last paragraph: "... zei hij. (ANP)".
_TRAILING_AGENCY = re.compile(
    rf"(?<=[.!?\"”“’'])\s*(\(\s*(?:[a-z]{{1,4}}\s*/\s*)*(?:{_AGENCIES})(?:\s*/\s*(?:{_AGENCIES}))*\s*\))$"
)

_RELATED = re.compile(
    r"^(?:Lees ook|Lees meer|Lees verder|Zie ook|Bekijk ook|Lesen Sie auch|Lesen Sie mehr|Mehr zum Thema"
    r"|Auch interessant|Read more|Read also|See also|Related)(?:\s*[:|»>–-]\s*(.*))?$",
    re.IGNORECASE,
)

_SENTENCE_END = re.compile(r"[.!?:;…][\"'”“’»«)]*$")
_MAX_TITLE_WORDS = 20
# A line printed twice is a caption when it is short and at most one sentence; anything else
# printed twice is story text that was pasted twice, and loses only its second copy.
_MAX_CAPTION_REPEAT_WORDS = 30
_SENTENCE_BREAK = re.compile(r"[.!?…][\"'”“’»«)]*\s+\S")


@dataclass
class _Line:
    para: int  # index of the source paragraph the line came from
    text: str


def clean_text(text: str, record: Record) -> None:
    """Apply the line rules to ``text``, filling ``paragraphs``, ``metadata``, ``title`` and ``removed``."""
    lines = _split_lines(text)
    lines = _take_metadata(lines, record)
    lines = _drop_repeats(lines, record.removed)
    lines = _drop_furniture(lines, record.removed)
    single_line_start = len(lines) > 1 and lines[0].para != lines[1].para
    joined = [
        " ".join(line.text for line in group) for _, group in groupby(lines, key=lambda line: line.para)
    ]
    paragraphs = _drop_trailing_agency(joined, record.removed)
    record.paragraphs = _take_title(paragraphs, record, single_line_start)


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace (no-break spaces included) to one space."""
    return " ".join(text.split())


def _words(text: str) -> int:
    return len(text.split())


def _split_lines(text: str) -> list[_Line]:
    """Non-blank lines, each tagged with its paragraph; without blank lines each line is a paragraph."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text.strip())
    if len(blocks) == 1:
        blocks = blocks[0].split("\n")
    lines = []
    for index, block in enumerate(blocks):
        lines += [_Line(index, normalize_space(line)) for line in block.split("\n") if line.strip()]
    return lines


# --- metadata -------------------------------------------------------------------------------------


def _take_metadata(lines: list[_Line], record: Record) -> list[_Line]:
    """Parse leading ``key: value`` lines into metadata, stopping at the first line of the story."""
    for index, line in enumerate(lines):
        glued = _DATE_PREFIX.match(line.text)
        # A few words after the date are part of the value ("2021-09-14 12:00 CET"), more are the story.
        if glued and _words(glued.group(3)) > _MAX_GLUED_VALUE_WORDS:
            set_metadata(record, glued.group(1), glued.group(2), f"{glued.group(1)} {glued.group(2)}")
            rest = [_Line(line.para, glued.group(3))]
            return rest + lines[index + 1 :]
        parsed = _parse_metadata(line.text)
        if parsed is None:
            return lines[index:]
        set_metadata(record, parsed[0], parsed[1], line.text)
    return []


def _parse_metadata(text: str) -> tuple[str, str] | None:
    if _words(text) > _MAX_META_WORDS:
        return None
    match = _META_COLON.match(text)
    if match:
        return match.group(1), match.group(2)
    match = _META_SPACE.match(text)
    if not match:
        return None
    key, value = match.groups()
    # "date 2021-09-14" is metadata; "date night was fun" is not.
    if METADATA_KEYS[key] == "date" and not _DATE_VALUE.match(value):
        return None
    return key, value


def set_metadata(record: Record, key: str, value: str, line: str) -> None:
    """Store one metadata ``line`` (also front matter's): the first value per name wins."""
    name = METADATA_KEYS[key.lower()]
    value = value.strip().strip("\"'")
    record.metadata.setdefault(name, value)
    if name == "title" and not record.title:
        record.title = value
    record.removed.append(Removed("metadata", line))


# --- furniture ------------------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _drop_repeats(lines: list[_Line], removed: list[Removed]) -> list[_Line]:
    """Drop a line printed twice in a row: both copies of a caption, the second copy of longer text."""
    kept: list[_Line] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else None
        if nxt is not None and _same(line.text, nxt.text):
            if _words(line.text) <= _MAX_CAPTION_REPEAT_WORDS and not _SENTENCE_BREAK.search(line.text):
                removed += [Removed("repeated_caption", line.text), Removed("repeated_caption", nxt.text)]
            else:
                kept.append(line)
                removed.append(Removed("duplicate", nxt.text))
            index += 2
            continue
        kept.append(line)
        index += 1
    return kept


def _is_credit(text: str) -> bool:
    return _words(text) <= _MAX_CREDIT_WORDS and bool(_CREDIT_LINE.match(text))


def _is_teaser(text: str) -> bool:
    """A gallery or link title: short and without sentence-final punctuation."""
    return _words(text) <= _MAX_TEASER_WORDS and not _SENTENCE_END.search(text)


def _drop_furniture(lines: list[_Line], removed: list[Removed]) -> list[_Line]:
    """Drop credits, captions, gallery markers, agency sign-offs and related-article links."""
    kept: list[_Line] = []
    drop_next: str | None = None  # kind of a marker whose title line follows
    for line in lines:
        text = line.text
        if drop_next and _is_teaser(text) and not _is_credit(text):
            removed.append(Removed(drop_next, text))
            drop_next = None
            continue
        drop_next = None
        kind = next((kind for kind, rule in _RULES if rule(text)), None)
        if kind is None:
            kept.append(line)
            continue
        removed.append(Removed(kind, text))
        # A bare marker ("Fotostrecke", "Lees ook:") announces the title on the next line.
        related = _RELATED.match(text) if kind == "related" else None
        if kind == "gallery" or (related is not None and not related.group(1)):
            drop_next = kind
    return kept


# Kinds of furniture, each with its rule, the first that matches a line wins.
_RULES: list[tuple[str, Callable[[str], bool]]] = [
    ("gallery", lambda text: bool(_GALLERY.match(text))),
    ("agency", lambda text: bool(_AGENCY_LINE.match(text))),
    ("photo_credit", _is_credit),
    ("caption", lambda text: _words(text) <= _MAX_CAPTION_WORDS and bool(_CAPTION_CREDIT.search(text))),
    ("related", lambda text: bool(_RELATED.match(text))),
]


def _drop_trailing_agency(paragraphs: list[str], removed: list[Removed]) -> list[str]:
    if not paragraphs:
        return paragraphs
    match = _TRAILING_AGENCY.search(paragraphs[-1])
    if match:
        removed.append(Removed("agency", match.group(1)))
        paragraphs[-1] = paragraphs[-1][: match.start()].rstrip()
    return paragraphs


# --- title ----------------------------------------------------------------------------------------


def _take_title(paragraphs: list[str], record: Record, single_line: bool) -> list[str]:
    """Move a headline-like first paragraph into ``record.title``; drop a first paragraph equal to it."""
    if not paragraphs:
        return paragraphs
    first = paragraphs[0]
    if record.title:
        return paragraphs[1:] if _same(first, normalize_space(record.title)) else paragraphs
    if (
        single_line
        and len(paragraphs) > 1
        and _words(first) <= _MAX_TITLE_WORDS
        and not _SENTENCE_END.search(first)
    ):
        record.title = first
        return paragraphs[1:]
    return paragraphs
