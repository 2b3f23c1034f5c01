"""Token-budget batching: group inputs so every batch fits a padded-token budget.

Inputs are sorted by token length, so each batch holds rows of similar length (little padding), and
a batch is cut when rows x longest row would exceed the budget, or the row cap is reached.
"""

from __future__ import annotations


def token_budget_batches(lengths: list[int], batch_tokens: int, batch_size: int) -> list[list[int]]:
    """Indices into ``lengths``, batched; a single input longer than the budget gets its own batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # stable: ties keep input order
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # ascending order: the newest row is the longest
        if current and ((len(current) + 1) * longest > batch_tokens or len(current) >= batch_size):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
