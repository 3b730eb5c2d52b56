"""Importing registry files: validate every row first, then write all of it or nothing.

:func:`import_registry_file` is the one entry point of the CLI and the upload page. It reads
the file (:mod:`surveys.registry.reading`), checks the header against the kind's columns
(:mod:`surveys.registry.columns`), parses every cell, checks the rows against each other
(duplicate keys) and against the registry (unknown programme, graduate, employer, agreement),
and only when no row has an error writes the changes in bulk. Existing rows are found by
their natural key, loaded with one query per table, so re-importing a file updates rows and
never duplicates them, and a 10,000-row file needs a handful of queries, not 10,000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.datachanges import data_changed
from surveys.registry.columns import (
    IMPORT_KINDS,
    ORDERED_DATES,
    CellError,
    ImportKind,
    normalise_label,
)
from surveys.registry.models import (
    Employer,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
    institution_employers,
)
from surveys.registry.reading import FileProblem, Table, read_table

#: Rows per chunk of an ``IN (...)`` query (SQLite allows 32,766 parameters).
CHUNK = 5000

#: Errors shown on a page or as a table; the rest are counted ("and N more").
SHOWN_ERRORS = 200

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportIssue:
    """One problem: where (row as seen in the spreadsheet, column), the value, what was expected."""

    row: int | None
    column: str | None
    value: str | None
    expected: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "expected": self.expected,
        }


@dataclass
class ImportResult:
    """What an import did, or would do (dry run), or why it did nothing."""

    kind: str
    filename: str
    dry_run: bool
    rows: int = 0  #: data rows read (blank rows left out)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  #: employers newly added to the institution's registry
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    how_read: str = ""  #: e.g. "CSV, cp1251, ';'" or "XLSX, sheet Graduates"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def error(self, row: int | None, column: str | None, value: Any, expected: str) -> None:
        shown = None if value is None else str(value)
        if shown is not None and len(shown) > 80:
            shown = shown[:77] + "…"
        self.errors.append(ImportIssue(row, column, shown, expected))

    def counts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.filename,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "employers_linked": self.linked,
            "errors": len(self.errors),
        }


def _human_size(size: int) -> str:
    """``20 MB``, ``52.4 MB``, ``2 KB``: sizes as people read them."""
    value, unit = (size / 1048576, "MB") if size >= 1048576 else (size / 1024, "KB")
    return f"{value:.1f}".removesuffix(".0") + " " + unit


def size_problem(size: int, max_bytes: int | None) -> str | None:
    """Why a file of ``size`` bytes is refused (over ``max_bytes``), or None."""
    if max_bytes is None or size <= max_bytes:
        return None
    return _(
        "a file of at most %(limit)s (this one has %(size)s); split it into parts",
        limit=_human_size(max_bytes),
        size=_human_size(size),
    )


def import_registry_file(
    session: Session,
    institution: Institution,
    kind: str,
    data: bytes,
    filename: str,
    *,
    dry_run: bool = False,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate ``data`` as a ``kind`` import for ``institution`` and, if valid, apply it.

    Nothing is added to the session when any row has an error or when ``dry_run`` is set;
    the result then lists every error (row, column, value, expected) or the counts that the
    import would produce. On success the changes and one ``registry.import`` audit event
    are flushed; the caller commits (one transaction for the whole file).
    """
    spec = IMPORT_KINDS[kind]
    result = ImportResult(kind=kind, filename=filename, dry_run=dry_run)
    problem = size_problem(len(data), max_bytes)
    if problem is not None:
        result.error(None, None, None, problem)
        return result
    try:
        table = read_table(data, filename, kind)
    except FileProblem as exc:
        result.error(None, None, None, str(exc))
        return result
    result.rows = len(table.rows)
    result.how_read = _describe(table)
    positions = _match_header(spec, table, result)
    if positions is None:
        return result
    if not table.rows:
        result.error(None, None, None, _("%(name)s has a header but no data rows.", name=filename))
        return result
    records = _parse_rows(spec, table, positions, result, progress)
    _check_duplicates(spec, records, result)
    plan = PLANNERS[kind](session, institution, records, positions, result)
    order = {column.name: index for index, column in enumerate(spec.columns)}
    result.errors.sort(key=lambda e: (e.row or 0, order.get(e.column or "", -1)))
    if not result.ok:  # nothing will be written: counts of the valid rows would mislead
        result.created = result.updated = result.unchanged = result.linked = 0
    if not result.ok or dry_run:
        return result
    plan.write(session)
    # graduates, employment and agreements are the outcome indicators' inputs; the other
    # kinds change no number today, but a bump costs one recomputation and is never wrong
    data_changed(session, institution.id)
    record_event(
        session,
        "registry.import",
        object_type="Institution",
        object_id=institution.id,
        institution_id=institution.id,
        details=result.counts(),
    )
    session.flush()
    return result


