"""Small hand-made input tables for the analysis tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from analysis.table import RATINGS_COLUMNS


def ratings_table(responses: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Long ratings table from responses given as dicts.

    Each response: ``institution, programme, year, instrument, response_id, subject_id,
    rater_id`` (defaults: U1, P1, 2025, attestation, auto, auto, auto) and ``items``: a list
    of ``(domain, item, score, scale_min, scale_max)`` with ``score`` None for empty.
    """
    cols: dict[str, list] = {c: [] for c in RATINGS_COLUMNS}
    for i, r in enumerate(responses):
        for domain, item, score, lo, hi in r["items"]:
            cols["institution"].append(r.get("institution", "U1"))
            cols["programme"].append(r.get("programme", "P1"))
            cols["year"].append(r.get("year", 2025))
            cols["instrument"].append(r.get("instrument", "attestation"))
            cols["response_id"].append(r.get("response_id", f"R{i:05d}"))
            cols["subject_id"].append(r.get("subject_id", f"G{i:05d}"))
            cols["rater_id"].append(r.get("rater_id", f"E{i:05d}"))
            cols["domain"].append(domain)
            cols["item"].append(item)
            cols["score"].append(np.nan if score is None else float(score))
            cols["scale_min"].append(lo)
            cols["scale_max"].append(hi)
    out = {k: np.array(v) for k, v in cols.items()}
    out["score"] = out["score"].astype(float)
    return out


def domain_items(domain: str, scores: Iterable[float | None], lo: int = 1, hi: int = 5):
    """Items ``<domain>1..k`` of one domain on one scale."""
    return [(domain, f"{domain}{j + 1}", s, lo, hi) for j, s in enumerate(scores)]


def simple_responses(
    scores: Iterable[float],
    *,
    raters: Iterable[str] | None = None,
    overall: Iterable[float] | None = None,
    recommend: Iterable[float] | None = None,
    **group: Any,
) -> list[dict[str, Any]]:
    """One response per score (a one-item domain ``skills`` on 1-5), optional overall/recommend."""
    scores = list(scores)
    raters = list(raters) if raters is not None else [None] * len(scores)
    overall = list(overall) if overall is not None else [None] * len(scores)
    recommend = list(recommend) if recommend is not None else [None] * len(scores)
    out = []
    tag = "-".join(str(v) for v in group.values())
    for i, (s, r, o, rec) in enumerate(zip(scores, raters, overall, recommend, strict=True)):
        items = [("skills", "skills1", s, 1, 5)]
        if o is not None:
            items.append(("overall", "overall", o, 1, 5))
        if rec is not None:
            items.append(("recommend", "recommend", rec, 0, 10))
        resp = {**group, "items": items, "response_id": f"R{tag}-{i}", "subject_id": f"G{tag}-{i}"}
        resp["rater_id"] = r if r is not None else f"E{tag}-{i}"
        out.append(resp)
    return out


def find(records, **where):
    """The records matching every field in ``where``."""
    return [r for r in records if all(getattr(r, k) == v for k, v in where.items())]


def one(records, **where):
    """The single record matching ``where``."""
    hits = find(records, **where)
    assert len(hits) == 1, f"{len(hits)} records match {where}"
    return hits[0]
