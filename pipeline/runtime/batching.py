"""Batching without padding: every batch holds inputs of one token length, within a token budget,
so each output depends on its own input only (why: docs/reproducibility.md; measured with the
bench's stand-ins, 3 of 6 long summarizer inputs decoded differently in one padded batch than alone).
"""

from __future__ import annotations


def equal_length_batches(lengths: list[int], batch_tokens: int, batch_size: int) -> list[list[int]]:
    """Indices into ``lengths``, batched: taken in order of length, a batch is cut when rows x length
    would exceed the budget, the row cap is reached, or the length changes; a single input longer
    than the budget gets its own batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # stable: ties keep input order
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        length = lengths[i]
        if current and (
            lengths[current[0]] != length
            or (len(current) + 1) * length > batch_tokens
            or len(current) >= batch_size
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