def _describe(table: Table) -> str:
    if table.format == "xlsx":
        return f"XLSX, sheet “{table.sheet}”"
    delimiter = {"\t": "tab"}.get(table.delimiter or "", table.delimiter)
    return f"CSV, {table.encoding}, “{delimiter}”"


def _match_header(spec: ImportKind, table: Table, result: ImportResult) -> dict[str, int] | None:
    """Map column names to positions; report a wrong header (naming found and expected)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(table.header):
        if not raw:
            continue
        normalised = normalise_label(raw)
        column = next((c for c in spec.columns if normalised in c.headers()), None)
        if column is None:
            ignored.append(raw)
        elif column.name in positions:
            result.error(1, raw, raw, _("each column only once (%(c)s repeats)", c=column.name))
        else:
            positions[column.name] = index
    missing = [name for name in spec.required if name not in positions]
    if missing:
        where = _("sheet “%(s)s”", s=table.sheet) if table.sheet else _("row 1")
        found = ", ".join(h for h in table.header if h) or "—"
        expected = _(
            "Wrong header in %(where)s: missing column(s) %(missing)s. Found: %(found)s. "
            "Expected for %(kind)s: %(columns)s (optional: %(optional)s).",
            where=where,
            missing=", ".join(missing),
            found=found,
            kind=spec.name,
            columns=", ".join(spec.required),
            optional=", ".join(c.name for c in spec.columns if not c.required) or "—",
        )
        named = normalise_label(table.sheet or "") == normalise_label(spec.name)
        if len(table.sheets) > 1 and not named:
            expected += " " + _(
                "The workbook has the sheets %(sheets)s; name the sheet “%(kind)s” or put it "
                "first.",
                sheets=", ".join(table.sheets),
                kind=spec.name,
            )
        result.error(1, None, None, expected)
    if ignored and not result.errors:
        result.warnings.append(
            _(
                "Columns ignored (not part of a %(kind)s import): %(columns)s",
                kind=spec.name,
                columns=", ".join(ignored),
            )
        )
    return None if result.errors else positions


@dataclass
class Record:
    """One parsed data row."""

    row: int
    values: dict[str, Any]
    raw: dict[str, Any]
    valid: bool = True


def _parse_rows(
    spec: ImportKind,
    table: Table,
    positions: dict[str, int],
    result: ImportResult,
    progress: Progress | None,
) -> list[Record]:
    """Parse every cell of every row, collecting all errors (none stops the others)."""
    records: list[Record] = []
    required_msg = _("a value (this column is required)")
    total = len(table.rows)
    for done, (number, cells) in enumerate(table.rows, start=1):
        record = Record(number, {}, {})
        for column in spec.columns:
            index = positions.get(column.name)
            if index is None:
                continue
            raw = cells[index] if index < len(cells) else None
            record.raw[column.name] = raw
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                record.values[column.name] = None
                if column.required:
                    result.error(number, column.name, "", required_msg)
                    record.valid = False
                continue
            try:
                record.values[column.name] = column.parse(raw)
            except CellError as exc:
                result.error(number, column.name, raw, str(exc))
                record.valid = False
        for kind, start, end in ORDERED_DATES:
            if kind != spec.name:
                continue
            first, last = record.values.get(start), record.values.get(end)
            if isinstance(first, dt.date) and isinstance(last, dt.date) and last < first:
                result.error(
                    number,
                    end,
                    record.raw.get(end),
                    _("a date on or after %(start)s (%(date)s)", start=start, date=first),
                )
                record.valid = False
        records.append(record)
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total)
    return records


def _check_duplicates(spec: ImportKind, records: list[Record], result: ImportResult) -> None:
    """A natural key may appear only once in a file (which row should win otherwise?)."""
    seen: dict[tuple[Any, ...], int] = {}
    for record in records:
        key = tuple(record.values.get(name) for name in spec.key)
        if any(part is None for part in key):
            continue
        first = seen.setdefault(key, record.row)
        if first != record.row:
            column = spec.key[0]
            result.error(
                record.row,
                column,
                record.raw.get(column),
                _(
                    "a %(key)s that appears only once in the file (also on row %(row)d)",
                    key=" + ".join(spec.key),
                    row=first,
                ),
            )
            record.valid = False


# --- planning: compare with the registry, decide inserts and updates ---------------------


@dataclass
class Plan:
    """The writes an import will make, decided before anything is written."""

    model: Any
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        """Bulk INSERT new rows, UPDATE changed rows by primary key, link employers."""
        for start in range(0, len(self.inserts), CHUNK):
            session.execute(insert(self.model), self.inserts[start : start + CHUNK])
        for start in range(0, len(self.updates), CHUNK):
            session.execute(update(self.model), self.updates[start : start + CHUNK])
        if self.links:
            session.execute(insert(institution_employers), self.links)


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _diff(
    plan: Plan,
    result: ImportResult,
    existing: dict[str, Any] | None,
    wanted: dict[str, Any],
    *,
    keep_when_empty: bool = False,
) -> None:
    """Queue an insert (no existing row), an update (some field differs) or count unchanged."""
    if existing is None:
        plan.inserts.append(wanted)
        result.created += 1
        return
    changes = {
        name: value
        for name, value in wanted.items()
        if existing.get(name) != value and not (keep_when_empty and value is None)
    }
    if changes:
        plan.updates.append({"id": existing["id"], **changes})
        result.updated += 1
    else:
        result.unchanged += 1


def _rows_by(session: Session, stmt: Any, key: Callable[[Any], Any]) -> dict[Any, dict[str, Any]]:
    """Run ``stmt`` once and index its rows (as dicts) by ``key``."""
    return {key(row): dict(row._mapping) for row in session.execute(stmt)}


def _employers(session: Session, tax_numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Existing employers by tax number (chunked ``IN`` queries)."""
    found: dict[str, dict[str, Any]] = {}
    columns = [getattr(Employer, c.key) for c in Employer.__table__.columns]
    for chunk in _chunks({t for t in tax_numbers if t is not None}):
        stmt = select(*columns).where(Employer.tax_number.in_(chunk))
        found.update(_rows_by(session, stmt, lambda r: r.tax_number))
    return found


