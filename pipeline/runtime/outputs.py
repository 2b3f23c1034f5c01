"""Generated outputs, and the two signs that one degenerated: cut at max_length, or stuck in a loop
(docs/models.md, "Degenerate output is counted"). The text is kept, it is what the model made.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

MAX_LENGTH = "max_length"  # generation stopped at the length limit, not at an end token of its own
REPETITION = "repetition"  # the output repeats an n-gram back to back (a decoding loop)
FLAGS = (MAX_LENGTH, REPETITION)

# A loop: one n-gram of up to _MAX_PERIOD tokens repeated back to back, spanning at least _MIN_SPAN
# tokens, at least 3 times (n < 6: "the the the" is language, six times is not) or twice (n >= 6:
# a whole phrase said twice in a row).
_MAX_PERIOD = 16
_MIN_SPAN = 6


@dataclass(frozen=True)
class Output:
    """One generated text, with the flags (``FLAGS``) that say it probably degenerated."""

    text: str
    flags: tuple[str, ...] = ()


def until_end(ids: list[int], ends: Collection[int]) -> list[int]:
    """``ids`` up to and including the first end token (a row without one is cut by the limit)."""
    end = next((i for i, token in enumerate(ids) if token in ends), None)
    return ids if end is None else ids[: end + 1]


def degeneration(
    ids: list[int], max_length: int, end_ids: Collection[int], forced_end: bool, specials: Collection[int]
) -> tuple[str, ...]:
    """Flags for one output (ids without the decoder start token, end token kept if generated).

    ``max_length`` counts the decoder start token, as transformers does. With a forced end token
    (``forced_eos_token_id``) an output cut by the limit ends with it too, so reaching the limit is
    what counts; otherwise an output that ends with its own end token was not cut.
    """
    flags = []
    if ids and len(ids) >= max_length - 1 and (forced_end or ids[-1] not in end_ids):
        flags.append(MAX_LENGTH)
    if has_loop([t for t in ids if t not in specials]):
        flags.append(REPETITION)
    return tuple(flags)


def has_loop(ids: list[int]) -> bool:
    """Whether some n-gram repeats back to back (see ``_MAX_PERIOD``, ``_MIN_SPAN``)."""
    for period in range(1, min(_MAX_PERIOD, len(ids) // 2) + 1):
        repeats = 2 if period >= 6 else max(3, -(-_MIN_SPAN // period))
        needed = (repeats - 1) * period  # positions equal to the token one period earlier, in a row
        run = 0
        for i in range(period, len(ids)):
            run = run + 1 if ids[i] == ids[i - period] else 0
            if run >= needed:
                return True
    return False
