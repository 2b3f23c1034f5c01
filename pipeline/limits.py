"""Input limits (``input.max_bytes``, ``input.max_tokens``: docs/configuration.md), so that no single
document can wedge a run: bytes are checked before a document is held in memory, tokens before it
is split into sentences, so every later stage works on a bounded text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

TokenCounter = Callable[[list[str]], list[int]]

# Texts are tokenized in pieces of at most this many characters: memory stays bounded for a huge
# paragraph, and a cut (after a space) changes a count by a token at most.
COUNT_PIECE_CHARS = 100_000
# The most JSON escaping can inflate a text: one control character becomes ``\u0001``.
JSON_ESCAPE_FACTOR = 6


def too_large(size: int, limit: int) -> str:
    return f"too large: {size} bytes > limit {limit}; raise input.max_bytes to allow"


def too_long(tokens: int, limit: int) -> str:
    return f"too long: {tokens} tokens > limit {limit}; raise input.max_tokens to allow"


def read_at_most(fh: BinaryIO, limit: int) -> bytes | None:
    """The whole file, or None when it holds more than ``limit`` bytes (then at most ``limit + 1``
    bytes were read). ``limit`` 0 reads everything."""
    if not limit:
        return fh.read()
    data = fh.read(limit + 1)
    return None if len(data) > limit else data


def text_too_large(text: str, limit: int) -> str | None:
    """The error for a text over ``limit`` bytes as UTF-8, else None (lone surrogates, which JSON
    can hold, count as three bytes)."""
    if not limit or len(text) * 4 <= limit:  # no character takes more than four bytes
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return too_large(size, limit) if size > limit else None


def count_tokens(texts: list[str], count: TokenCounter) -> int:
    """Tokens of ``texts`` (special tokens not included), tokenized in bounded pieces."""
    return sum(sum(count(group)) for group in _groups(texts))


def _groups(texts: list[str]) -> Iterator[list[str]]:
    group: list[str] = []
    size = 0
    for piece in (p for text in texts for p in pieces(text, COUNT_PIECE_CHARS)):
        if group and size + len(piece) > COUNT_PIECE_CHARS:
            yield group
            group, size = [], 0
        group.append(piece)
        size += len(piece)
    if group:
        yield group


def pieces(text: str, size: int, end: re.Pattern[str] | None = None) -> Iterator[str]:
    """``text`` cut into pieces of at most ``size`` characters that concatenate to it: after a match
    of ``end`` (a sentence end) in a piece's second half, else after its last space, else anywhere
    (one huge "word"). One at a time: a huge paragraph is never copied whole."""
    start = 0
    while len(text) - start > size:
        found = end.search(text, start + size // 2, start + size) if end else None
        space = text.rfind(" ", start + 1, start + size)
        cut = found.end() if found else (space + 1 if space > start else start + size)
        yield text[start:cut]
        start = cut
    yield text[start:]
