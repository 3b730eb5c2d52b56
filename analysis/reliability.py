"""Cronbach's alpha and ordinal Krippendorff's alpha for many cells at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from analysis.stats import group_order

__all__ = [
    "CronbachMoments",
    "cronbach_from_moments",
    "cronbach_moments",
    "krippendorff_ordinal",
    "label_hashes",
    "merge_cronbach_moments",
    "splitmix64",
]

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


class CronbachMoments(NamedTuple):
    """What Cronbach's alpha of each cell needs, in a form that adds up over disjoint cells.

    ``key`` numbers the (cell, item) pairs as ``cell * n_items + item``; ``present`` says
    which pairs have a row in the data (answered or not: the cell's items). Per pair: the
    count, mean and sum of squared deviations of the scores of complete responses. Per cell:
    the complete responses and the mean and sum of squared deviations of their totals.
    """

    n_items: int
    key: IntArray
    present: NDArray[np.bool_]
    count: FloatArray
    mean: FloatArray
    m2: FloatArray
    n: IntArray
    t_mean: FloatArray
    t_m2: FloatArray

    @property
    def k(self) -> IntArray:
        """Items of each cell."""
        return np.bincount(self.key[self.present] // self.n_items, minlength=len(self.n))


def cronbach_moments(
    value: FloatArray,
    unit: IntArray,
    entry: IntArray,
    unit_cell: IntArray,
    key: IntArray,
    present: NDArray[np.bool_],
    n_items: int,
    n_cells: int,
) -> CronbachMoments:
    """The :class:`CronbachMoments` of complete responses.

    Parameters
    ----------
    value, unit : arrays
        Score and response (a global index) of each row of a complete response (each
        response has a row for every item of its cell).
    entry : array of int
        The (cell, item) pair of each row, as an index into ``key``.
    unit_cell : array of int
        The cell of each response index.
    key : array of int
        ``cell * n_items + item`` of each pair.
    present : array of bool
        Pairs that are items of their cell (have a row, answered or not).
    n_items, n_cells : int
    """
    size = len(key)
    count = np.bincount(entry, minlength=size).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(entry, weights=value, minlength=size) / count
    dev = value - mean[entry]
    dev *= dev
    m2 = np.bincount(entry, weights=dev, minlength=size)
    del dev
    n_units = len(unit_cell)
    totals = np.bincount(unit, weights=value, minlength=n_units)
    has_unit = np.bincount(unit, minlength=n_units) > 0
    t_mean, t_m2, n = _moments(totals[has_unit], unit_cell[has_unit], n_cells)
    return CronbachMoments(n_items, key, present, count, mean, m2, n, t_mean, t_m2)


def _moments(
    x: FloatArray, cell: IntArray, n_cells: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Mean and sum of squared deviations per cell (two passes), and the count."""
    n = np.bincount(cell, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(cell, weights=x, minlength=n_cells) / n
    d = x - mean[cell]
    return mean, np.bincount(cell, weights=d * d, minlength=n_cells), n


def _merge(
    count: FloatArray, mean: FloatArray, m2: FloatArray, into: IntArray, size: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pooled count, mean and sum of squared deviations of parts, merged by ``into``.

    Chan, Golub & LeVeque's pairwise update: ``M2 = Σ M2_i + Σ n_i (x̄_i − x̄)²``.
    """
    has = count > 0
    count, mean, m2, into = count[has], mean[has], m2[has], into[has]
    n = np.bincount(into, weights=count, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.bincount(into, weights=count * mean, minlength=size) / n
    d = mean - pooled[into]
    m2_all = np.bincount(into, weights=m2, minlength=size)
    m2_all += np.bincount(into, weights=count * d * d, minlength=size)
    return n, pooled, m2_all


def merge_cronbach_moments(m: CronbachMoments, cell_map: IntArray, n_cells: int) -> CronbachMoments:
    """The moments of coarser cells, each the union of finer ones.

    ``cell_map`` gives the coarse cell of each fine cell. A coarse cell's items are the union
    of its parts' items; a part with fewer items than the whole holds no response that is
    complete in the whole (each of its responses lacks a row for some item), so only parts
    with the whole's items are merged. The result equals the moments computed from the rows
    of the coarse cells directly, up to rounding.
    """
    ni = m.n_items
    fine_cell = m.key // ni
    coarse_key = cell_map[fine_cell] * ni + m.key % ni
    size = n_cells * ni
    present = np.bincount(coarse_key[m.present], minlength=size) > 0
    k_fine = m.k
    k_coarse = np.bincount(np.flatnonzero(present) // ni, minlength=n_cells)
    whole = k_fine == k_coarse[cell_map]  # parts with every item of their coarse cell
    use = whole[fine_cell]
    count, mean, m2 = _merge(np.where(use, m.count, 0.0), m.mean, m.m2, coarse_key, size)
    t_n, t_mean, t_m2 = _merge(
        np.where(whole, m.n, 0).astype(np.float64), m.t_mean, m.t_m2, cell_map, n_cells
    )
    return CronbachMoments(
        ni,
        np.arange(size, dtype=np.int64),
        present,
        count,
        mean,
        m2,
        t_n.astype(np.int64),
        t_mean,
        t_m2,
    )


def cronbach_from_moments(m: CronbachMoments) -> tuple[IntArray, FloatArray, IntArray]:
    """Complete responses, Cronbach's alpha and items of each cell.

    .. math:: \\hat\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_j s_j^2}{s_T^2}\\right)

    with ``s_j²`` the sample variance of item ``j`` and ``s_T²`` that of the response totals
    (both with ``n − 1``), as in pingouin and R's ``psych::alpha``. Alpha is NaN when
    ``k < 2``, ``n < 2`` or the total score does not vary.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika, 16, 297-334.
    """
    n_cells = len(m.n)
    var_item = m.m2 / np.maximum(m.count - 1.0, 1.0)
    sum_var_items = np.bincount(m.key // m.n_items, weights=var_item, minlength=n_cells)
    n = m.n
    var_t = m.t_m2 / np.maximum(n - 1, 1)
    k_int = m.k
    k = k_int.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = k / (k - 1.0) * (1.0 - sum_var_items / var_t)
    # alpha <= 1 always (s_T² <= k·Σ s_j², Cauchy–Schwarz); a value a few ulps above 1 is
    # rounding, and would put Feldt's lower bound above the estimate
    alpha = np.minimum(alpha, 1.0)
    alpha = np.where((k >= 2) & (n >= 2) & (var_t > 0), alpha, np.nan)
    return n, alpha, k_int


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
    (cell key, replicate, word), each 64-bit word giving two draws, so results do not depend
    on other cells or on row order.

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
    order = group_order(value, cell, n_cells)
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
        # Each 64-bit random number gives two draws (its high and low 32 bits): a cell of
        # U units has ceil(U/2) words per replicate; the low half of the last word of an odd
        # cell draws the extra zero appended to d_k.
        n_words = (u_count + 1) // 2
        w_start = np.r_[0, np.cumsum(n_words)[:-1]]
        n_w = int(n_words.sum())
        w_cell = np.repeat(np.arange(len(cells_present)), n_words)
        word = (np.arange(n_w) - w_start[w_cell]).astype(np.uint64)
        w_key = cell_hash[cells_present][w_cell]
        with np.errstate(over="ignore"):
            w_step = word * _GOLDEN
        count_hi = u_count[w_cell].astype(np.uint64)
        start_hi = u_start[w_cell]
        lo_used = 2 * word.astype(np.int64) + 1 < u_count[w_cell]
        count_lo = np.where(lo_used, count_hi, 0).astype(np.uint64)
        start_lo = np.where(lo_used, start_hi, len(d_k))
        d_ext = np.r_[d_k, 0.0]
        factor = scale[cells_present] * nv[cells_present]
        reps = np.empty((n_boot, len(cells_present)))
        same_m = bool(np.all(m_k == m_k[0]))
        m_ext = np.r_[m_k, 0.0]
        low32 = np.uint64(0xFFFFFFFF)
        # replicates in chunks of about 2**17 words: the temporaries stay in cache
        chunk = max(1, min(n_boot, (1 << 17) // max(n_w, 1)))
        for b0 in range(0, n_boot, chunk):
            b = np.arange(b0, min(b0 + chunk, n_boot), dtype=np.uint64)[:, None]
            x = w_key[None, :] ^ splitmix64(b)
            x += w_step[None, :]
            _mix_inplace(x)
            # unbiased enough for counts < 2**32: floor(r32 * count / 2**32)
            hi = x >> np.uint64(32)
            hi *= count_hi[None, :]
            hi >>= np.uint64(32)
            i_hi = hi.view(np.int64)
            i_hi += start_hi[None, :]
            x &= low32
            x *= count_lo[None, :]
            x >>= np.uint64(32)
            i_lo = x.view(np.int64)
            i_lo += start_lo[None, :]
            d_w = d_ext[i_hi]
            d_w += d_ext[i_lo]
            d_star = np.add.reduceat(d_w, w_start, axis=1)
            if same_m:  # every unit has the same number of values (e.g. two raters)
                m_star = m_k[0] * u_count[None, :]
            else:
                m_w = m_ext[i_hi]
                m_w += m_ext[i_lo]
                m_star = np.add.reduceat(m_w, w_start, axis=1)
            # D_o* = 2 Σ w d / n*, D_e fixed: α* = 1 − (n−1)/(n* SS) Σ w d
            reps[b0 : b0 + len(b)] = 1.0 - factor[None, :] * d_star / m_star
        gamma = 1.0 - confidence_level
        q = np.quantile(reps, [gamma / 2.0, 1.0 - gamma / 2.0], axis=0)
        low[cells_present] = q[0]
        high[cells_present] = q[1]
    return n_val, alpha, low, high
