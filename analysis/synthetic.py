"""Seeded synthetic ratings, invitations and outcomes (examples, tests, benchmarks).

The data look like a real employer survey: each employer (rater) rates several graduates of
one programme (so responses are clustered), some graduates are rated by two employers (so
Krippendorff's alpha has pairable units), some items are left empty ("cannot judge"), and the
domains use 1-5, 1-7 and 0-10 scales. Everything is generated with vectorised NumPy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DOMAINS", "synthetic_invited", "synthetic_outcomes", "synthetic_ratings"]

#: domain -> (number of items, scale_min, scale_max)
DOMAINS: dict[str, tuple[int, int, int]] = {
    "knowledge": (4, 1, 5),
    "skills": (4, 1, 5),
    "communication": (3, 1, 7),
    "teamwork": (3, 1, 5),
    "professionalism": (3, 1, 5),
    "digital": (2, 0, 10),
    "overall": (1, 1, 5),
    "recommend": (1, 0, 10),
}


def _items() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    dom, item, lo, hi = [], [], [], []
    for name, (k, a, b) in DOMAINS.items():
        for j in range(k):
            dom.append(name)
            item.append(f"{name[:4]}{j + 1}" if k > 1 else name)
            lo.append(a)
            hi.append(b)
    return np.array(dom), np.array(item), np.array(lo), np.array(hi)


def synthetic_ratings(
    *,
    institutions: int = 3,
    programmes: int = 3,
    years: tuple[int, ...] = (2024, 2025),
    instrument: str = "attestation",
    responses_per_group: float = 30.0,
    graduates_per_rater: float = 3.0,
    rater_sd: float = 0.65,
    double_rated: float = 0.05,
    missing: float = 0.05,
    seed: int = 0,
    as_codes: bool = False,
) -> dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """A ratings table (dict of NumPy arrays) in the canonical layout.

    Parameters
    ----------
    institutions, programmes : int
        Institutions, and programmes per institution.
    years : tuple of int
    instrument : str
    responses_per_group : float
        Mean responses per (institution, programme, year); Poisson, at least 1.
    graduates_per_rater : float
        Mean graduates one employer rates (1 + Poisson); makes responses clustered.
    rater_sd : float
        Standard deviation of the employer effect on the latent scale (residual sd is 1, so
        the intra-rater correlation is ``rater_sd² / (1 + rater_sd²)``).
    double_rated : float
        Share of graduates rated by a second employer.
    missing : float
        Share of items left empty.
    seed : int
    as_codes : bool
        Return each text column as ``(codes, labels)`` instead of strings (for building a
        compact categorical DataFrame of millions of rows).
    """
    rng = np.random.default_rng(seed)
    d_dom, d_item, d_lo, d_hi = _items()
    n_items = len(d_item)
    inst_ids = np.array([f"U{i:03d}" for i in range(institutions)])
    prog_ids = np.array([f"P{j:02d}" for j in range(programmes)])
    gi, gp, gy = np.meshgrid(
        np.arange(institutions), np.arange(programmes), np.array(years), indexing="ij"
    )
    gi, gp, gy = gi.ravel(), gp.ravel(), gy.ravel()
    n_groups = len(gi)
    group_effect = rng.normal(0.3, 0.35, n_groups)
    n_grad = np.maximum(1, rng.poisson(responses_per_group, n_groups))
    # graduates, then raters: consecutive graduates of a group share an employer
    grad_group = np.repeat(np.arange(n_groups), n_grad)
    n_g = len(grad_group)
    pos_in_group = np.arange(n_g) - np.repeat(np.r_[0, np.cumsum(n_grad)[:-1]], n_grad)
    # each employer rates a run of consecutive graduates of its group
    per_rater = 1 + rng.poisson(max(graduates_per_rater - 1.0, 0.0), n_groups)
    local = pos_in_group // per_rater[grad_group]
    new_rater = np.r_[True, (grad_group[1:] != grad_group[:-1]) | (local[1:] != local[:-1])]
    rater_of_grad = np.cumsum(new_rater) - 1
    n_raters = int(rater_of_grad[-1]) + 1
    # second ratings of some graduates, by another employer of the same group
    second = rng.random(n_g) < double_rated
    s_idx = np.flatnonzero(second)
    resp_grad = np.r_[np.arange(n_g), s_idx]
    resp_rater = np.r_[rater_of_grad, n_raters + np.arange(len(s_idx))]
    n_resp = len(resp_grad)
    rater_effect = rng.normal(0.0, rater_sd, n_raters + len(s_idx))
    grad_effect = rng.normal(0.0, 0.5, n_g)
    latent = (
        group_effect[grad_group[resp_grad]]
        + grad_effect[resp_grad]
        + rater_effect[resp_rater]
        + rng.normal(0.0, np.sqrt(max(1.0 - 0.25, 0.0)), n_resp)
    )
    # rows: every response answers every item
    r = np.repeat(np.arange(n_resp), n_items)
    it = np.tile(np.arange(n_items), n_resp)
    z = latent[r] + rng.normal(0.0, 0.7, len(r))
    # map the latent value (about N(0.3, 1.3)) to the item's scale
    u = 1.0 / (1.0 + np.exp(-1.1 * z))
    lo, hi = d_lo[it], d_hi[it]
    score = np.clip(np.floor(lo + u * (hi - lo + 1)), lo, hi).astype(np.float64)
    empty = (rng.random(len(r)) < missing) & (d_dom[it] != "overall")
    score[empty] = np.nan
    g = grad_group[resp_grad][r]

    def text(codes: np.ndarray, labels: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        return (codes.astype(np.int32), labels) if as_codes else labels[codes]

    def ids(prefix: str, count: int, width: int) -> np.ndarray:
        return np.char.add(prefix, np.char.zfill(np.arange(count).astype(str), width))

    item_labels, item_codes = np.unique(d_item, return_inverse=True)
    dom_labels, dom_codes = np.unique(d_dom, return_inverse=True)
    return {
        "institution": text(gi[g], inst_ids),
        "programme": text(gp[g], prog_ids),
        "year": gy[g].astype(np.int64),
        "instrument": text(np.zeros(len(r), dtype=np.int64), np.array([instrument])),
        "response_id": text(r, ids("R", n_resp, 7)),
        "subject_id": text(resp_grad[r], ids("G", n_g, 7)),
        "rater_id": text(resp_rater[r], ids("E", len(rater_effect), 6)),
        "domain": text(dom_codes[it], dom_labels),
        "item": text(item_codes[it], item_labels),
        "score": score,
        "scale_min": lo.astype(np.int64),
        "scale_max": hi.astype(np.int64),
    }


def synthetic_invited(
    ratings: dict[str, np.ndarray], *, rate: float = 0.6
) -> dict[str, np.ndarray]:
    """Invitations per group such that about ``rate`` of the invited answered."""
    key = np.char.add(
        np.char.add(np.char.add(ratings["institution"], "|"), ratings["programme"]),
        np.char.add(
            np.char.add("|", ratings["year"].astype(str)), np.char.add("|", ratings["instrument"])
        ),
    )
    first = np.unique(ratings["response_id"], return_index=True)[1]
    groups, n = np.unique(key[first], return_counts=True)
    parts = np.array([g.split("|") for g in groups]).reshape(-1, 4)
    return {
        "institution": parts[:, 0],
        "programme": parts[:, 1],
        "year": parts[:, 2].astype(np.int64),
        "instrument": parts[:, 3],
        "invited": np.ceil(n / rate).astype(np.int64),
    }


def synthetic_outcomes(
    *,
    institutions: int = 3,
    programmes: int = 3,
    years: tuple[int, ...] = (2024, 2025),
    graduates_per_group: float = 40.0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """One row per graduate: employment, months to employment, retention, partner employer."""
    rng = np.random.default_rng(seed + 1)
    gi, gp, gy = np.meshgrid(
        np.arange(institutions), np.arange(programmes), np.array(years), indexing="ij"
    )
    gi, gp, gy = gi.ravel(), gp.ravel(), gy.ravel()
    n = np.maximum(1, rng.poisson(graduates_per_group, len(gi)))
    g = np.repeat(np.arange(len(gi)), n)
    m = len(g)
    p_emp = rng.uniform(0.6, 0.9, len(gi))[g]
    employed = (rng.random(m) < p_emp).astype(np.float64)
    employed[rng.random(m) < 0.05] = np.nan
    months = np.where(employed == 1, rng.gamma(2.0, 2.0, m).round(), np.nan)
    retained = np.where(employed == 1, (rng.random(m) < 0.8).astype(float), np.nan)
    partner = np.where(employed == 1, (rng.random(m) < 0.4).astype(float), np.nan)
    return {
        "institution": np.array([f"U{i:03d}" for i in range(institutions)])[gi[g]],
        "programme": np.array([f"P{j:02d}" for j in range(programmes)])[gp[g]],
        "year": gy[g].astype(np.int64),
        "subject_id": np.char.add("G", np.char.zfill(np.arange(m).astype(str), 7)),
        "employed": employed,
        "months_to_employment": months,
        "retained_12m": retained,
        "partner_employer": partner,
    }
