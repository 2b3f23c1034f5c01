"""Markdown input for the clean stage: markup removed, not interpreted (links keep their text, images
go to ``record.removed``), headings and list items paragraphs of their own, so that the line rules
see the shape of a plain-text article; the headline and front matter are taken."""

from __future__ import annotations

import re

from clsum.pipeline.lines import METADATA_KEYS, set_metadata
from clsum.record import Record, Removed

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


def text_from_markdown(record: Record) -> str:
    """Plain text from Markdown; a leading ``# Heading`` becomes the title, front matter metadata."""
    text = record.raw.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).split("\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in METADATA_KEYS and value.strip():
                set_metadata(record, key.strip(), value, line.strip())
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