def _linked_employer_ids(session: Session, institution_id: int) -> set[int]:
    stmt = select(institution_employers.c.employer_id).where(
        institution_employers.c.institution_id == institution_id
    )
    return set(session.scalars(stmt))


def _graduate_ids(session: Session, institution_id: int) -> dict[str, int]:
    stmt = select(Graduate.student_number, Graduate.id).where(
        Graduate.institution_id == institution_id
    )
    return dict(session.execute(stmt).all())


def _plan_programmes(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
) -> Plan:
    """Programmes by (institution, code)."""
    plan = Plan(Programme)
    stmt = select(
        Programme.id, Programme.code, Programme.name, Programme.level, Programme.field_of_study
    ).where(Programme.institution_id == institution.id)
    existing = _rows_by(session, stmt, lambda r: r.code)
    for record in records:
        if not record.valid:
            continue
        v = record.values
        wanted = {"code": v["code"], "name": v["name"], "level": v["level"]}
        wanted["field_of_study"] = v["field_of_study"]
        if v["code"] not in existing:
            wanted["institution_id"] = institution.id
        _diff(plan, result, existing.get(v["code"]), wanted)
    return plan


def _plan_graduates(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
) -> Plan:
    """Graduates by (institution, student number); the programme code must exist."""
    plan = Plan(Graduate)
    programmes = dict(
        session.execute(
            select(Programme.code, Programme.id).where(Programme.institution_id == institution.id)
        ).all()
    )
    stmt = select(
        Graduate.id,
        Graduate.student_number,
        Graduate.programme_id,
        Graduate.graduation_year,
        Graduate.full_name,
        Graduate.email,
        Graduate.employment_status,
    ).where(Graduate.institution_id == institution.id)
    existing = _rows_by(session, stmt, lambda r: r.student_number)
    known = ", ".join(sorted(programmes)[:20]) or _("none yet: import programmes first")
    for record in records:
        v = record.values
        programme_id = programmes.get(v.get("programme_code"))
        if v.get("programme_code") is not None and programme_id is None:
            result.error(
                record.row,
                "programme_code",
                record.raw.get("programme_code"),
                _("the code of one of this institution's programmes (%(codes)s)", codes=known),
            )
            continue
        if not record.valid:
            continue
        wanted = {
            "programme_id": programme_id,
            "graduation_year": v["graduation_year"],
            "full_name": v["full_name"],
        }
        for optional in ("email", "employment_status"):
            if optional in positions:  # an absent column leaves the field as it is
                wanted[optional] = v[optional]
        if v["student_number"] not in existing:
            wanted.update(institution_id=institution.id, student_number=v["student_number"])
        _diff(plan, result, existing.get(v["student_number"]), wanted)
    return plan


