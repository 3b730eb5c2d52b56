"""Write the example CSV files of this folder (seeded: running it again gives the same files).

    python docs/examples/generate.py

Two institutions, three programmes each, two graduation years, one instrument; programme
U001/P02 has only three responses in 2025 so that the example shows small-number suppression.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from analysis.synthetic import synthetic_invited, synthetic_outcomes, synthetic_ratings  # noqa: E402
from analysis.table import INVITED_COLUMNS, OUTCOMES_COLUMNS, RATINGS_COLUMNS  # noqa: E402


def _write(path: Path, table: dict[str, np.ndarray], columns: tuple[str, ...]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*(table[c] for c in columns), strict=True):
            writer.writerow(["" if isinstance(v, float) and v != v else _plain(v) for v in row])


def _plain(v: object) -> object:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    return v.item() if hasattr(v, "item") else v


def main() -> None:
    ratings = synthetic_ratings(
        institutions=2, programmes=3, years=(2024, 2025), responses_per_group=18, seed=2025
    )
    # keep three responses of U001/P02 in 2025 (suppressed in the output)
    small = (ratings["institution"] == "U001") & (ratings["programme"] == "P02")
    small &= ratings["year"] == 2025
    keep_ids = np.unique(ratings["response_id"][small])[:3]
    keep = ~small | np.isin(ratings["response_id"], keep_ids)
    ratings = {k: v[keep] for k, v in ratings.items()}
    _write(HERE / "ratings.csv", ratings, RATINGS_COLUMNS)
    _write(HERE / "invited.csv", synthetic_invited(ratings, rate=0.6), INVITED_COLUMNS)
    outcomes = synthetic_outcomes(
        institutions=2, programmes=3, years=(2024, 2025), graduates_per_group=30, seed=2025
    )
    _write(HERE / "outcomes.csv", outcomes, OUTCOMES_COLUMNS)


if __name__ == "__main__":
    main()
