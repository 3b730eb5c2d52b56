"""``compute_indicators``: every quality-of-training indicator, for every group, at once.

The computation is column-wise: the ratings are encoded and sorted once (see
:mod:`analysis.table`), every per-group sum is a ``np.bincount`` / ``np.add.reduceat`` over
integer cell codes, and Python loops run only over the dozen indicator kinds, never over
groups. The statistical contract is ``indicators.md``; ``docs/methodology.md`` explains it in
plain words.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis import stats
from analysis._heap import large_blocks_reused
from analysis._threads import parallel
from analysis.reliability import (
    CronbachMoments,
    cronbach_from_moments,
    cronbach_moments,
    krippendorff_ordinal,
    label_hashes,
    merge_cronbach_moments,
    splitmix64,
)
from analysis.table import (
    OVERALL,
    RECOMMEND,
    Ratings,
    encode_ratings,
    row_label,
    show,
    validate_invited,
    validate_outcomes,
)

__all__ = ["FIELDS", "INDICATORS", "Indicator", "compute_indicators"]

#: Every indicator, in the order records are sorted.
INDICATORS = (
    "responses",
    "response_rate",
    "overall_satisfied",
    "nps",
    "domain_score",
    "domain_satisfied",
    "cronbach_alpha",
    "krippendorff_alpha",
    "employment_rate",
    "retention_12m",
    "partner_employment",
    "months_to_employment",
)
#: Indicators that are shares in [0, 1] (Wilson intervals, Newcombe for changes).
PROPORTIONS = frozenset(
    {
        "response_rate",
        "overall_satisfied",
        "domain_satisfied",
        "employment_rate",
        "retention_12m",
        "partner_employment",
    }
)
#: Indicators computed from the ratings and from the outcomes.
RATING_KINDS = frozenset(INDICATORS[:8])
OUTCOME_KINDS = frozenset(INDICATORS[8:])
#: Indicators that are means (t intervals, Welch for changes), with their range.
MEANS = {"domain_score": (0.0, 100.0), "nps": (-100.0, 100.0)}
#: The output fields, in order (JSON keys, CSV columns).
FIELDS = (
    "institution",
    "programme",
    "year",
    "instrument",
    "indicator",
    "domain",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "confidence_level",
    "method",
    "flags",
    "suppressed",
    "target",
    "target_status",
    "p_value",
    "p_adjusted",
    "effect_size",
)
DEFAULT_TARGETS = {"overall_satisfied": 0.80}
#: Bootstrap replicates of Krippendorff's alpha.
KRIPPENDORFF_BOOTSTRAP = 1000

# flags, as bits of an integer column until the records are built
LOW_N, SINGLE_RATER, POOLED, SIGNIFICANT, UNDEFINED, SECONDARY = 1, 2, 4, 8, 16, 32
_FLAG_NAMES = (
    (POOLED, "pooled"),
    (LOW_N, "low_n"),
    (SINGLE_RATER, "single_rater"),
    (UNDEFINED, "undefined"),
    (SIGNIFICANT, "significant"),
    (SECONDARY, "secondary_suppression"),
)
STAR = "*"
_ROW_ARRAYS = ("response", "domain", "item", "score", "pomp", "scale_min", "scale_max")
_NO_ROWS = np.zeros(0)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Indicator:
    """One indicator for one group (and domain), as committees see it.

    Attributes
    ----------
    institution, programme, year, instrument : the group; ``programme == "*"`` is the whole
        institution; ``instrument`` is None for the graduate-outcome indicators.
    indicator : str
        One of :data:`INDICATORS`, or ``<indicator>_change`` (year minus previous year).
    domain : str or None
        Competency domain of domain-level indicators.
    n : int or None
        Responses (or graduates, complete responses for ``cronbach_alpha``, rated graduates
        for ``krippendorff_alpha``) the value rests on; None when suppressed.
    estimate, ci_low, ci_high : float or None
        The value and its confidence interval, unrounded; None when suppressed or undefined.
    confidence_level : float
    method : str or None
        Interval method (``t``, ``t-cluster``, ``wilson``, ``wilson-deff``, ``feldt``,
        ``bootstrap``, ``order-statistics``, ``welch``, ``newcombe``, optionally ``+fpc``).
    flags : tuple of str
        ``pooled``, ``low_n``, ``single_rater``, ``undefined``, ``significant``,
        ``secondary_suppression``.
    suppressed : bool
    target, target_status : the target and ``met`` / ``not_met`` / ``inconclusive``.
    p_value, p_adjusted, effect_size : float or None
        For ``*_change`` records: the test, its Holm adjustment and Cliff's delta (means) or
        Cohen's h (proportions).
    """

    institution: str
    programme: str
    year: int
    instrument: str | None
    indicator: str
    domain: str | None
    n: int | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence_level: float
    method: str | None
    flags: tuple[str, ...] = ()
    suppressed: bool = False
    target: float | None = None
    target_status: str | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    effect_size: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict with the fields of :data:`FIELDS`, in order."""
        d = asdict(self)
        d["flags"] = list(self.flags)
        return {k: d[k] for k in FIELDS}

    def confidence_interval(self) -> tuple[float | None, float | None]:
        """``(ci_low, ci_high)``."""
        return self.ci_low, self.ci_high


# --------------------------------------------------------------------------------------------
# Group tables and memberships


@dataclass
class _Groups:
    """A table of groups: one element per group. ``programme == -1`` is the whole institution,
    ``instrument == -1`` means no instrument (outcomes)."""

    institution: IntArray
    programme: IntArray
    instrument: IntArray
    year: IntArray
    pooled: bool = False

    def __len__(self) -> int:
        return len(self.year)


@dataclass
class _Cells:
    """Per-cell results of one indicator kind (a cell is a group, or a group × domain)."""

    indicator: str
    group: IntArray
    domain: IntArray  # -1 when not domain-level
    n: IntArray
    estimate: FloatArray
    low: FloatArray
    high: FloatArray
    method: NDArray[np.str_]
    flags: IntArray
    # for changes and targets
    V: FloatArray | None = None
    G: FloatArray | None = None
    n_eff: FloatArray | None = None
    values: tuple[FloatArray, IntArray] | None = None  # unit values and their cell index
    moments: CronbachMoments | None = None  # cronbach_alpha: to merge into coarser cells


def _is_identity(m_resp: IntArray, n: int) -> bool:
    """True when the memberships are every response once, in order (the yearly levels)."""
    return len(m_resp) == n and bool(np.array_equal(m_resp, np.arange(n)))


def _distinct(keys: IntArray) -> IntArray:
    """The sorted distinct values of an integer array.

    ``np.unique(keys)`` without an inverse goes through a hash table in NumPy ≥ 2.3, which
    is more than ten times slower than sorting on the many distinct keys met here (0.59 s
    against 0.02 s for 300,000 keys).
    """
    s = np.sort(keys)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _dense_codes(keys: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for keys below ``size``: without a sort when
    the key space is not much larger than the keys (a count per possible key)."""
    if size > 4 * len(keys) + 4096:
        uk, inv = np.unique(keys, return_inverse=True)
        return uk, inv.reshape(-1)
    present = np.bincount(keys, minlength=size) > 0
    return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]


def _expand(starts: IntArray, counts: IntArray) -> IntArray:
    """Concatenate ``arange(s, s + c)`` for each (s, c), vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts)
    return np.arange(total, dtype=np.int64) + offsets


def _group_codes(
    institution: IntArray, programme: IntArray, instrument: IntArray, year: IntArray
) -> tuple[IntArray, _Groups]:
    """Group index of each element and the table of distinct groups (sorted)."""
    y0 = int(year.min()) if len(year) else 0
    ny = int(year.max()) - y0 + 1 if len(year) else 1
    npg = int(programme.max()) + 2 if len(programme) else 1
    nin = int(instrument.max()) + 2 if len(instrument) else 1
    key = ((institution * npg + (programme + 1)) * nin + (instrument + 1)) * ny + (year - y0)
    uk, inv = np.unique(key, return_inverse=True)
    yr = uk % ny + y0
    rest = uk // ny
    ins = rest % nin - 1
    rest //= nin
    prog = rest % npg - 1
    inst = rest // npg
    return inv.reshape(-1), _Groups(inst, prog, ins, yr)


