"""Stage 2: turn raw text, Markdown or HTML into article paragraphs, a title and metadata.

Markdown (``markdown``) and HTML (``html``) are first reduced to plain text; every format then goes
through the same line rules (``lines``), which drop page furniture and keep what they took out in
``record.removed``.
"""

from __future__ import annotations

import logging

from clsum.pipeline.html import text_from_html
from clsum.pipeline.lines import clean_text
from clsum.pipeline.markdown import text_from_markdown
from clsum.record import Record

log = logging.getLogger(__name__)


def clean(records: list[Record]) -> list[Record]:
    """Fill ``paragraphs``, ``metadata``, ``title`` and ``removed`` on each ok record."""
    for record in records:
        if not record.ok:
            continue
        if record.fmt == "html":
            text = text_from_html(record)
        elif record.fmt == "markdown":
            text = text_from_markdown(record)
        else:
            text = record.raw
        clean_text(text, record)
        if not record.paragraphs:
            record.fail("clean", "no article text left after cleaning")
        elif record.removed:
            log.debug("%s: removed %d items", record.id, len(record.removed))
    return records