def _plan_employers(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
) -> _EmployerPlan:
    """Employers by tax number (global); each is also linked to the importing institution."""
    plan = Plan(Employer)
    existing = _employers(session, (r.values["tax_number"] for r in records if r.valid))
    linked = _linked_employer_ids(session, institution.id)
    # optional columns absent from the file leave those fields untouched
    optional = [
        name for name in ("sector", "region", "contact_name", "contact_email") if name in positions
    ]
    new_numbers: list[str] = []
    for record in records:
        if not record.valid:
            continue
        v = record.values
        wanted = {"name": v["name"], **{name: v[name] for name in optional}}
        current = existing.get(v["tax_number"])
        if current is None:
            wanted["tax_number"] = v["tax_number"]
            new_numbers.append(v["tax_number"])
        elif current["id"] not in linked:
            plan.links.append({"institution_id": institution.id, "employer_id": current["id"]})
            linked.add(current["id"])
        # Employers are shared between institutions: an empty cell never erases known data.
        _diff(plan, result, current, wanted, keep_when_empty=True)
    result.linked = len(plan.links) + len(new_numbers)
    return _EmployerPlan(plan, institution.id, new_numbers)


@dataclass
class _EmployerPlan:
    """New employers get their ids on insert; link them to the institution afterwards."""

    plan: Plan
    institution_id: int
    new_tax_numbers: list[str]

    def write(self, session: Session) -> None:
        self.plan.write(session)
        if self.new_tax_numbers:
            ids = _employers(session, self.new_tax_numbers)
            session.execute(
                insert(institution_employers),
                [
                    {"institution_id": self.institution_id, "employer_id": e["id"]}
                    for e in ids.values()
                ],
            )


def _resolve_employer(
    record: Record, employers: dict[str, dict[str, Any]], result: ImportResult
) -> int | None:
    """The id of the row's employer, or an error naming the unknown tax number."""
    tax = record.values.get("employer_tax_number")
    if tax is None:
        return None
    employer = employers.get(tax)
    if employer is None:
        result.error(
            record.row,
            "employer_tax_number",
            record.raw.get("employer_tax_number"),
            _("the tax number of an employer in the registry (import employers first)"),
        )
        record.valid = False
        return None
    return employer["id"]


def _resolve_graduate(
    record: Record, graduates: dict[str, int], result: ImportResult
) -> int | None:
    """The id of the row's graduate (this institution only), or an error."""
    number = record.values.get("student_number")
    if number is None:
        return None
    graduate_id = graduates.get(number)
    if graduate_id is None:
        result.error(
            record.row,
            "student_number",
            record.raw.get("student_number"),
            _("the student number of one of this institution's graduates (import graduates first)"),
        )
        record.valid = False
    return graduate_id


def _links_for(institution_id: int, employer_ids: Iterable[int], linked: set[int]) -> list[dict]:
    """``institution_employers`` rows for employers the institution is not linked to yet."""
    new = sorted(set(employer_ids) - linked)
    return [{"institution_id": institution_id, "employer_id": e} for e in new]


