"""The SPSS file read back with pyreadstat: labels, value labels, N/A declared missing."""

from __future__ import annotations

import math

import pyreadstat
from sqlalchemy import select

from surveys.reports.spss import LABEL_BYTES, NOT_APPLICABLE, fit, variable_name
from surveys.responses.models import Answer, Response


def test_sav_is_labelled_with_na_user_missing_and_equals_the_answers(runner, world, tmp_path, db):
    path = tmp_path / "tdtu.sav"
    result = runner.invoke(
        args=[
            "report",
            "--year",
            "2025",
            "--institution",
            "TDTU",
            "--lang",
            "en",
            "--format",
            "sav",
            "--output",
            str(path),
        ]
    )
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert len(frame) == 32 + 12 + 8 + 3  # every submitted response of 2025 at TDTU
    assert sorted(set(frame["programme"])) == ["CHEM", "ELEC", "MECH", "MINE"]
    labels = meta.column_names_to_labels
    assert labels["response_id"] == "Response (pseudonym)"
    items = [
        c
        for c in frame.columns
        if c not in ("response_id", "subject_id", "rater_id", "programme", "year", "instrument")
    ]
    assert len(items) >= 7
    # variable labels are the item texts, value labels the scale's points
    assert all(labels[c] and labels[c] != c for c in items), labels
    scored = next(c for c in items if len(meta.variable_value_labels.get(c, {})) > 2)
    points = meta.variable_value_labels[scored]
    assert points[NOT_APPLICABLE] == "Not applicable / cannot judge"
    assert any(v >= 1 for v in points)
    # N/A is declared user-missing: kept as -9 when asked, missing otherwise
    assert meta.missing_ranges[scored] == [{"lo": NOT_APPLICABLE, "hi": NOT_APPLICABLE}]
    na_count = int((frame[items] == NOT_APPLICABLE).sum().sum())
    assert na_count > 0  # the builder answers 5% of the items N/A
    plain, _meta = pyreadstat.read_sav(str(path))
    assert int((plain[items] == NOT_APPLICABLE).sum().sum()) == 0
    # the values are the stored answers
    first = frame.iloc[0]
    response = db.scalar(select(Response).where(Response.public_id == first["response_id"]))
    stored = {
        a.item_key: a for a in db.scalars(select(Answer).where(Answer.response_id == response.id))
    }
    for column in items:
        answer = stored.get(column)
        value = first[column]
        if answer is None:
            assert math.isnan(value)
        elif answer.not_applicable:
            assert value == NOT_APPLICABLE
        else:
            assert value == answer.number
    # pseudonymous: nothing personal, and no free text
    data = path.read_bytes()
    leaked = [s for s in world.secrets if s.encode() in data]
    assert not leaked, leaked


def test_names_and_labels_fit_what_spss_accepts():
    taken: set[str] = set()
    assert variable_name("attestation_q1", taken) == "attestation_q1"
    assert variable_name("attestation_q1", taken) == "attestation_q1_2"  # unique
    assert variable_name("1st item", taken) == "v_1st_item"  # starts with a letter
    assert variable_name("BY", taken) == "v_BY"  # not a reserved word
    assert len(variable_name("x" * 100, taken)) == 64
    label = fit("Профессиональные знания " * 30, LABEL_BYTES)
    assert len(label.encode("utf-8")) <= LABEL_BYTES and label.endswith("…")
    assert fit("=SUM(A1)", LABEL_BYTES) == "'=SUM(A1)"  # neutralised like every text cell
