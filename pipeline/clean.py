"""Stage 2: turn raw text, Markdown or HTML into article paragraphs, a title and metadata.

Pasted and scraped news carries page furniture that a summarizer would happily repeat: photo
credits, captions printed twice, gallery teasers, agency sign-offs, "read also" links and metadata
lines. Each is dropped by a small line rule and kept in ``record.removed`` so the user can see what
was taken out and why. The rules are deliberately conservative: a missed credit costs little, a
dropped sentence of the story costs more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html
from lxml import etree

from clsum.record import Record, Removed

log = logging.getLogger(__name__)

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


def clean(records: list[Record]) -> list[Record]:
    """Fill ``paragraphs``, ``metadata``, ``title`` and ``removed`` on each ok record."""
    for record in records:
        if not record.ok:
            continue
        if record.fmt == "html":
            text = _from_html(record)
        elif record.fmt == "markdown":
            text = _from_markdown(record)
        else:
            text = record.raw
        clean_text(text, record)
        if not record.paragraphs:
            record.fail("clean", "no article text left after cleaning")
        elif record.removed:
            log.debug("%s: removed %d items", record.id, len(record.removed))
    return records


def clean_text(text: str, record: Record) -> None:
    """Apply the plain-text rules to ``text``, filling the record's clean fields."""
    lines = _split_lines(text)
    lines = _take_metadata(lines, record)
    lines = _drop_repeats(lines, record.removed)
    lines = _drop_furniture(lines, record.removed)
    single_line_start = len(lines) > 1 and lines[0].para != lines[1].para
    paragraphs = _drop_trailing_agency(_join(lines), record.removed)
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


def _join(lines: list[_Line]) -> list[str]:
    paragraphs: list[str] = []
    last = None
    for line in lines:
        if line.para == last:
            paragraphs[-1] += " " + line.text
        else:
            paragraphs.append(line.text)
        last = line.para
    return paragraphs


# --- metadata -------------------------------------------------------------------------------------


def _take_metadata(lines: list[_Line], record: Record) -> list[_Line]:
    """Parse leading ``key: value`` lines into metadata, stopping at the first line of the story."""
    for index, line in enumerate(lines):
        glued = _DATE_PREFIX.match(line.text)
        # A few words after the date are part of the value ("2021-09-14 12:00 CET"), more are the story.
        if glued and _words(glued.group(3)) > _MAX_GLUED_VALUE_WORDS:
            _set_metadata(record, glued.group(1), glued.group(2), f"{glued.group(1)} {glued.group(2)}")
            rest = [_Line(line.para, glued.group(3))]
            return rest + lines[index + 1 :]
        parsed = _parse_metadata(line.text)
        if parsed is None:
            return lines[index:]
        _set_metadata(record, parsed[0], parsed[1], line.text)
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


def _set_metadata(record: Record, key: str, value: str, line: str) -> None:
    name = METADATA_KEYS[key.lower()]
    value = value.strip().strip("\"'")
    record.metadata.setdefault(name, value)
    if name == "title" and not record.title:
        record.title = value
    record.removed.append(Removed("metadata", line))


# --- line rules -----------------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _looks_like_caption(text: str) -> bool:
    return _words(text) <= _MAX_CAPTION_REPEAT_WORDS and not _SENTENCE_BREAK.search(text)


def _drop_repeats(lines: list[_Line], removed: list[Removed]) -> list[_Line]:
    """Drop a line printed twice in a row: both copies of a caption, the second copy of longer text."""
    kept: list[_Line] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else None
        if nxt is not None and _same(line.text, nxt.text):
            if _looks_like_caption(line.text):
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


def _is_caption(text: str) -> bool:
    return _words(text) <= _MAX_CAPTION_WORDS and bool(_CAPTION_CREDIT.search(text))


def _is_teaser(text: str) -> bool:
    """A gallery or link title: short and without sentence-final punctuation."""
    return _words(text) <= _MAX_TEASER_WORDS and not _SENTENCE_END.search(text)


def _related_bare(text: str) -> bool | None:
    """None when ``text`` is no related-links marker, else whether the marker stands alone."""
    match = _RELATED.match(text)
    if not match:
        return None
    return not match.group(1)


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
        kind = _classify(text)
        if kind is None:
            kept.append(line)
            continue
        removed.append(Removed(kind, text))
        if kind == "gallery" or (kind == "related" and _related_bare(text)):
            drop_next = kind
    return kept


_RULES: list[tuple[str, Callable[[str], bool]]] = [
    ("gallery", lambda text: bool(_GALLERY.match(text))),
    ("agency", lambda text: bool(_AGENCY_LINE.match(text))),
    ("photo_credit", _is_credit),
    ("caption", _is_caption),
    ("related", lambda text: _related_bare(text) is not None),
]


def _classify(text: str) -> str | None:
    for kind, rule in _RULES:
        if rule(text):
            return kind
    return None


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


# --- Markdown -------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_RULE = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_EMPHASIS = [
    re.compile(r"\*\*(.+?)\*\*"),
    re.compile(r"(?<!\w)__(.+?)__(?!\w)"),
    re.compile(r"\*(?!\s)(.+?)(?<!\s)\*"),
    re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)"),
    re.compile(r"`([^`]+)`"),
]