@dataclass(frozen=True)
class _Clusters:
    """The cluster (cell × rater) of each observation, as a key into ``cell``.

    Built once per level and shared by the indicators over the same observations; keys of
    clusters that lose all their values to missing answers are dropped by :meth:`take`.
    """

    key: IntArray  # per observation
    cell: IntArray  # cell of each key

    @classmethod
    def of(cls, cell: IntArray, rater: IntArray, n_raters: int) -> _Clusters:
        """Clusters of observations in ``cell`` rated by ``rater``."""
        uk, inv = np.unique(cell.astype(np.int64) * n_raters + rater, return_inverse=True)
        return cls(inv.reshape(-1), uk // n_raters)

    def by_domain(self, obs: IntArray, domain: IntArray, D: int) -> _Clusters:
        """Clusters of (observation ``obs``, domain) units: a group × rater cluster splits by
        domain, so the key stays dense (no sort of the units)."""
        cell = (self.cell[:, None] * D + np.arange(D)).ravel()
        return _Clusters(self.key[obs] * D + domain, cell)

    def take(self, ok: NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
        """Cluster index (0..G−1) of the observations in ``ok`` and the cell of each cluster."""
        key = self.key[ok]
        used = np.bincount(key, minlength=len(self.cell)) > 0
        return (np.cumsum(used) - 1)[key], self.cell[used]


# --------------------------------------------------------------------------------------------
# Interval helpers over cells


def _means(
    name: str,
    y: FloatArray,
    cell: IntArray,
    clusters: _Clusters,
    n_cells: int,
    fpc_n: FloatArray,
    level: float,
    domain_of_cell: IntArray | None,
    group_of_cell: IntArray,
) -> _Cells:
    """Clustered means with t / t-cluster intervals (see :func:`analysis.stats.cluster_moments`)."""
    ok = ~np.isnan(y)
    y, cell = y[ok], cell[ok]
    cl, cl_cell = clusters.take(ok)
    n, mean, V, _s2, G = stats.cluster_moments(y, cell, cl, cl_cell, n_cells)
    factor = _fpc_factor(fpc_n[group_of_cell], n)
    Vf = V * factor
    low, high = stats.t_interval(mean, Vf, G - 1, confidence_level=level, bounds=MEANS[name])
    method = np.where(n > G, "t-cluster", "t").astype(object)
    method = np.where(np.isnan(fpc_n[group_of_cell]), method, method + "+fpc")
    flags = np.where(G == 1, SINGLE_RATER, 0)
    return _Cells(
        name,
        group_of_cell,
        domain_of_cell if domain_of_cell is not None else np.full(n_cells, -1),
        n,
        mean,
        low,
        high,
        method,
        flags,
        V=Vf,
        G=G.astype(np.float64),
        values=(y, cell),
    )


def _fpc_factor(N: FloatArray, n: IntArray) -> FloatArray:
    """``(N − n)/(N − 1)``, 1 where N is unknown (NaN), 0 for a census."""
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(N > 1, (N - n) / (N - 1.0), 0.0)
    return np.where(np.isnan(N), 1.0, np.clip(f, 0.0, 1.0))


def _proportions(
    name: str,
    y: FloatArray,
    cell: IntArray,
    clusters: _Clusters | None,
    n_cells: int,
    fpc_n: FloatArray,
    level: float,
    domain_of_cell: IntArray | None,
    group_of_cell: IntArray,
) -> _Cells:
    """Shares with Wilson / Wilson-deff intervals on the effective sample size."""
    ok = ~np.isnan(y)
    y, cell = y[ok], cell[ok]
    if clusters is None:  # graduates: no clusters
        cl = np.arange(len(y))
        cl_cell = cell
    else:
        cl, cl_cell = clusters.take(ok)
    n, p, V, s2, G = stats.cluster_moments(y, cell, cl, cl_cell, n_cells)
    factor = _fpc_factor(fpc_n[group_of_cell], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = np.where(n == G, 1.0, V / (s2 / n)) * factor
        n_eff = np.where(s2 > 0, n / deff, n.astype(np.float64))
    n_eff = np.where((G < 2) & (n > G), np.nan, n_eff)  # one rater, several responses
    low, high = stats.wilson_interval(p, n_eff, confidence_level=level)
    base = "wilson" if clusters is None else None
    method = (
        np.where(n > G, "wilson-deff", "wilson").astype(object)
        if base is None
        else np.full(n_cells, base, dtype=object)
    )
    method = np.where(np.isnan(fpc_n[group_of_cell]), method, method + "+fpc")
    flags = np.where((G == 1) & (clusters is not None), SINGLE_RATER, 0)
    return _Cells(
        name,
        group_of_cell,
        domain_of_cell if domain_of_cell is not None else np.full(n_cells, -1),
        n,
        p,
        low,
        high,
        method,
        flags,
        V=V * factor,
        G=G.astype(np.float64),
        n_eff=n_eff,
    )


# --------------------------------------------------------------------------------------------
# One level of groups over the ratings


@dataclass
class _Derived:
    """Response-level and (response, domain)-level values computed once from the ratings."""

    overall: FloatArray  # 1 satisfied, 0 not, NaN no answer
    nps: FloatArray  # +100 / 0 / -100, NaN no answer
    unit_start: IntArray  # first (response, domain) unit of each response
    unit_count: IntArray
    unit_domain: IntArray
    unit_score: FloatArray  # domain score, NaN when undefined
    competency: NDArray[np.bool_]  # per domain code
    # rows of competency domains (sorted by response), for the reliabilities
    crow_resp: IntArray
    crow_domain: IntArray
    crow_item: IntArray
    crow_pomp: FloatArray
    crow_start: IntArray
    crow_count: IntArray


def _derive(R: Ratings) -> _Derived:
    """Overall-satisfied and NPS values per response, domain scores per (response, domain).

    A response's domain score is the mean POMP score of its answered items in the domain,
    defined when at least half of the domain's rows of that response (and at least one)
    are answered. A reserved domain answered more than once in a response is refused.
    """
    n_resp = R.n_responses
    labels = R.labels["domain"]
    D = len(labels)
    competency = (labels != OVERALL) & (labels != RECOMMEND)
    answered = ~np.isnan(R.score)

    def reserved(name: str) -> tuple[NDArray[np.bool_], IntArray]:
        code = np.flatnonzero(labels == name)
        rows = (R.domain == code[0]) & answered if len(code) else np.zeros(len(R.score), bool)
        count = np.bincount(R.response[rows], minlength=n_resp)
        if (count > 1).any():
            r = int(np.argmax(count > 1))
            raise ValueError(
                f"column 'domain': response {show(R.labels['response_id'][r])} answers "
                f"{count[r]} items of the reserved domain {name!r}; expected one"
            )
        return rows, count

    rows, _ = reserved(OVERALL)
    overall = np.full(n_resp, np.nan)
    overall[R.response[rows]] = (R.score[rows] >= R.scale_max[rows] - 1.0).astype(np.float64)
    rows, _ = reserved(RECOMMEND)
    nps = np.full(n_resp, np.nan)
    s = R.score[rows]
    nps[R.response[rows]] = np.where(s >= 9, 100.0, np.where(s >= 7, 0.0, -100.0))

    comp_rows = competency[R.domain]
    crow_resp = R.response[comp_rows]
    crow_domain = R.domain[comp_rows]
    crow_count = np.bincount(crow_resp, minlength=n_resp)
    crow_start = np.r_[0, np.cumsum(crow_count)[:-1]].astype(np.int64)
    uk, inv = _dense_codes(crow_resp * D + crow_domain, n_resp * D)
    n_units = len(uk)
    n_rows = np.bincount(inv, minlength=n_units)
    ans = answered[comp_rows]
    n_ans = np.bincount(inv, weights=ans, minlength=n_units)
    pomp = R.pomp[comp_rows]
    total = np.bincount(inv, weights=np.where(ans, pomp, 0.0), minlength=n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where((n_ans >= 1) & (2 * n_ans >= n_rows), total / n_ans, np.nan)
    unit_resp = uk // D
    unit_count = np.bincount(unit_resp, minlength=n_resp)
    unit_start = np.r_[0, np.cumsum(unit_count)[:-1]].astype(np.int64)
    return _Derived(
        overall,
        nps,
        unit_start,
        unit_count,
        (uk % D).astype(np.int64),
        score,
        competency,
        crow_resp,
        crow_domain,
        R.item[comp_rows],
        pomp,
        crow_start,
        crow_count,
    )


@dataclass(frozen=True)
class _Labels:
    institution: np.ndarray
    programme: np.ndarray
    instrument: np.ndarray
    domain: np.ndarray


def _ratings_level(
    R: Ratings,
    labels: _Labels,
    d: _Derived,
    m_resp: IntArray,
    m_group: IntArray,
    groups: _Groups,
    fpc_n: FloatArray,
    opts: _Options,
    kinds: frozenset[str] | None = None,
) -> list[_Cells]:
    """Ratings indicators for the groups of one level (memberships ``m_resp → m_group``).

    ``kinds`` limits the computation to some indicators (``responses`` always comes first).
    """
    kinds = RATING_KINDS if kinds is None else kinds
    ng = len(groups)
    D = len(R.labels["domain"])
    NR = len(R.labels["rater_id"])
    level = opts.confidence_level
    out: list[_Cells] = []
    gidx = np.arange(ng)
    rater = R.rater[m_resp]

    n = np.bincount(m_group, minlength=ng)
    out.append(
        _Cells(
            "responses",
            gidx,
            np.full(ng, -1),
            n,
            n.astype(np.float64),
            np.full(ng, np.nan),
            np.full(ng, np.nan),
            np.full(ng, "count", dtype=object),
            np.zeros(ng, dtype=np.int64),
        )
    )
    clusters = _Clusters.of(m_group, rater, NR)
    if "overall_satisfied" in kinds:
        y = d.overall[m_resp]
        out.append(
            _proportions("overall_satisfied", y, m_group, clusters, ng, fpc_n, level, None, gidx)
        )
    if "nps" in kinds:
        y = d.nps[m_resp]
        out.append(_means("nps", y, m_group, clusters, ng, fpc_n, level, None, gidx))
    nc = ng * D
    cg = np.repeat(gidx, D)
    cd = np.tile(np.arange(D), ng)
    if kinds & {"domain_score", "domain_satisfied"}:
        out.extend(_domain_means(d, m_resp, m_group, clusters, nc, D, fpc_n, opts, cd, cg))
    if kinds & {"cronbach_alpha", "krippendorff_alpha"}:
        out.extend(_reliabilities(R, labels, d, m_resp, m_group, groups, opts, kinds))
    return out


def _domain_means(
    d: _Derived,
    m_resp: IntArray,
    m_group: IntArray,
    clusters: _Clusters,
    nc: int,
    D: int,
    fpc_n: FloatArray,
    opts: _Options,
    cd: IntArray,
    cg: IntArray,
) -> list[_Cells]:
    """``domain_score`` and ``domain_satisfied`` over the (response, domain) units."""
    M = len(m_resp)
    level = opts.confidence_level

    # (response, domain) units of each membership
    if _is_identity(m_resp, len(d.unit_count)):
        umem = np.repeat(np.arange(M), d.unit_count)
        udomain = d.unit_domain
        uscore = d.unit_score
    else:
        ucount = d.unit_count[m_resp]
        uidx = _expand(d.unit_start[m_resp], ucount)
        umem = np.repeat(np.arange(M), ucount)
        udomain = d.unit_domain[uidx]
        uscore = d.unit_score[uidx]
    ucell = m_group[umem] * D + udomain
    uclusters = clusters.by_domain(umem, udomain, D)
    sat = np.where(np.isnan(uscore), np.nan, (uscore >= opts.satisfied_threshold).astype(float))
    return [
        _means("domain_score", uscore, ucell, uclusters, nc, fpc_n, level, cd, cg),
        _proportions("domain_satisfied", sat, ucell, uclusters, nc, fpc_n, level, cd, cg),
    ]


def _rows(d: _Derived, m_resp: IntArray) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Competency rows of each membership: membership index, domain, item and POMP score."""
    if _is_identity(m_resp, len(d.crow_count)):
        return d.crow_resp, d.crow_domain, d.crow_item, d.crow_pomp
    rcount = d.crow_count[m_resp]
    ridx = _expand(d.crow_start[m_resp], rcount)
    rmem = np.repeat(np.arange(len(m_resp)), rcount)
    return rmem, d.crow_domain[ridx], d.crow_item[ridx], d.crow_pomp[ridx]


def _reliabilities(
    R: Ratings,
    labels: _Labels,
    d: _Derived,
    m_resp: IntArray,
    m_group: IntArray,
    groups: _Groups,
    opts: _Options,
    kinds: frozenset[str],
) -> list[_Cells]:
    """``cronbach_alpha`` and ``krippendorff_alpha`` from the item rows of each membership."""
    ng = len(groups)
    D = len(labels.domain)
    NI = len(R.labels["item"])
    NS = len(R.labels["subject_id"])
    nc = ng * D
    cg = np.repeat(np.arange(ng), D)
    cd = np.tile(np.arange(D), ng)
    level = opts.confidence_level
    out: list[_Cells] = []
    if "cronbach_alpha" in kinds:
        rmem, rdom, ritem, rpomp = _rows(d, m_resp)
        unit_key = rmem * D
        unit_key += rdom
        unit_cell = (m_group[:, None] * D + np.arange(D)).ravel()  # of unit m * D + domain
        moments = _cronbach_moments(unit_key, unit_cell, ritem, rpomp, NI, nc)
        out.append(_cronbach(moments, cg, cd, level))
    if "krippendorff_alpha" in kinds:
        # only graduates rated in two or more memberships of one group can form units: their
        # rows alone are read (a few percent of the rows)
        gs_key = m_group.astype(np.int64) * NS + R.subject[m_resp]
        _, inv_gs, cnt_gs = np.unique(gs_key, return_inverse=True, return_counts=True)
        several = np.flatnonzero(cnt_gs[inv_gs.reshape(-1)] >= 2)
        k_resp, k_group = m_resp[several], m_group[several]
        rmem, rdom, ritem, rpomp = _rows(d, k_resp)
        sel = ~np.isnan(rpomp)
        rmem, a_item, a_val = rmem[sel], ritem[sel], rpomp[sel]
        a_cell = k_group[rmem] * D + rdom[sel]
        a_resp = k_resp[rmem]
        a_subj = R.subject[a_resp]
        ukey, uinv = np.unique((a_cell * NS + a_subj) * NI + a_item, return_inverse=True)
        uinv = uinv.reshape(-1)
        # a unit is pairable when two different raters (employers) rated it
        NR = len(R.labels["rater_id"])
        unit_rater = _distinct(uinv * NR + R.rater[a_resp])
        pair_unit = np.bincount(unit_rater // NR, minlength=len(ukey)) >= 2
        keep_v = pair_unit[uinv]
        new_id = np.cumsum(pair_unit) - 1
        v_unit = new_id[uinv[keep_v]]
        order = np.argsort(v_unit, kind="stable")
        unit_cell = ukey[pair_unit] // (NS * NI)
        subj_key = _distinct(ukey[pair_unit] // NI)  # (cell, subject)
        n_subj = np.bincount(subj_key // NS, minlength=nc)
        _n_val, kalpha, klow, khigh = krippendorff_ordinal(
            a_val[keep_v][order],
            v_unit[order],
            unit_cell,
            nc,
            _cell_hashes(labels, groups, opts.seed),
            n_boot=KRIPPENDORFF_BOOTSTRAP,
            confidence_level=level,
            bootstrap=n_subj >= opts.min_n,  # suppressed records show no interval
        )
        out.append(
            _Cells(
                "krippendorff_alpha",
                cg,
                cd,
                n_subj,
                kalpha,
                klow,
                khigh,
                np.full(nc, "bootstrap", dtype=object),
                np.where(np.isnan(kalpha), UNDEFINED, 0),
            )
        )
    return out


def _cronbach_moments(
    unit_key: IntArray,
    unit_cell: IntArray,
    ritem: IntArray,
    rpomp: FloatArray,
    NI: int,
    nc: int,
) -> CronbachMoments:
    """The moments of Cronbach's alpha per (group, domain) cell over its complete responses.

    ``unit_key`` is the (membership, domain) unit of each row and ``unit_cell`` the cell of
    each unit. The cell's items are the items with a row in the cell; a response is complete
    in the domain when it answered all of them. Row-sized temporaries are kept few: this
    runs over every competency row.
    """
    ic = unit_cell[unit_key]
    ic *= NI
    ic += ritem
    if nc * NI <= 50_000_000:
        key = np.arange(nc * NI, dtype=np.int64)
        present = np.bincount(ic, minlength=nc * NI) > 0
    else:
        key, ic = np.unique(ic, return_inverse=True)
        ic = ic.reshape(-1)
        present = np.ones(len(key), dtype=bool)
    k = np.bincount(key[present] // NI, minlength=nc)
    answered = ~np.isnan(rpomp)
    n_ans = np.bincount(unit_key[answered], minlength=len(unit_cell))
    complete = answered & (n_ans == k[unit_cell])[unit_key]
    del answered
    entry = ic[complete]
    del ic
    return cronbach_moments(
        rpomp[complete], unit_key[complete], entry, unit_cell, key, present, NI, nc
    )


def _cronbach(m: CronbachMoments, cg: IntArray, cd: IntArray, level: float) -> _Cells:
    """``cronbach_alpha`` cells with Feldt's interval from the moments of each cell."""
    n_alpha, alpha, k = cronbach_from_moments(m)
    low, high = stats.feldt_interval(alpha, n_alpha, k, confidence_level=level)
    has = (k >= 2) & (n_alpha > 0)
    return _Cells(
        "cronbach_alpha",
        cg,
        cd,
        np.where(has, n_alpha, 0),
        alpha,
        low,
        high,
        np.full(len(cg), "feldt", dtype=object),
        np.where(np.isnan(alpha), UNDEFINED, 0),
        moments=m,
    )


def _cell_hashes(labels: _Labels, groups: _Groups, seed: int) -> NDArray[np.uint64]:
    """A stable key per (group, domain) cell from the labels, the year and the seed."""
    h_inst = label_hashes(labels.institution)
    h_prog = label_hashes([*labels.programme, STAR])
    h_ins = label_hashes([*labels.instrument, ""])
    h_dom = label_hashes(labels.domain)
    D = len(labels.domain)
    with np.errstate(over="ignore"):
        g = splitmix64(h_inst[groups.institution] ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
        g = splitmix64(g ^ h_prog[groups.programme])  # -1 picks the STAR hash, the last one
        g = splitmix64(g ^ h_ins[groups.instrument])
        g = splitmix64(g ^ groups.year.astype(np.uint64) ^ np.uint64(groups.pooled))
        return splitmix64(np.repeat(g, D) ^ np.tile(h_dom, len(groups)))


# --------------------------------------------------------------------------------------------
# Outcomes


def _outcomes_level(
    outcomes: dict[str, np.ndarray],
    m_grad: IntArray,
    m_group: IntArray,
    groups: _Groups,
    opts: _Options,
) -> list[_Cells]:
    ng = len(groups)
    gidx = np.arange(ng)
    none = np.full(ng, np.nan)
    level = opts.confidence_level
    employed = outcomes["employed"][m_grad]
    out = [_proportions("employment_rate", employed, m_group, None, ng, none, level, None, gidx)]
    is_emp = employed == 1
    ret = np.where(is_emp, outcomes["retained_12m"][m_grad], np.nan)
    out.append(_proportions("retention_12m", ret, m_group, None, ng, none, level, None, gidx))
    par = np.where(is_emp, outcomes["partner_employer"][m_grad], np.nan)
    out.append(_proportions("partner_employment", par, m_group, None, ng, none, level, None, gidx))
    months = outcomes["months_to_employment"][m_grad]
    ok = ~np.isnan(months)
    n, med, low, high = stats.median_interval(months[ok], m_group[ok], ng, confidence_level=level)
    out.append(
        _Cells(
            "months_to_employment",
            gidx,
            np.full(ng, -1),
            n,
            med,
            low,
            high,
            np.full(ng, "order-statistics", dtype=object),
            np.zeros(ng, dtype=np.int64),
        )
    )
    return out


# --------------------------------------------------------------------------------------------
# Options and the public function


@dataclass(frozen=True)
class _Options:
    confidence_level: float
    min_n: int
    low_n: int
    satisfied_threshold: float
    targets: dict[str, float]
    fpc: bool
    previous_year: bool
    seed: int


def _check_options(
    confidence_level: float,
    min_n: int,
    low_n: int,
    satisfied_threshold: float,
    targets: Mapping[str, float] | None,
    seed: int,
) -> dict[str, float]:
    if not 0.0 < float(confidence_level) < 1.0:
        raise ValueError(
            f"confidence_level must be strictly between 0 and 1, got {confidence_level}"
        )
    if int(min_n) != min_n or min_n < 1:
        raise ValueError(f"min_n must be a positive integer, got {min_n}")
    if int(low_n) != low_n or low_n < 1:
        raise ValueError(f"low_n must be a positive integer, got {low_n}")
    if not 0.0 <= float(satisfied_threshold) <= 100.0:
        raise ValueError(f"satisfied_threshold must be in [0, 100], got {satisfied_threshold}")
    if int(seed) != seed:
        raise ValueError(f"seed must be an integer, got {seed}")
    resolved = dict(DEFAULT_TARGETS if targets is None else targets)
    for key, value in resolved.items():
        name, _, _domain = str(key).partition(":")
        if name not in INDICATORS:
            raise ValueError(
                f"targets: unknown indicator {name!r} (expected one of {', '.join(INDICATORS)})"
            )
        value = float(value)
        if name in PROPORTIONS and not 0.0 <= value <= 1.0:
            raise ValueError(
                f"targets: {key} is a proportion, expected a target in [0, 1], got {value}"
            )
        resolved[key] = value
    return resolved


def compute_indicators(
    ratings: Mapping[str, Any],
    *,
    invited: Mapping[str, Any] | None = None,
    outcomes: Mapping[str, Any] | None = None,
    confidence_level: float = 0.95,
    min_n: int = 5,
    low_n: int = 25,
    satisfied_threshold: float = 75.0,
    targets: Mapping[str, float] | None = None,
    fpc: bool = False,
    previous_year: bool = True,
    seed: int = 0,
) -> list[Indicator]:
    """Compute every quality-of-training indicator for every group.

    Parameters
    ----------
    ratings : mapping of column name to values
        The canonical ratings table (``institution, programme, year, instrument, response_id,
        subject_id, rater_id, domain, item, score, scale_min, scale_max``): a dict of arrays,
        a pandas DataFrame, or :func:`analysis.read_ratings_csv`'s result.
    invited : mapping, optional
        ``institution, programme, year, instrument, invited``: gives ``response_rate`` and the
        finite-population correction.
    outcomes : mapping, optional
        One row per graduate: ``institution, programme, year, subject_id, employed,
        months_to_employment, retained_12m, partner_employer``.
    confidence_level : float, default 0.95
    min_n : int, default 5
        Indicators over fewer responses (graduates) are suppressed.
    low_n : int, default 25
        Below it an indicator is flagged ``low_n`` and a pooled three-year record is added.
    satisfied_threshold : float, default 75
        Domain score (0-100) from which a response is satisfied in a domain.
    targets : mapping, optional
        Target per indicator, e.g. ``{"overall_satisfied": 0.8}``; a key
        ``"domain_score:communication"`` targets one domain. None means
        ``{"overall_satisfied": 0.80}``; pass ``{}`` for no target.
    fpc : bool, default False
        Apply the finite-population correction (needs ``invited``).
    previous_year : bool, default True
        Add ``<indicator>_change`` records against the previous year.
    seed : int, default 0
        Seed of the Krippendorff bootstrap.

    Returns
    -------
    list of Indicator
        Sorted by institution, programme (``*`` first), year, instrument (outcomes first),
        indicator (in the order of :data:`INDICATORS`; for each, the yearly records, then
        the pooled ones, then the changes), domain.

    Raises
    ------
    ValueError
        On bad input (naming the column, first offending row and what was expected) or bad
        options.

    Notes
    -----
    Groups are (institution, programme, year, instrument) and (institution, ``*``, year,
    instrument); the outcome indicators have no instrument. Interval methods:

    - means (``domain_score``, ``nps``): ``ȳ ± t_{G−1} √V`` with the cluster-robust
      ``V = G/(G−1) Σ_g (Σ_{i∈g}(y_i − ȳ))²/n²`` over the G raters (``t-cluster``) or
      ``s²/n`` when no rater answered twice (``t``), clipped to the range;
    - proportions: Wilson on ``n_eff = n/deff``, ``deff = V/(s²/n)`` (``wilson-deff``);
    - ``fpc=True`` multiplies V by ``(N − n)/(N − 1)`` with N invited and n the indicator's
      count (``+fpc``); it does not apply to ``response_rate`` (a census of the invited) or
      to outcomes;
    - Cronbach's alpha: Feldt; Krippendorff's alpha: percentile bootstrap over units;
      median months to employment: binomial order statistics.

    Choices where the contract leaves room:

    - A response's domain score needs half the domain's rows *of that response* answered
      (the canonical table lists every presented item, empty when unanswered).
    - ``cronbach_alpha`` and ``krippendorff_alpha`` use POMP scores, so items on different
      scales can be combined (for items on one scale this equals alpha on raw scores:
      alpha is invariant to a common linear transformation, ordinal alpha to any
      monotone one). Krippendorff's units are (graduate, item) pairs rated by at least two
      different raters; every response is one coder (a rater who rated the same graduate
      twice gives two values); ``n`` is the number of graduates in pairable units. Its
      bootstrap (1,000 replicates, seeded per cell from the group's labels, so a cell's
      interval never depends on other cells) is skipped for cells with fewer than
      ``min_n`` graduates, whose records are hidden anyway. A reliability that is
      undefined (no variance) is reported with estimate None and flag ``undefined``.
    - Change records exist for the proportions and means (not for counts, reliabilities or
      the median), against exactly the previous year.
    - With a single rater giving several responses, means and proportions get no interval
      (flag ``single_rater``); a single response gets none either for means.
    - ``response_rate``'s ``n`` is the number of responses (suppression is about
      respondents); its Wilson interval uses the invited count. For ``*`` the invited
      counts of all programmes are summed, and the rate is left out unless every programme
      with responses has an invited count.
    - Change records: ``n`` is the current year's; means use Welch with both years'
      (cluster-robust, fpc-corrected) V; proportions use Newcombe on both years' Wilson
      (-deff) intervals and the Pearson χ² on effective sample sizes (a first-order
      Rao-Scott correction, plain Pearson when unclustered). ``months_to_employment`` has
      no change record (the contract gives no test for medians). A change record is
      suppressed when either year is; suppressed and untestable records are left out of
      the Holm family.
    - Pooled records are computed for the years Y−2..Y of the same group, only when the
      yearly record has n < low_n and the earlier years add responses.
    - Secondary suppression applies per (institution, year, instrument, indicator, domain),
      separately for yearly and pooled records (see ``_Table.suppress`` for the pooled
      rules: a pooled record is hidden when exactly one year it pools is hidden, and a
      ``*`` pooled record when exactly one programme's pooled record is hidden); a
      suppressed record carries ``n = None`` and no value.

    References
    ----------
    .. [1] Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust
       inference. Journal of Human Resources, 50(2), 317-372.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. JASA, 22(158), 209-212.
    .. [3] Kish, L. (1965). Survey Sampling. Wiley (design effect, effective sample size,
       finite-population correction).
    .. [4] Newcombe, R. G. (1998). Interval estimation for the difference between independent
       proportions. Statistics in Medicine, 17, 873-890.
    .. [5] Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
       coefficient alpha. Applied Psychological Measurement, 11(1), 93-103.
    .. [6] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    .. [7] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.

    :mod:`analysis.stats` and :mod:`analysis.reliability` give each formula with its
    reference and the implementation it was checked against.

    Examples
    --------
    >>> from analysis.synthetic import synthetic_ratings
    >>> records = compute_indicators(synthetic_ratings(institutions=1, programmes=2))
    >>> r = next(r for r in records if r.indicator == "overall_satisfied")
    >>> (r.programme, r.method, r.target, r.target_status)
    ('*', 'wilson-deff', 0.8, 'not_met')
    """
    tgt = _check_options(confidence_level, min_n, low_n, satisfied_threshold, targets, seed)
    opts = _Options(
        float(confidence_level),
        int(min_n),
        int(low_n),
        float(satisfied_threshold),
        tgt,
        bool(fpc),
        bool(previous_year),
        int(seed),
    )
    if fpc and invited is None:
        raise ValueError("fpc=True needs the invited table (the number of invitations)")
    with large_blocks_reused():
        R = encode_ratings(ratings, row_label)
        inv = validate_invited(invited) if invited is not None else None
        outc = validate_outcomes(outcomes) if outcomes is not None else None
        d = _derive(R)
        # every later step reads the rows from d: dropping R's row arrays (7 × 8 bytes a row)
        # makes room for the levels' arrays instead of faulting in fresh memory for them
        R = replace(R, **{name: _NO_ROWS for name in _ROW_ARRAYS})
        return _Computation(R, d, inv, outc, opts).run()


class _Computation:
    """The steps of :func:`compute_indicators` on validated, encoded input."""

    def __init__(
        self,
        R: Ratings,
        d: _Derived,
        invited: dict[str, np.ndarray] | None,
        outcomes: dict[str, np.ndarray] | None,
        opts: _Options,
    ) -> None:
        self.R, self.d, self.invited, self.outcomes, self.opts = R, d, invited, outcomes, opts
        # label tables shared by ratings and outcomes
        inst = [R.labels["institution"]]
        prog = [R.labels["programme"]]
        if outcomes is not None:
            inst.append(outcomes["institution"])
            prog.append(outcomes["programme"])
        self.inst_labels = np.unique(np.concatenate(inst).astype(str))
        self.prog_labels = np.unique(np.concatenate(prog).astype(str))
        self.instr_labels = R.labels["instrument"]
        self.domain_labels = R.labels["domain"]
        self.labels = _Labels(
            self.inst_labels, self.prog_labels, self.instr_labels, self.domain_labels
        )
        # re-code the ratings' institution/programme onto the shared label tables
        self.r_inst = np.searchsorted(self.inst_labels, R.labels["institution"])[R.institution]
        self.r_prog = np.searchsorted(self.prog_labels, R.labels["programme"])[R.programme]
        years = [R.year]
        if outcomes is not None:
            years.append(outcomes["year"])
        if invited is not None:
            years.append(invited["year"])
        self.ks = _KeySpace.build(
            len(self.inst_labels),
            len(self.prog_labels),
            len(self.instr_labels),
            np.concatenate(years),
            len(self.domain_labels),
        )

    # -- groups ------------------------------------------------------------------------------

    def _ratings_groups(self) -> tuple[IntArray, _Groups, IntArray, _Groups]:
        R = self.R
        g_prog, groups_prog = _group_codes(self.r_inst, self.r_prog, R.instrument, R.year)
        star = np.full(len(R.year), -1)
        g_star, groups_star = _group_codes(self.r_inst, star, R.instrument, R.year)
        return g_prog, groups_prog, g_star, groups_star

    def _invited_n(self, groups: _Groups, m_resp: IntArray, m_group: IntArray) -> FloatArray:
        """Invitations per group (NaN unless every programme-year with responses has a count).

        For pooled groups, the invitations of the years in the window are summed.
        """
        ng = len(groups)
        if self.invited is None:
            return np.full(ng, np.nan)
        inv = self.invited
        i_inst = _lookup(self.inst_labels, inv["institution"])
        i_prog = _lookup(self.prog_labels, inv["programme"])
        i_ins = _lookup(self.instr_labels, inv["instrument"])
        # programmes without any response still count in the institution's invitations
        known = (i_inst >= 0) & (i_ins >= 0)
        i_inst, i_prog, i_ins = i_inst[known], i_prog[known], i_ins[known]
        i_year, i_n = inv["year"][known], inv["invited"][known].astype(np.float64)
        gkey = self.ks.group(groups.institution, groups.programme, groups.instrument, groups.year)
        order = np.argsort(gkey)
        total = np.zeros(ng)
        star = groups.programme < 0
        offsets = (0, 1, 2) if groups.pooled else (0,)
        for as_star in (False, True):
            if as_star and not star.any():
                continue
            p = np.full(len(i_prog), -1) if as_star else i_prog
            use = np.ones(len(p), dtype=bool) if as_star else p >= 0
            for off in offsets:
                key = self.ks.group(i_inst[use], p[use], i_ins[use], i_year[use] + off)
                pos = _find(gkey, order, key)
                ok = pos >= 0
                total += np.bincount(pos[ok], weights=i_n[use][ok], minlength=ng)
        # every (programme, year) with responses must have an invited count
        R = self.R
        base = self.ks.group(self.r_inst, self.r_prog, R.instrument, R.year)
        named = i_prog >= 0
        inv_key = _distinct(
            self.ks.group(i_inst[named], i_prog[named], i_ins[named], i_year[named])
        )
        has = np.isin(base, inv_key)
        missing = np.bincount(m_group, weights=~has[m_resp], minlength=ng)
        return np.where(missing > 0, np.nan, total)

    # -- the whole computation ---------------------------------------------------------------

    def run(self) -> list[Indicator]:
        R = self.R
        g_prog, groups_prog, g_star, groups_star = self._ratings_groups()
        resp = np.arange(R.n_responses)
        # Three independent pieces, the longest first: the programmes' reliabilities, the
        # institution-wide level (its alpha is merged from the programmes' afterwards, see
        # _institution_cronbach), the programmes' other indicators.
        reliabilities = frozenset({"cronbach_alpha", "krippendorff_alpha"})
        programme_reliabilities, institution_wide, by_programme = parallel(
            [
                lambda: _ratings_level(
                    R,
                    self.labels,
                    self.d,
                    resp,
                    g_prog,
                    groups_prog,
                    np.full(len(groups_prog), np.nan),
                    self.opts,
                    reliabilities,
                )[1:],
                lambda: self._yearly_level(
                    resp, g_star, groups_star, RATING_KINDS - {"cronbach_alpha"}
                ),
                lambda: self._yearly_level(resp, g_prog, groups_prog, RATING_KINDS - reliabilities),
            ]
        )
        by_programme[1].extend(programme_reliabilities)
        institution_wide[1].append(self._institution_cronbach(by_programme, groups_star))
        levels = [by_programme, institution_wide]
        if self.outcomes is not None:
            levels.extend(self._outcome_levels())
        # the pooled batches and the yearly table with its changes are independent
        (yearly, changes, built), *pooled = parallel(
            [lambda: self._yearly_table(levels), *self._pooled(levels)]
        )
        return self._assemble(yearly, changes, built, [p for p in pooled if p is not None])

    def _yearly_level(
        self, resp: IntArray, g: IntArray, groups: _Groups, kinds: frozenset[str]
    ) -> tuple[_Groups, list[_Cells]]:
        """Ratings indicators of one yearly level (by programme, or institution-wide)."""
        R, d, opts = self.R, self.d, self.opts
        N = self._invited_n(groups, resp, g)
        if (groups.programme >= 0).all() and self.invited is not None:
            n_resp = np.bincount(g, minlength=len(groups))
            bad = np.flatnonzero(~np.isnan(N) & (n_resp > N))
            if len(bad):
                b = bad[0]
                raise ValueError(
                    "column 'invited': "
                    f"{self._group_name(groups, b)} has {n_resp[b]} responses but only "
                    f"{int(N[b])} invitations"
                )
        fpc_n = N if opts.fpc else N * np.nan
        cells = _ratings_level(R, self.labels, d, resp, g, groups, fpc_n, opts, kinds)
        cells.append(self._response_rate(groups, cells[0], N))
        return groups, cells

    def _institution_cronbach(
        self, by_programme: tuple[_Groups, list[_Cells]], star: _Groups
    ) -> _Cells:
        """Institution-wide ``cronbach_alpha`` from the programmes' moments.

        Every response of an institution-wide cell lies in exactly one programme cell of the
        same domain, so the item and total moments of the whole merge from its parts'
        (:func:`analysis.reliability.merge_cronbach_moments`) without another pass over the
        item rows.
        """
        groups, cells = by_programme
        moments = next(c.moments for c in cells if c.indicator == "cronbach_alpha")
        assert moments is not None
        D = len(self.domain_labels)
        skey = self.ks.group(star.institution, star.programme, star.instrument, star.year)
        of_prog = _find(
            skey,
            np.argsort(skey),
            self.ks.group(
                groups.institution, np.full(len(groups), -1), groups.instrument, groups.year
            ),
        )
        cell_map = (of_prog[:, None] * D + np.arange(D)).ravel()
        merged = merge_cronbach_moments(moments, cell_map, len(star) * D)
        ng = len(star)
        return _cronbach(
            merged,
            np.repeat(np.arange(ng), D),
            np.tile(np.arange(D), ng),
            self.opts.confidence_level,
        )

    def _group_name(self, groups: _Groups, i: int) -> str:
        prog = STAR if groups.programme[i] < 0 else self.prog_labels[groups.programme[i]]
        return (
            f"({self.inst_labels[groups.institution[i]]}, {prog}, {groups.year[i]}, "
            f"{self.instr_labels[groups.instrument[i]]})"
        )

    def _response_rate(self, groups: _Groups, responses: _Cells, N: FloatArray) -> _Cells:
        ng = len(groups)
        n = responses.n
        with np.errstate(invalid="ignore", divide="ignore"):
            p = n / N
        low, high = stats.wilson_interval(p, N, confidence_level=self.opts.confidence_level)
        ok = ~np.isnan(N) & (n > 0)
        return _Cells(
            "response_rate",
            np.arange(ng),
            np.full(ng, -1),
            np.where(ok, n, 0),
            p,
            low,
            high,
            np.full(ng, "wilson", dtype=object),
            np.zeros(ng, dtype=np.int64),
            n_eff=N,
        )

    def _outcome_levels(self) -> list[tuple[_Groups, list[_Cells]]]:
        o = self.outcomes
        assert o is not None
        inst = np.searchsorted(self.inst_labels, o["institution"])
        prog = np.searchsorted(self.prog_labels, o["programme"])
        none = np.full(len(inst), -1)
        self.o_inst, self.o_prog = inst, prog
        out = []
        grad = np.arange(len(inst))
        for p in (prog, none):
            g, groups = _group_codes(inst, p, none, o["year"])
            out.append((groups, _outcomes_level(o, grad, g, groups, self.opts)))
        return out

    # -- pooled three-year records -------------------------------------------------------------

    def _pooled(
        self, levels: list[tuple[_Groups, list[_Cells]]]
    ) -> list[Callable[[], tuple[_Groups, list[_Cells]] | None]]:
        """Indicators over Y−2..Y for groups whose yearly n is below ``low_n``, as independent
        batches (None when a batch has no such group).

        Each indicator kind is recomputed only for the groups where that kind is small
        (reliabilities of pairable units are small far more often than the means).
        """
        rating_levels = [(g, c) for g, c in levels if len(g) and (g.instrument >= 0).all()]
        outcome_levels = [(g, c) for g, c in levels if len(g) and (g.instrument < 0).all()]
        batches: list[tuple[bool, frozenset[str]]] = [
            (False, frozenset(RATING_KINDS) - {"krippendorff_alpha"}),
            (False, frozenset({"krippendorff_alpha"})),
        ]
        if self.outcomes is not None:
            batches.append((True, frozenset(OUTCOME_KINDS)))
        return [
            functools.partial(
                self._pooled_batch,
                outcome_levels if is_outcomes else rating_levels,
                is_outcomes,
                kinds,
            )
            for is_outcomes, kinds in batches
        ]

    def _pooled_batch(
        self,
        levels: list[tuple[_Groups, list[_Cells]]],
        is_outcomes: bool,
        kinds: frozenset[str],
    ) -> tuple[_Groups, list[_Cells]] | None:
        """The pooled records of ``kinds`` for the groups of ``levels`` where they are small."""
        cand = self._small_groups(levels, kinds)
        if len(cand) == 0:
            return None
        if is_outcomes:
            inst, prog, year = self.o_inst, self.o_prog, self.outcomes["year"]
            ins = np.full(len(inst), -1)
        else:
            inst, prog, ins, year = self.r_inst, self.r_prog, self.R.instrument, self.R.year
        m_unit, m_key = [], []
        for p in (prog, np.full(len(prog), -1)):
            for off in (0, 1, 2):
                key = self.ks.group(inst, p, ins, year + off)
                hit = np.isin(key, cand)
                m_unit.append(np.flatnonzero(hit))
                m_key.append(key[hit])
        mu = np.concatenate(m_unit)
        uk, mg = np.unique(np.concatenate(m_key), return_inverse=True)
        mg = mg.reshape(-1)
        order = np.lexsort((mu, mg))
        mu, mg = mu[order], mg[order]
        groups = self.ks.decode(uk)
        groups.pooled = True
        if is_outcomes:
            cells = _outcomes_level(self.outcomes, mu, mg, groups, self.opts)
        else:
            N = self._invited_n(groups, mu, mg)
            fpc_n = N if self.opts.fpc else N * np.nan
            cells = _ratings_level(
                self.R, self.labels, self.d, mu, mg, groups, fpc_n, self.opts, kinds
            )
            if "response_rate" in kinds:
                cells.append(self._response_rate(groups, cells[0], N))
            cells = [c for c in cells if c.indicator in kinds and c.indicator != "responses"]
        return groups, cells

    def _small_groups(self, levels: list[tuple[_Groups, list[_Cells]]], kinds: frozenset[str]):
        """Keys of the groups where an indicator of ``kinds`` has 0 < n < low_n and one of
        the two previous years has data (otherwise there is nothing to pool)."""
        keys = [np.zeros(0, dtype=np.int64)]
        for groups, cells in levels:
            small = np.zeros(len(groups), dtype=bool)
            for c in cells:
                if c.indicator in kinds:
                    s = (c.n > 0) & (c.n < self.opts.low_n)
                    small[c.group[s]] = True
            g = (groups.institution, groups.programme, groups.instrument)
            present = self.ks.group(*g, groups.year)
            earlier = np.isin(self.ks.group(*g, groups.year - 1), present) | np.isin(
                self.ks.group(*g, groups.year - 2), present
            )
            small &= earlier
            keys.append(
                self.ks.group(
                    groups.institution[small],
                    groups.programme[small],
                    groups.instrument[small],
                    groups.year[small],
                )
            )
        return _distinct(np.concatenate(keys))

    # -- records ---------------------------------------------------------------------------

    def _yearly_table(
        self, levels: list[tuple[_Groups, list[_Cells]]]
    ) -> tuple[_Table, _Table, list[Indicator]]:
        """The yearly records, suppressed, the changes from the previous year, and their
        :class:`Indicator` objects (built here, beside the pooled batches' arithmetic)."""
        opts = self.opts
        yearly = _Table.from_levels(levels)
        yearly.flags |= np.where((yearly.n > 0) & (yearly.n < opts.low_n), LOW_N, 0)
        yearly.suppress(opts.min_n, self.ks)
        yearly.set_targets(opts.targets, self.domain_labels)

        def changes() -> _Table:
            t = _changes(levels, yearly, self, opts) if opts.previous_year else _Table.empty()
            t.set_targets(opts.targets, self.domain_labels)
            return t

        # the records are Python objects (the GIL) while the changes are NumPy's sorts
        built, changed = parallel([lambda: yearly.records(self, opts), changes])
        return yearly, changed, built + changed.records(self, opts)

    def _assemble(
        self,
        yearly: _Table,
        changes: _Table,
        built: list[Indicator],
        pooled: list[tuple[_Groups, list[_Cells]]],
    ) -> list[Indicator]:
        """All records in order: the yearly and change records ``built`` and the pooled ones."""
        opts = self.opts
        if len(pooled):
            pt = _Table.from_levels(pooled)
            pt = pt.keep_pooled(yearly, opts.low_n, self.ks)
        else:
            pt = _Table.empty()
        pt.flags |= np.where((pt.n > 0) & (pt.n < opts.low_n), LOW_N, 0)
        pt.suppress(opts.min_n, self.ks, yearly=yearly)
        pt.set_targets(opts.targets, self.domain_labels)
        n_yearly = len(yearly)
        records = built[:n_yearly] + pt.records(self, opts) + built[n_yearly:]
        order = _Table.concat([yearly, pt, changes]).order()
        return [records[i] for i in order.tolist()]


def _lookup(labels: np.ndarray, values: np.ndarray) -> IntArray:
    """Index of each value in sorted ``labels``, -1 when absent."""
    if len(labels) == 0:
        return np.full(len(values), -1)
    pos = np.searchsorted(labels, values)
    pos = np.minimum(pos, len(labels) - 1)
    return np.where(labels[pos] == values, pos, -1)


@dataclass(frozen=True)
class _KeySpace:
    """Mixed-radix int64 keys of groups and records, sized from the data."""

    n_inst: int
    n_prog: int  # programme labels + 1 (the whole institution, -1, is 0)
    n_ins: int  # instrument labels + 1 (no instrument, -1, is 0)
    y0: int
    n_year: int
    n_dom: int  # domain labels + 1

    @classmethod
    def build(cls, n_inst: int, n_prog: int, n_ins: int, years: IntArray, n_dom: int) -> _KeySpace:
        y0 = int(years.min()) - 3
        ks = cls(n_inst, n_prog + 1, n_ins + 1, y0, int(years.max()) - y0 + 4, n_dom + 1)
        size = float(ks.n_inst) * ks.n_prog * ks.n_ins * ks.n_year * 2 * len(INDICATORS) * ks.n_dom
        if size >= 2.0**62:
            raise ValueError(
                "too many distinct institutions, programmes, instruments, years and domains "
                "to index in one call; split the input by institution"
            )
        return ks

    def group(self, inst: Any, prog: Any, ins: Any, year: Any) -> IntArray:
        inst = np.asarray(inst, dtype=np.int64)
        k = (inst * self.n_prog + (np.asarray(prog) + 1)) * self.n_ins + (np.asarray(ins) + 1)
        return k * self.n_year + (np.asarray(year, dtype=np.int64) - self.y0)

    def decode(self, key: IntArray) -> _Groups:
        year = key % self.n_year + self.y0
        rest = key // self.n_year
        ins = rest % self.n_ins - 1
        rest //= self.n_ins
        prog = rest % self.n_prog - 1
        return _Groups(rest // self.n_prog, prog, ins, year)

    def record(self, gkey: IntArray, indicator: Any, domain: Any) -> IntArray:
        return (gkey * (2 * len(INDICATORS)) + indicator) * self.n_dom + (np.asarray(domain) + 1)


def _find(sorted_keys_src: IntArray, order: IntArray, key: IntArray) -> IntArray:
    """Position (in the unsorted source) of each key, -1 when absent."""
    s = sorted_keys_src[order]
    if len(s) == 0:
        return np.full(len(key), -1)
    pos = np.minimum(np.searchsorted(s, key), len(s) - 1)
    return np.where(s[pos] == key, order[pos], -1)


# --------------------------------------------------------------------------------------------
# The columnar record table


@dataclass
class _Table:
    inst: IntArray
    prog: IntArray
    ins: IntArray
    year: IntArray
    indicator: IntArray  # index into INDICATORS (+ len for changes)
    domain: IntArray
    n: IntArray
    estimate: FloatArray
    low: FloatArray
    high: FloatArray
    method: NDArray[np.object_]
    flags: IntArray
    pooled: NDArray[np.bool_]
    suppressed: NDArray[np.bool_]
    p: FloatArray
    p_adj: FloatArray
    effect: FloatArray
    target: FloatArray
    status: NDArray[np.object_]

    FIELDS_ = (
        "inst",
        "prog",
        "ins",
        "year",
        "indicator",
        "domain",
        "n",
        "estimate",
        "low",
        "high",
        "method",
        "flags",
        "pooled",
        "suppressed",
        "p",
        "p_adj",
        "effect",
        "target",
        "status",
    )

    @classmethod
    def empty(cls) -> _Table:
        z = np.zeros(0, dtype=np.int64)
        f = np.zeros(0)
        b = np.zeros(0, dtype=bool)
        o = np.zeros(0, dtype=object)
        return cls(z, z, z, z, z, z, z, f, f, f, o, z, b, b, f, f, f, f, o)

    def __len__(self) -> int:
        return len(self.n)

    def take(self, idx: Any) -> _Table:
        return _Table(*(getattr(self, k)[idx] for k in self.FIELDS_))

    @classmethod
    def concat(cls, tables: list[_Table]) -> _Table:
        tables = [t for t in tables if len(t)] or [cls.empty()]
        return cls(*(np.concatenate([getattr(t, k) for t in tables]) for k in cls.FIELDS_))

    @classmethod
    def from_levels(cls, levels: list[tuple[_Groups, list[_Cells]]]) -> _Table:
        """One record per cell with n > 0 of every indicator kind of every level."""
        parts = []
        for groups, cells in levels:
            for c in cells:
                keep = c.n > 0
                g = c.group[keep]
                m = int(keep.sum())
                nan = np.full(m, np.nan)
                parts.append(
                    cls(
                        groups.institution[g],
                        groups.programme[g],
                        groups.instrument[g],
                        groups.year[g],
                        np.full(m, INDICATORS.index(c.indicator)),
                        c.domain[keep],
                        c.n[keep],
                        c.estimate[keep],
                        c.low[keep],
                        c.high[keep],
                        c.method[keep],
                        c.flags[keep] | (POOLED if groups.pooled else 0),
                        np.full(m, groups.pooled),
                        np.zeros(m, dtype=bool),
                        nan,
                        nan.copy(),
                        nan.copy(),
                        nan.copy(),
                        np.full(m, None, dtype=object),
                    )
                )
        return cls.concat(parts)

    def key(self, ks: _KeySpace, *, with_prog: bool = True) -> IntArray:
        """Key of (group, indicator, domain); without programme: a secondary-suppression family."""
        prog = self.prog if with_prog else np.zeros_like(self.prog)
        return ks.record(
            ks.group(self.inst, prog, self.ins, self.year), self.indicator, self.domain
        )

    def keep_pooled(self, yearly: _Table, low_n: int, ks: _KeySpace) -> _Table:
        """Pooled records whose yearly record has n < low_n and which add earlier years."""
        yk = yearly.key(ks)
        order = np.argsort(yk)
        pos = _find(yk, order, self.key(ks))
        ok = pos >= 0
        yn = np.where(ok, yearly.n[np.maximum(pos, 0)], 0)
        return self.take(ok & (yn < low_n) & (self.n > yn))

    def suppress(self, min_n: int, ks: _KeySpace, yearly: _Table | None = None) -> None:
        """Primary suppression (n < min_n), then secondary suppression.

        Yearly records: when exactly one programme of a family (institution, year,
        instrument, indicator, domain) is hidden and the ``*`` row is not, the next smallest
        programme is hidden too.

        Pooled records (``yearly`` given): a pooled record is also hidden when exactly one of
        the yearly records it pools is hidden (the others and the pooled value would give it
        away); and when exactly one programme's pooled record of a family is hidden while
        the ``*`` pooled record is not, the ``*`` pooled record is hidden: the other
        programmes' three-year values follow from their published yearly records, so hiding
        another programme would not help.
        """
        self.suppressed = self.n < min_n
        if yearly is not None and len(self):
            self._hide_differences(yearly, ks)
        fam = self.key(ks, with_prog=False)
        is_star = self.prog < 0
        ufam, f = np.unique(fam, return_inverse=True)
        f = f.reshape(-1)
        nf = len(ufam)
        sup_prog = np.bincount(f, weights=self.suppressed & ~is_star, minlength=nf)
        star_ok = np.zeros(nf, dtype=bool)
        star_ok[f[is_star & ~self.suppressed]] = True
        if yearly is not None:
            chosen = np.flatnonzero(is_star & ~self.suppressed & (sup_prog[f] == 1))
        else:
            cand = ~is_star & ~self.suppressed & (sup_prog[f] == 1) & star_ok[f]
            idx = np.flatnonzero(cand)
            order = np.lexsort((self.prog[idx], self.n[idx], f[idx]))
            idx = idx[order]
            chosen = idx[np.r_[True, f[idx][1:] != f[idx][:-1]]] if len(idx) else idx
        self.suppressed[chosen] = True
        self.flags[chosen] |= SECONDARY

    def _hide_differences(self, yearly: _Table, ks: _KeySpace) -> None:
        """Hide pooled records that pool exactly one hidden yearly record."""
        yk = yearly.key(ks)
        order = np.argsort(yk)
        hidden = np.zeros(len(self), dtype=np.int64)
        for back in (0, 1, 2):
            k = ks.record(
                ks.group(self.inst, self.prog, self.ins, self.year - back),
                self.indicator,
                self.domain,
            )
            pos = _find(yk, order, k)
            ok = pos >= 0
            hidden += ok & yearly.suppressed[np.maximum(pos, 0)]
        give_away = ~self.suppressed & (hidden == 1)
        self.suppressed |= give_away
        self.flags[give_away] |= SECONDARY

    def set_targets(self, targets: dict[str, float], domain_labels: np.ndarray) -> None:
        """Target of each yearly and pooled record (``indicator`` or ``indicator:domain`` keys)."""
        self.target = np.full(len(self), np.nan)
        is_change = self.indicator >= len(INDICATORS)
        # plain keys first, so that a domain key overrides them
        for key, value in sorted(targets.items(), key=lambda kv: ":" in kv[0]):
            name, _, dom = key.partition(":")
            hit = (self.indicator == INDICATORS.index(name)) & ~is_change
            if dom:
                code = _lookup(domain_labels, np.array([dom]))[0]
                hit &= self.domain == code
            self.target[hit] = value

    def order(self) -> IntArray:
        """Order of the records: institution, programme (* first), year, instrument,
        indicator (its change after it), pooled, domain."""
        ind_rank = np.array([INDICATORS.index(x) for x in INDICATORS] * 2)
        return np.lexsort(
            (
                self.domain,
                self.pooled,
                self.indicator >= len(INDICATORS),
                ind_rank[self.indicator],
                self.ins,
                self.year,
                self.prog,
                self.inst,
            )
        )

    def records(self, comp: _Computation, opts: _Options) -> list[Indicator]:
        """The :class:`Indicator` of each row, in the table's order."""
        names = list(INDICATORS) + [f"{x}_change" for x in INDICATORS]
        sup = self.suppressed
        m = len(self)

        def labels(codes: IntArray, table: np.ndarray, missing: str | None) -> list[Any]:
            lookup = np.array([*table.tolist(), missing], dtype=object)
            return lookup[np.where(codes < 0, len(table), codes)].tolist()

        def numbers(values: FloatArray, hide: NDArray[np.bool_]) -> list[float | None]:
            return [None if x != x else x for x in np.where(hide, np.nan, values).tolist()]

        target = self.target
        has_target = ~np.isnan(target) & ~sup & ~np.isnan(self.estimate)
        met = has_target & (self.low >= target)
        not_met = has_target & ~met & (self.high < target)
        status = np.where(
            met, "met", np.where(not_met, "not_met", np.where(has_target, "inconclusive", None))
        )
        flags = np.where(sup, self.flags & (POOLED | SECONDARY), self.flags)
        kinds, flag_idx = np.unique(flags, return_inverse=True)
        flag_tuples = [tuple(nm for bit, nm in _FLAG_NAMES if k & bit) for k in kinds.tolist()]
        names_arr = np.array(names, dtype=object)
        columns = (
            labels(self.inst, comp.inst_labels, None),
            labels(self.prog, comp.prog_labels, STAR),
            self.year.tolist(),
            labels(self.ins, comp.instr_labels, None),
            names_arr[self.indicator].tolist(),
            labels(self.domain, comp.domain_labels, None),
            np.where(sup, None, self.n.astype(object)).tolist(),
            numbers(self.estimate, sup),
            numbers(self.low, sup),
            numbers(self.high, sup),
            [opts.confidence_level] * m,
            self.method.tolist(),
            [flag_tuples[i] for i in flag_idx.reshape(-1).tolist()],
            sup.tolist(),
            numbers(target, np.zeros(m, dtype=bool)),
            status.tolist(),
            numbers(self.p, sup),
            numbers(self.p_adj, sup),
            numbers(self.effect, sup),
        )
        return [_record(values) for values in zip(*columns, strict=True)]


def _record(values: tuple[Any, ...]) -> Indicator:
    """An ``Indicator`` from its field values in order, without the frozen ``__init__``.

    A frozen dataclass's ``__init__`` sets each of the 19 fields through
    ``object.__setattr__``; filling ``__dict__`` at once builds 150,000 records about three
    times faster. The values are already validated and typed by the caller.
    """
    rec = object.__new__(Indicator)
    rec.__dict__.update(zip(FIELDS, values, strict=True))
    return rec


# --------------------------------------------------------------------------------------------
# Changes from the previous year


def _changes(
    levels: list[tuple[_Groups, list[_Cells]]], yearly: _Table, comp: _Computation, opts: _Options
) -> _Table:
    """``<indicator>_change`` records: Welch (means) or Newcombe + χ² (proportions)."""
    level = opts.confidence_level
    parts = []
    ks = comp.ks
    sup_key = yearly.key(ks)
    sup_order = np.argsort(sup_key)
    for groups, cells in levels:
        for c in cells:
            name = c.indicator
            if name not in MEANS and name not in PROPORTIONS:
                continue
            live = np.flatnonzero(c.n > 0)
            g = c.group[live]
            ind = INDICATORS.index(name)
            gi, gp, gs, gy = (
                groups.institution[g],
                groups.programme[g],
                groups.instrument[g],
                groups.year[g],
            )
            cur_key = ks.record(ks.group(gi, gp, gs, gy), ind, c.domain[live])
            prev_key = ks.record(ks.group(gi, gp, gs, gy - 1), ind, c.domain[live])
            order = np.argsort(cur_key)
            pos = _find(cur_key, order, prev_key)
            has = pos >= 0
            a = live[has]  # current cells
            b = live[pos[has]]  # previous-year cells
            if len(a) == 0:
                continue
            m = len(a)
            diff = c.estimate[a] - c.estimate[b]
            if name in MEANS:
                lo_b, hi_b = MEANS[name]
                span = hi_b - lo_b
                low, high, p = stats.welch(
                    diff,
                    c.V[a],
                    c.V[b],
                    c.G[a],
                    c.G[b],
                    confidence_level=level,
                    bounds=(-span, span),
                )
                y, cell = c.values
                # Cliff's delta: current year's values over the previous year's
                pair_of_cell = np.full(len(c.n), -1)
                pair_of_cell[a] = np.arange(m)
                pair_prev = np.full(len(c.n), -1)
                pair_prev[b] = np.arange(m)
                # a cell can be "current" in one pair and "previous" in another
                x1 = pair_of_cell[cell] >= 0
                x2 = pair_prev[cell] >= 0
                vals = np.concatenate([y[x1], y[x2]])
                pair = np.concatenate([pair_of_cell[cell][x1], pair_prev[cell][x2]])
                first = np.r_[np.ones(int(x1.sum()), bool), np.zeros(int(x2.sum()), bool)]
                effect = stats.cliffs_delta(vals, pair, first, m)
                clustered = (c.G[a] < c.n[a]) | (c.G[b] < c.n[b])
                method = np.where(clustered, "welch-cluster", "welch").astype(object)
            else:
                low, high = stats.newcombe_interval(
                    c.estimate[a], c.low[a], c.high[a], c.estimate[b], c.low[b], c.high[b]
                )
                p = stats.pearson_chi2_pvalue(c.estimate[a], c.n_eff[a], c.estimate[b], c.n_eff[b])
                effect = stats.cohens_h(c.estimate[a], c.estimate[b])
                deffm = np.array(
                    [str(x).startswith("wilson-deff") for x in c.method[a]]
                ) | np.array([str(x).startswith("wilson-deff") for x in c.method[b]])
                method = np.where(deffm, "newcombe-deff", "newcombe").astype(object)
            fpcm = np.array([str(x).endswith("+fpc") for x in c.method[a]], dtype=bool)
            method = np.where(fpcm, method + "+fpc", method)
            ga = c.group[a]
            t = _Table(
                groups.institution[ga],
                groups.programme[ga],
                groups.instrument[ga],
                groups.year[ga],
                np.full(m, len(INDICATORS) + INDICATORS.index(name)),
                c.domain[a],
                c.n[a],
                diff,
                low,
                high,
                method,
                np.zeros(m, dtype=np.int64),
                np.zeros(m, dtype=bool),
                np.zeros(m, dtype=bool),
                p,
                np.full(m, np.nan),
                effect,
                np.full(m, np.nan),
                np.full(m, None, dtype=object),
            )
            # suppressed when either year's record is
            ka, kb = cur_key[has], prev_key[has]
            pa = _find(sup_key, sup_order, ka)
            pb = _find(sup_key, sup_order, kb)
            t.suppressed = yearly.suppressed[pa] | yearly.suppressed[pb]
            t.flags = np.where((c.n[a] > 0) & (c.n[a] < opts.low_n), LOW_N, 0)
            parts.append(t)
    t = _Table.concat(parts)
    if len(t) == 0:
        return t
    # Holm within (institution, programme, year, instrument), suppressed ones left out
    fam = ks.group(t.inst, t.prog, t.ins, t.year)
    p = np.where(t.suppressed, np.nan, t.p)
    t.p_adj = stats.holm(p, fam)
    t.flags |= np.where(t.p_adj < 1.0 - level, SIGNIFICANT, 0)
    return t
