"""Cronbach's alpha and ordinal Krippendorff's alpha for many cells at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

__all__ = ["cronbach_alpha", "krippendorff_ordinal", "label_hashes", "splitmix64"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The SplitMix64 finaliser, element-wise (wrapping uint64 arithmetic).

    A counter-based generator: the random number of (cell, replicate, slot) depends on those
    alone, so a cell's bootstrap never changes when other cells are added or removed.

    References
    ----------
    .. [1] Steele, G. L., Lea, D., & Flood, C. H. (2014). Fast splittable pseudorandom number
       generators. OOPSLA 2014.
    """
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _mix_inplace(z: NDArray[np.uint64]) -> None:
    """SplitMix64's finaliser applied in place (no temporaries on large arrays)."""
    z += _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)


def label_hashes(labels: Iterable[str]) -> NDArray[np.uint64]:
    """A stable 64-bit hash of each label (BLAKE2b), independent of Python's hash seed."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
            for s in labels
        ],
        dtype=np.uint64,
    )


def cronbach_alpha(
    value: FloatArray,
    cell: IntArray,
    unit: IntArray,
    item_cell: IntArray,
    k: IntArray,
    n_cells: int,
) -> tuple[IntArray, FloatArray]:
    """Cronbach's alpha per cell from complete responses.

    Parameters
    ----------
    value : array of float
        Item scores of complete responses only (each response has all ``k`` items of its cell).
    cell : array of int
        Cell of each value.
    unit : array of int
        Response (within cell) of each value, as a global index (``0 <= unit < n_units``).
    item_cell : array of int
        Index of the (cell, item) pair of each value.
    k : array of int
        Number of items of each cell.
    n_cells : int

    Returns
    -------
    n, alpha : arrays of length ``n_cells``
        Complete responses and alpha (NaN when ``k < 2``, ``n < 2`` or the total score does not
        vary).

    Notes
    -----
    .. math:: \\hat\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_j s_j^2}{s_T^2}\\right)

    with ``s_j²`` the sample variance of item ``j`` and ``s_T²`` that of the response totals
    (both with ``n − 1``), as in pingouin and R's ``psych::alpha``.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika, 16, 297-334.
    """
    n_ic = int(item_cell.max()) + 1 if len(item_cell) else 0
    cnt_ic = np.bincount(item_cell, minlength=n_ic)
    mean_ic = np.bincount(item_cell, weights=value, minlength=n_ic) / np.maximum(cnt_ic, 1)
    dev = value - mean_ic[item_cell]
    ss_ic = np.bincount(item_cell, weights=dev * dev, minlength=n_ic)
    var_ic = ss_ic / np.maximum(cnt_ic - 1, 1)
    # cell of each item_cell
    cell_of_ic = np.zeros(n_ic, dtype=np.int64)
    cell_of_ic[item_cell] = cell
    sum_var_items = np.bincount(cell_of_ic, weights=var_ic, minlength=n_cells)

    n_units = int(unit.max()) + 1 if len(unit) else 0
    totals = np.bincount(unit, weights=value, minlength=n_units)
    has_unit = np.bincount(unit, minlength=n_units) > 0
    unit_cell = np.zeros(n_units, dtype=np.int64)
    unit_cell[unit] = cell
    uc = unit_cell[has_unit]
    t = totals[has_unit]
    n = np.bincount(uc, minlength=n_cells)
    mean_t = np.bincount(uc, weights=t, minlength=n_cells) / np.maximum(n, 1)
    dt = t - mean_t[uc]
    var_t = np.bincount(uc, weights=dt * dt, minlength=n_cells) / np.maximum(n - 1, 1)
    k = np.asarray(k, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = k / (k - 1.0) * (1.0 - sum_var_items / var_t)
    # alpha <= 1 always (s_T² <= k·Σ s_j², Cauchy–Schwarz); a value a few ulps above 1 is
    # rounding, and would put Feldt's lower bound above the estimate
    alpha = np.minimum(alpha, 1.0)
    alpha = np.where((k >= 2) & (n >= 2) & (var_t > 0), alpha, np.nan)
    return n, alpha


def krippendorff_ordinal(
    value: FloatArray,
    unit: IntArray,
    unit_cell: IntArray,
    n_cells: int,
    cell_hash: NDArray[np.uint64],
    *,
    n_boot: int,
    confidence_level: float,
    bootstrap: NDArray[np.bool_] | None = None,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Ordinal Krippendorff's alpha per cell, with a seeded bootstrap over units.

    Parameters
    ----------
    value : array of float
        The pairable values (units with at least two values), sorted by ``unit``.
    unit : array of int
        Unit of each value (units numbered ``0..U−1``, sorted by cell).
    unit_cell : array of int
        Cell of each unit (non-decreasing).
    n_cells : int
    cell_hash : array of uint64
        A stable random key per cell: the bootstrap of a cell depends on it alone.
    n_boot : int
        Bootstrap replicates.
    confidence_level : float
    bootstrap : array of bool, optional
        Cells that need an interval (default all); the others get NaN limits. The caller
        skips cells whose record will be suppressed, which is most of the bootstrap's work.

    Returns
    -------
    n_values, alpha, low, high : arrays of length ``n_cells``

    Notes
    -----
    With the ordinal metric ``δ²_ck = (Σ_{g=c}^{k} n_g − (n_c + n_k)/2)²``, the distance of
    two values is the difference of their mid-ranks ``r`` among the ``n`` pairable values of
    the cell, so

    .. math::
        \\alpha = 1 - \\frac{D_o}{D_e} = 1 - \\frac{n-1}{n}
        \\frac{\\sum_u \\frac{m_u}{m_u-1}\\sum_{i\\in u}(r_i - \\bar r_u)^2}
             {\\sum_i (r_i - \\bar r)^2}

    where unit ``u`` holds ``m_u`` values. The bootstrap resamples units with replacement
    within the cell and, as in Hayes & Krippendorff (2007), keeps the expected disagreement
    ``D_e`` of the sample fixed: ``α* = 1 − D_o*/D_e``. The interval is the percentile
    interval of the ``n_boot`` replicates. Random numbers come from SplitMix64 on
    (cell key, replicate, slot), so results do not depend on other cells or on row order.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
       https://repository.upenn.edu/asc_papers/43
    .. [2] Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard
       reliability measure for coding data. Communication Methods and Measures, 1(1), 77-89.
    .. [3] The ``krippendorff`` package, ``alpha(level_of_measurement="ordinal")``.
    """
    nan = np.full(n_cells, np.nan)
    if len(value) == 0:
        return np.zeros(n_cells, dtype=np.int64), nan, nan.copy(), nan.copy()
    n_units = len(unit_cell)
    cell = unit_cell[unit]
    # mid-ranks of the values within each cell
    order = np.lexsort((value, cell))
    v, c = value[order], cell[order]
    m = len(v)
    pos = np.arange(1, m + 1, dtype=np.float64)
    n_val = np.bincount(cell, minlength=n_cells)
    start = np.r_[0, np.cumsum(n_val)[:-1]]
    rank = pos - start[c]
    tie = np.r_[True, (c[1:] != c[:-1]) | (v[1:] != v[:-1])]
    tid = np.cumsum(tie) - 1
    mid = (np.bincount(tid, weights=rank) / np.bincount(tid))[tid]
    r = np.empty(m)
    r[order] = mid
    m_u = np.bincount(unit, minlength=n_units).astype(np.float64)
    mean_u = np.bincount(unit, weights=r, minlength=n_units) / m_u
    du = r - mean_u[unit]
    ss_u = np.bincount(unit, weights=du * du, minlength=n_units)
    d_u = m_u / (m_u - 1.0) * ss_u
    nv = n_val.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = np.bincount(cell, weights=r, minlength=n_cells) / nv
        dc = r - mean_c[cell]
        ss_tot = np.bincount(cell, weights=dc * dc, minlength=n_cells)
        d_sum = np.bincount(unit_cell, weights=d_u, minlength=n_cells)
        scale = (nv - 1.0) / (nv * ss_tot)
        alpha = np.where((nv > 1) & (ss_tot > 0), 1.0 - scale * d_sum, np.nan)

    low, high = nan.copy(), nan.copy()
    ok = np.isfinite(alpha)
    if bootstrap is not None:
        ok &= bootstrap
    ok = np.flatnonzero(ok)
    if len(ok) and n_boot > 0:
        keep_unit = np.isin(unit_cell, ok)
        uc = unit_cell[keep_unit]
        d_k = d_u[keep_unit]
        m_k = m_u[keep_unit]
        cells_present, u_start, u_count = np.unique(uc, return_index=True, return_counts=True)
        n_slots = len(uc)
        slot_cell = np.repeat(np.arange(len(cells_present)), u_count)
        slot = (np.arange(n_slots) - np.repeat(u_start, u_count)).astype(np.uint64)
        slot_key = cell_hash[cells_present][slot_cell]
        with np.errstate(over="ignore"):
            slot_step = slot * _GOLDEN
        count_of_slot = np.repeat(u_count, u_count).astype(np.uint64)
        start_of_slot = np.repeat(u_start, u_count)
        factor = scale[cells_present] * nv[cells_present]
        reps = np.empty((n_boot, len(cells_present)))
        same_m = bool(np.all(m_k == m_k[0]))
        # replicates in chunks of about 2**18 draws: the temporaries stay in cache
        chunk = max(1, min(n_boot, (1 << 18) // max(n_slots, 1)))
        for b0 in range(0, n_boot, chunk):
            b = np.arange(b0, min(b0 + chunk, n_boot), dtype=np.uint64)[:, None]
            x = slot_key[None, :] ^ splitmix64(b)
            x += slot_step[None, :]
            _mix_inplace(x)
            # unbiased enough for counts < 2**32: floor(r32 * count / 2**32)
            x >>= np.uint64(32)
            x *= count_of_slot[None, :]
            x >>= np.uint64(32)
            idx = x.view(np.int64)
            idx += start_of_slot[None, :]
            d_star = np.add.reduceat(d_k[idx], u_start, axis=1)
            if same_m:  # every unit has the same number of values (e.g. two raters)
                m_star = m_k[0] * u_count[None, :]
            else:
                m_star = np.add.reduceat(m_k[idx], u_start, axis=1)
            # D_o* = 2 Σ w d / n*, D_e fixed: α* = 1 − (n−1)/(n* SS) Σ w d
            reps[b0 : b0 + len(b)] = 1.0 - factor[None, :] * d_star / m_star
        gamma = 1.0 - confidence_level
        q = np.quantile(reps, [gamma / 2.0, 1.0 - gamma / 2.0], axis=0)
        low[cells_present] = q[0]
        high[cells_present] = q[1]
    return n_val, alpha, low, high
