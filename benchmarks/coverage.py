"""Coverage simulation: do the 95% intervals cover the true value 95% of the time?

Each replication is one survey of a programme: ``raters`` employers, each rating
``1 + Poisson(2)`` graduates (three on average), with an intra-rater correlation of 0.3 on
the latent scale ``z = μ + u_rater + e_graduate`` (``var u = 0.3``, ``var e = 0.7``). A
response's domain score is ``100·Φ(z)`` (0-100, true mean ``100·Φ(μ/√2)``); the overall item
is in its top two points when ``z > 0`` (true share ``Φ(μ)``).

All replications go through ``compute_indicators`` in one call (each replication is its own
institution), so this checks the library end to end. For comparison, the naive interval that
ignores the clustering (``s²/n`` with ``t_{n−1}``; Wilson on ``n``) is computed on the same
data: it under-covers.

    python benchmarks/coverage.py                 # 2,000 replications, 20 and 50 raters
    python benchmarks/coverage.py --reps 5000 --raters 30
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import compute_indicators
from analysis import stats as ast

MU = 0.3
ICC = 0.3


@dataclass(frozen=True)
class Coverage:
    """Coverage of the 95% intervals over ``reps`` replications."""

    reps: int
    raters: int
    mean_n: float
    domain_score: float
    domain_score_naive: float
    overall_satisfied: float
    overall_satisfied_naive: float

    def lines(self) -> list[str]:
        head = f"{self.reps} replications, {self.raters} raters (~{self.mean_n:.0f} responses)"
        return [
            head,
            f"  domain_score       t-cluster   {100 * self.domain_score:5.1f}%   "
            f"naive t  {100 * self.domain_score_naive:5.1f}%",
            f"  overall_satisfied  wilson-deff {100 * self.overall_satisfied:5.1f}%   "
            f"naive Wilson {100 * self.overall_satisfied_naive:5.1f}%",
        ]


def simulate(reps: int = 2000, raters: int = 50, seed: int = 0) -> Coverage:
    """Run the simulation; return the coverage of the clustered and the naive intervals."""
    rng = np.random.default_rng(seed)
    n_r = reps * raters
    size = 1 + rng.poisson(2.0, n_r)
    rater = np.repeat(np.arange(n_r), size)
    rep = rater // raters
    n = len(rater)
    z = MU + rng.normal(0.0, np.sqrt(ICC), n_r)[rater] + rng.normal(0.0, np.sqrt(1 - ICC), n)
    score = 100.0 * special.ndtr(z)
    top = z > 0
    true_score = 100.0 * special.ndtr(MU / np.sqrt(2.0))
    true_share = special.ndtr(MU)

    ids = np.arange(n).astype(str)
    inst = np.char.add("S", rep.astype(str))
    table = {
        "institution": np.repeat(inst, 2),
        "programme": np.full(2 * n, "P"),
        "year": np.full(2 * n, 2025),
        "instrument": np.full(2 * n, "attestation"),
        "response_id": np.repeat(ids, 2),
        "subject_id": np.repeat(ids, 2),
        "rater_id": np.repeat(rater.astype(str), 2),
        "domain": np.tile(np.array(["skills", "overall"]), n),
        "item": np.tile(np.array(["skills", "overall"]), n),
        "score": np.column_stack([score, np.where(top, 5.0, 1.0)]).ravel(),
        "scale_min": np.tile(np.array([0, 1]), n),
        "scale_max": np.tile(np.array([100, 5]), n),
    }
    records = compute_indicators(table, previous_year=False, targets={})
    ds = [r for r in records if r.indicator == "domain_score" and r.programme == "P"]
    ov = [r for r in records if r.indicator == "overall_satisfied" and r.programme == "P"]
    assert len(ds) == len(ov) == reps

    def covered(recs, truth):
        lo = np.array([r.ci_low for r in recs])
        hi = np.array([r.ci_high for r in recs])
        return float(np.mean((lo <= truth) & (truth <= hi)))

    # naive: every response independent
    cell = rep
    one_each = np.arange(n)
    m, mean, V, _s2, _G = ast.cluster_moments(score, cell, one_each, cell, reps)
    lo, hi = ast.t_interval(mean, V, m - 1, bounds=(0.0, 100.0))
    naive_score = float(np.mean((lo <= true_score) & (true_score <= hi)))
    p = np.bincount(cell, weights=top, minlength=reps) / m
    lo, hi = ast.wilson_interval(p, m)
    naive_share = float(np.mean((lo <= true_share) & (true_share <= hi)))
    return Coverage(
        reps,
        raters,
        n / reps,
        covered(ds, true_score),
        naive_score,
        covered(ov, true_share),
        naive_share,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--raters", type=int, nargs="*", default=[20, 50])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for raters in args.raters:
        t0 = time.perf_counter()
        result = simulate(args.reps, raters, args.seed)
        print("\n".join(result.lines()) + f"   ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
