"""The one reader of JSON Lines (the input reader, the output store and ``clsum score`` use it).

A line ends at ``\\n`` only: U+2028, U+2029 and U+0085 are line breaks to ``str.splitlines()`` but
JSON strings may hold them unescaped (clsum's own writer does). A last line without its ``\\n`` is
what a writer killed mid-write leaves.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import AnyStr, Generic


@dataclass(frozen=True)
class Line(Generic[AnyStr]):
    number: int  # from 1
    text: AnyStr | None  # without its "\n" or "\r\n"; None: longer than the cap, skipped unread
    complete: bool  # it ended with "\n"


def lines(readline: Callable[[int], AnyStr], cap: int = 0) -> Iterator[Line[AnyStr]]:
    """The lines ``readline`` (of a binary file, or a text file opened with ``newline="\\n"``)
    gives. ``cap``: the longest line held, in bytes or characters (0: no cap)."""
    number = 0
    while line := readline(cap + 1 if cap else -1):
        number += 1
        newline = "\n" if isinstance(line, str) else b"\n"
        complete = line.endswith(newline)
        if cap and len(line) > cap and not complete:
            while (rest := readline(1 << 20)) and not rest.endswith(newline):
                pass
            yield Line(number, None, bool(rest))
        else:
            eol = 0 if not complete else 2 if line[-2:] in ("\r\n", b"\r\n") else 1
            yield Line(number, line[: len(line) - eol], complete)


def text_lines(text: str) -> Iterator[Line[str]]:
    """The lines of a text already in memory, by the same rules."""
    return lines(io.StringIO(text, newline="\n").readline)
