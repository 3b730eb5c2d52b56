"""Suppression of published counts (answer distributions, partnership evidence)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.counts import item_distribution, suppress_column


def test_distribution_of_an_item_answered_often_enough():
    d = item_distribution("pk", [1, 0, 3, 4, 2], scale_min=1, scale_max=5, not_applicable=2)
    assert (d.n, d.not_applicable, d.suppressed) == (10, 2, False)
    assert d.shares == pytest.approx((0.1, 0.0, 0.3, 0.4, 0.2))
    assert d.top_two_share == pytest.approx(0.6)


def test_distribution_of_fewer_than_min_n_answers_is_hidden_whole():
    d = item_distribution("pk", [1, 0, 2, 1, 0], scale_min=1, scale_max=5, not_applicable=9)
    assert d.suppressed and d.n is None and d.counts is None and d.shares is None
    assert d.not_applicable is None  # N/A next to a hidden n would give it away
    assert not item_distribution("pk", [0, 0, 5], scale_min=0, scale_max=2, min_n=5).suppressed


@pytest.mark.parametrize(
    ("counts", "kwargs", "message"),
    [
        ([1, 2], {"scale_min": 1, "scale_max": 5}, "expected 5 counts"),
        ([1, -2, 3], {"scale_min": 1, "scale_max": 3}, "negative"),
        ([1, 2], {"scale_min": 2, "scale_max": 2}, "below scale_max"),
    ],
)
def test_distribution_refuses_bad_counts(counts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        item_distribution("pk", counts, **kwargs)


def test_one_small_count_takes_the_next_smallest_with_it():
    column = suppress_column([12, 3, 7, 0, 30])
    assert column.counts == (12, None, None, 0, 30)
    assert column.total == 52 and column.secondary == frozenset({2})


def test_a_small_total_hides_every_count():
    column = suppress_column([1, 0, 2])
    assert column.counts == (None, 0, None) and column.total is None


def test_two_small_counts_need_no_secondary_suppression():
    column = suppress_column([2, 4, 10])
    assert column.counts == (None, None, 10) and column.secondary == frozenset()


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=12), st.integers(1, 10))
def test_no_hidden_count_can_be_worked_out_from_the_total(counts, min_n):
    column = suppress_column(counts, min_n=min_n)
    hidden = [c for c, shown in zip(counts, column.counts, strict=True) if shown is None]
    # every small non-zero count is hidden; zeros and large counts are kept unless secondary
    for c, shown in zip(counts, column.counts, strict=True):
        if 0 < c < min_n:
            assert shown is None
        if shown is not None:
            assert shown == c
    if column.total is not None:
        assert column.total == sum(counts)
        # the total minus the shown counts is never exactly one hidden count
        assert len(hidden) != 1
    else:
        assert all(shown in (None, 0) for shown in column.counts)
