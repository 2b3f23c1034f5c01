"""HTML input for the clean stage: trafilatura finds the article in a page; lxml strips navigation and
banners before it looks, and takes the paragraph-like elements itself when trafilatura cannot."""

from __future__ import annotations

import logging
import re

import lxml.html
from lxml import etree

from clsum.pipeline.lines import normalize_space
from clsum.record import Record

log = logging.getLogger(__name__)

_DROP_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "iframe"]
# Cookie banners and consent dialogs are plain divs; their class or id gives them away.
_BANNER = re.compile(r"cookie|consent|gdpr|newsletter|paywall", re.IGNORECASE)
_BLOCK_TAGS = ("p", "h2", "h3", "h4", "li", "blockquote")


def text_from_html(record: Record) -> str:
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
    # Not one inside another extracted block (a <p> in an <li>), so no text is taken twice.
    blocks = [
        el.text_content()
        for el in container.iter(*_BLOCK_TAGS)
        if not any(ancestor.tag in _BLOCK_TAGS for ancestor in el.iterancestors())
    ]
    if not blocks:
        blocks = container.text_content().split("\n")
    return "\n\n".join(normalize_space(b) for b in blocks if b.strip())


def _remove(element: lxml.html.HtmlElement) -> None:
    if element.getparent() is not None:  # the root has none, and stays
        element.drop_tree()
