"""Small-count suppression for tables of counts that are not indicators.

The answer distribution of an item (how many employers chose each scale point) and the
partnership evidence (how many of a programme's graduates each partner enterprise employs)
are published as counts, and the privacy rule of ``indicators.md`` applies to them as to
every indicator: a group of fewer than ``min_n`` people is not shown, and no hidden count may
be recovered by subtracting the shown ones from a shown total.

- :func:`item_distribution` hides an item's whole distribution when fewer than ``min_n``
  employers answered it (the per-point counts of a small group would identify them).
- :func:`suppress_column` hides counts of 1 … ``min_n − 1`` in a column of counts that is
  published with its total, and then, when exactly one count is hidden and the total is
  shown, the next smallest non-zero count too (secondary suppression), so that the total
  minus the shown counts never equals a hidden one.

No Flask, no SQLAlchemy: counts in, frozen dataclasses out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ItemDistribution", "SuppressedColumn", "item_distribution", "suppress_column"]


@dataclass(frozen=True)
class ItemDistribution:
    """How the employers who answered one item spread over its scale points.

    Attributes
    ----------
    item : str
    scale_min, scale_max : int
        The scale; ``counts[i]`` is the number of answers ``scale_min + i``.
    n : int or None
        Answers with a score (None when suppressed).
    not_applicable : int or None
        "Not applicable / cannot judge" answers (None when suppressed).
    counts : tuple of int, or None
    shares : tuple of float, or None
        ``counts / n`` (unrounded), None when suppressed.
    top_two_share : float or None
        Share of answers in the two highest scale points (the "top-two box"), the
        distribution's usual one-number summary; None when suppressed.
    suppressed : bool
        True when fewer than ``min_n`` employers gave a score.
    """

    item: str
    scale_min: int
    scale_max: int
    n: int | None
    not_applicable: int | None
    counts: tuple[int, ...] | None
    shares: tuple[float, ...] | None
    top_two_share: float | None
    suppressed: bool


def item_distribution(
    item: str,
    counts: Sequence[int],
    *,
    scale_min: int,
    scale_max: int,
    not_applicable: int = 0,
    min_n: int = 5,
) -> ItemDistribution:
    """The distribution of one item's answers, hidden when fewer than ``min_n`` answered.

    Parameters
    ----------
    item : str
    counts : sequence of int
        Answers per scale point, from ``scale_min`` to ``scale_max`` (one count per point).
    scale_min, scale_max : int
    not_applicable : int, default 0
        Answers "not applicable / cannot judge" (never part of ``n`` or the shares).
    min_n : int, default 5

    Raises
    ------
    ValueError
        When ``counts`` does not have one entry per scale point, or a count is negative.
    """
    if scale_min >= scale_max:
        raise ValueError(f"item {item!r}: scale_min ({scale_min}) must be below scale_max")
    points = scale_max - scale_min + 1
    if len(counts) != points:
        raise ValueError(
            f"item {item!r}: expected {points} counts (scale {scale_min}..{scale_max}), "
            f"got {len(counts)}"
        )
    if min(counts) < 0 or not_applicable < 0:
        raise ValueError(f"item {item!r}: counts must not be negative")
    if min_n < 1:
        raise ValueError(f"min_n must be at least 1, got {min_n}")
    n = int(sum(counts))
    if n < min_n:
        return ItemDistribution(item, scale_min, scale_max, None, None, None, None, None, True)
    return ItemDistribution(
        item,
        scale_min,
        scale_max,
        n,
        int(not_applicable),
        tuple(int(c) for c in counts),
        tuple(c / n for c in counts),
        (counts[-1] + counts[-2]) / n,
        False,
    )


@dataclass(frozen=True)
class SuppressedColumn:
    """A column of counts and its total as they may be published (None = hidden)."""

    counts: tuple[int | None, ...]
    total: int | None
    #: positions hidden only so that the total cannot reveal another hidden count
    secondary: frozenset[int] = frozenset()


def suppress_column(counts: Sequence[int], *, min_n: int = 5) -> SuppressedColumn:
    """Hide small counts of a column published with its total.

    A count of 1 … ``min_n − 1`` is hidden (primary suppression; 0 stays visible, it
    identifies no one). The total is hidden when it is itself below ``min_n`` (then every
    non-zero count is). When exactly one count is hidden and the total is shown, the next
    smallest non-zero count is hidden too (secondary suppression), so that the total minus
    the shown counts is a sum of at least two hidden counts, never one of them.

    Raises
    ------
    ValueError
        On a negative count or ``min_n < 1``.
    """
    if min_n < 1:
        raise ValueError(f"min_n must be at least 1, got {min_n}")
    values = [int(c) for c in counts]
    if any(c < 0 for c in values):
        raise ValueError("counts must not be negative")
    total = sum(values)
    if 0 < total < min_n:
        return SuppressedColumn(tuple(None if c else 0 for c in values), None)
    hidden = {i for i, c in enumerate(values) if 0 < c < min_n}
    secondary: set[int] = set()
    if len(hidden) == 1:
        # another non-zero count exists: the total (>= min_n) exceeds the hidden one
        secondary.add(min((c, i) for i, c in enumerate(values) if c > 0 and i not in hidden)[1])
    hidden |= secondary
    return SuppressedColumn(
        tuple(None if i in hidden else c for i, c in enumerate(values)),
        total,
        frozenset(secondary),
    )