def _plan_agreements(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
) -> Plan:
    """Agreements by (institution, number); the employer must be in the registry."""
    plan = Plan(PartnershipAgreement)
    employers = _employers(session, (r.values.get("employer_tax_number") for r in records))
    stmt = select(
        *[getattr(PartnershipAgreement, c.key) for c in PartnershipAgreement.__table__.columns]
    ).where(PartnershipAgreement.institution_id == institution.id)
    existing = _rows_by(session, stmt, lambda r: r.number)
    used: list[int] = []
    for record in records:
        employer_id = _resolve_employer(record, employers, result)
        if not record.valid:
            continue
        v = record.values
        wanted = {
            "employer_id": employer_id,
            "kind": v["kind"],
            "signed_on": v["signed_on"],
            "valid_from": v["valid_from"],
        }
        if "valid_until" in positions:
            wanted["valid_until"] = v["valid_until"]
        if v["number"] not in existing:
            wanted.update(institution_id=institution.id, number=v["number"])
        _diff(plan, result, existing.get(v["number"]), wanted)
        used.append(employer_id)
    plan.links = _links_for(institution.id, used, _linked_employer_ids(session, institution.id))
    result.linked = len(plan.links)
    return plan


def _plan_periods(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
    model: type[EmploymentRecord] | type[Internship],
) -> Plan:
    """Employment records and internships: (graduate, employer, start date) is the key."""
    plan = Plan(model)
    graduates = _graduate_ids(session, institution.id)
    employers = _employers(session, (r.values.get("employer_tax_number") for r in records))
    columns = [getattr(model, c.key) for c in model.__table__.columns]
    stmt = select(*columns).join(Graduate, Graduate.id == model.graduate_id)
    stmt = stmt.where(Graduate.institution_id == institution.id)
    existing = _rows_by(session, stmt, lambda r: (r.graduate_id, r.employer_id, r.start_date))
    agreements: dict[str, dict[str, Any]] = {}
    if model is Internship and "agreement_number" in positions:
        agreements = _rows_by(
            session,
            select(
                PartnershipAgreement.id,
                PartnershipAgreement.number,
                PartnershipAgreement.employer_id,
            ).where(PartnershipAgreement.institution_id == institution.id),
            lambda r: r.number,
        )
    used: list[int] = []
    for record in records:
        graduate_id = _resolve_graduate(record, graduates, result)
        employer_id = _resolve_employer(record, employers, result)
        v = record.values
        wanted: dict[str, Any] = {}
        if model is Internship:
            number = v.get("agreement_number")
            if number is not None:
                agreement = agreements.get(number)
                if agreement is None or (
                    employer_id is not None and agreement["employer_id"] != employer_id
                ):
                    result.error(
                        record.row,
                        "agreement_number",
                        record.raw.get("agreement_number"),
                        _(
                            "the number of one of this institution's agreements with this "
                            "employer (import agreements first)"
                        ),
                    )
                    record.valid = False
                else:
                    wanted["agreement_id"] = agreement["id"]
            elif "agreement_number" in positions:
                wanted["agreement_id"] = None
            if "mentor_name" in positions:
                wanted["mentor_name"] = v.get("mentor_name")
        else:
            wanted["position"] = v.get("position")
        if not record.valid:
            continue
        if "end_date" in positions:
            wanted["end_date"] = v["end_date"]
        key = (graduate_id, employer_id, v["start_date"])
        if key not in existing:
            wanted.update(graduate_id=graduate_id, employer_id=employer_id, start_date=key[2])
        _diff(plan, result, existing.get(key), wanted)
        used.append(employer_id)
    plan.links = _links_for(institution.id, used, _linked_employer_ids(session, institution.id))
    result.linked = len(plan.links)
    return plan


PLANNERS: dict[str, Callable[..., Any]] = {
    "programmes": _plan_programmes,
    "graduates": _plan_graduates,
    "employers": _plan_employers,
    "agreements": _plan_agreements,
    "employment": lambda *a: _plan_periods(*a, EmploymentRecord),
    "internships": lambda *a: _plan_periods(*a, Internship),
}


def template_csv(kind: str) -> str:
    """The header row of a CSV template for ``kind`` (canonical column names)."""
    return ",".join(c.name for c in IMPORT_KINDS[kind].columns) + "\r\n"
