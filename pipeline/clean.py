"""Stage 2: raw text, Markdown or HTML into article paragraphs, a title and metadata. Markdown and
HTML are first reduced to plain text; every format then goes through the same line rules (``lines``).
"""

from __future__ import annotations

import logging

from clsum.pipeline.html import text_from_html
from clsum.pipeline.lines import clean_text
from clsum.pipeline.markdown import text_from_markdown
from clsum.record import Record

log = logging.getLogger(__name__)

_TO_TEXT = {"html": text_from_html, "markdown": text_from_markdown}


def clean(records: list[Record]) -> list[Record]:
    """Fill ``paragraphs``, ``metadata``, ``title`` and ``removed`` on each ok record."""
    for record in records:
        if not record.ok:
            continue
        clean_text(_TO_TEXT[record.fmt](record) if record.fmt in _TO_TEXT else record.raw, record)
        if not record.paragraphs:
            record.fail("clean", "no article text left after cleaning")
        elif record.removed:
            log.debug("%s: removed %d items", record.id, len(record.removed))
    return records
