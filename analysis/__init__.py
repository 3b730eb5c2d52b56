"""Quality-of-training indicators from the canonical ratings table (no Flask, no SQLAlchemy).

>>> from analysis import read_ratings_csv, compute_indicators
>>> records = compute_indicators(read_ratings_csv("docs/examples/ratings.csv"))  # doctest: +SKIP

The statistical contract is ``indicators.md``; ``docs/methodology.md`` explains it in plain
words.
"""

from analysis.indicators import FIELDS, INDICATORS, Indicator, compute_indicators
from analysis.io import read_invited_csv, read_outcomes_csv, read_ratings_csv

__all__ = [
    "FIELDS",
    "INDICATORS",
    "Indicator",
    "compute_indicators",
    "read_invited_csv",
    "read_outcomes_csv",
    "read_ratings_csv",
]