def _from_markdown(record: Record) -> str:
    """Plain text from Markdown; a leading ``# Heading`` becomes the title, front matter metadata."""
    text = record.raw.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).split("\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in METADATA_KEYS and value.strip():
                _set_metadata(record, key.strip(), value, line.strip())
        text = text[match.end() :]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    out: list[str] = []
    seen_text = False
    for line in text.split("\n"):
        out += _markdown_line(line, record, seen_text)
        seen_text = seen_text or any(part.strip() for part in out)
    return "\n".join(out)


def _markdown_line(line: str, record: Record, seen_text: bool) -> list[str]:
    if _RULE.match(line) or _LINK_DEFINITION.match(line):
        return [""]
    for image in _IMAGE.finditer(line):
        record.removed.append(Removed("image", image.group(0)))
    line = _inline_markdown(_IMAGE.sub("", line))
    heading = _HEADING.match(line)
    if heading:
        # The visible headline wins over a front matter title, which stays in the metadata.
        if len(heading.group(1)) == 1 and not seen_text:
            record.title = heading.group(2)
            return []
        # A heading is a paragraph of its own, even without blank lines around it.
        return ["", heading.group(2), ""]
    if _BULLET.match(line):
        # Each list item becomes its own paragraph rather than being run together.
        return ["", _BULLET.sub("", line), ""]
    return [re.sub(r"^\s{0,3}>\s?", "", line)]


def _inline_markdown(line: str) -> str:
    line = _LINK.sub(lambda m: m.group(1) or m.group(2), line)
    for pattern in _EMPHASIS:
        line = pattern.sub(r"\1", line)
    return line


# --- HTML -----------------------------------------------------------------------------------------

_DROP_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "iframe"]
# Cookie banners and consent dialogs are plain divs; their class or id gives them away.
_BANNER = re.compile(r"cookie|consent|gdpr|newsletter|paywall", re.IGNORECASE)
_BLOCK_TAGS = ("p", "h2", "h3", "h4", "li", "blockquote")


def _from_html(record: Record) -> str:
    """Article text from HTML, paragraphs separated by blank lines; sets title and metadata."""
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", record.raw)  # lxml refuses str input with a declaration
    try:
        root = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    heading = root.find(".//h1")
    if heading is None:
        heading = root.find(".//title")
    _strip_boilerplate(root)
    # trafilatura sees the page without navigation and banners: on short pages it otherwise falls
    # back to taking whatever text there is, menus included.
    text = _trafilatura_text(html, lxml.html.tostring(root, encoding="unicode"), record)
    if not record.title and heading is not None and heading.text_content().strip():
        record.title = normalize_space(heading.text_content())
    return text or _lxml_text(root)


def _strip_boilerplate(root: lxml.html.HtmlElement) -> None:
    for element in list(root.iter(*_DROP_TAGS)):
        # An article's own header holds its headline and lead, not site navigation.
        if element.tag != "header" or not any(a.tag == "article" for a in element.iterancestors()):
            _remove(element)
    for element in list(root.iter("div", "section")):
        if _BANNER.search(f"{element.get('class', '')} {element.get('id', '')}"):
            _remove(element)


def _trafilatura_text(html: str, body: str, record: Record) -> str:
    try:
        import trafilatura  # imported here: it is slow to import and only HTML input needs it
    except ImportError as exc:  # e.g. lxml_html_clean missing; the lxml extractor still works
        log.warning("trafilatura unavailable (%s); using the plain lxml extractor", exc)
        return ""
    try:
        extracted = trafilatura.extract(
            body, include_comments=False, include_tables=False, favor_precision=True, output_format="txt"
        )
        meta = trafilatura.extract_metadata(html)
    except Exception as exc:  # trafilatura raises assorted parser errors on broken markup
        log.warning("%s: trafilatura failed (%s); using the plain lxml extractor", record.id, exc)
        return ""
    if meta is not None:
        for key in ("title", "date", "author"):
            value = getattr(meta, key, None)
            if isinstance(value, str) and value.strip():
                record.metadata.setdefault(key, normalize_space(value))
        if not record.title and record.metadata.get("title"):
            record.title = record.metadata["title"]
    # trafilatura puts one paragraph per line.
    return "\n\n".join(line for line in (extracted or "").split("\n") if line.strip())


def _lxml_text(root: lxml.html.HtmlElement) -> str:
    """Text of the paragraph-like elements in <article>, <main> or <body> (boilerplate already gone)."""
    container = next(
        (found for tag in ("article", "main", "body") if (found := root.find(f".//{tag}")) is not None), root
    )
    blocks = [el.text_content() for el in container.iter(*_BLOCK_TAGS) if not _inside_block(el)]
    if not blocks:
        blocks = container.text_content().split("\n")
    return "\n\n".join(normalize_space(b) for b in blocks if b.strip())


def _remove(element: lxml.html.HtmlElement) -> None:
    parent = element.getparent()
    if parent is not None:
        element.drop_tree()


def _inside_block(element: lxml.html.HtmlElement) -> bool:
    """True inside another extracted block (a <p> in an <li>), so no text is taken twice."""
    return any(ancestor.tag in _BLOCK_TAGS for ancestor in element.iterancestors())
