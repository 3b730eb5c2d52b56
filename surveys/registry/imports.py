"""Importing registry files: check every row first, then write all of it or nothing.

:func:`import_registry_file` is the one pipeline of the CLI (``hamkor import``) and of the
upload page (where it runs as a background job, :mod:`surveys.registry.jobs`). It reads the
file as a stream of rows (:mod:`surveys.registry.reading`) in two passes:

1. **Check**: the header against the kind's columns (:mod:`surveys.registry.columns`), every
   cell, each row's natural key against the rows before it (a compact hash per row, not the
   row), and, chunk by chunk, against the registry (unknown programme, graduate, employer,
   agreement). A dry run ("Check only") also has the planners decide what would be created
   or updated, to count it; before a write that work is left to the second pass, which
   does it anyway. Nothing is written.
2. **Write**, only when no row had an error and it is not a dry run: the same rows again,
   planned and written in chunks of :data:`ROWS_PER_CHUNK` rows inside the caller's one
   transaction.

Memory stays bounded by a chunk, whatever the file's size: no pass holds the file's rows.
Existing rows are found by their natural key with a handful of queries per chunk (one
``= ANY(array)`` parameter on PostgreSQL, ``IN`` lists of at most :data:`CHUNK` on SQLite),
so re-importing a file updates rows and never duplicates them. ``HAMKOR_IMPORT_MAX_ROWS``
caps the rows of one file; a larger one is refused with a message naming the limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_number
from flask_babel import gettext as _
from sqlalchemy import any_, insert, literal, select, update
from sqlalchemy.dialects import postgresql
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
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
)
from surveys.registry.reading import FileProblem, Table, read_table
from surveys.search import Searchable, search_text_for

#: Rows per chunk of an ``IN (...)`` query (SQLite allows 32,766 parameters).
CHUNK = 5000

#: Rows of the file parsed, planned and written together (what memory is bounded by).
ROWS_PER_CHUNK = 10_000

#: Errors shown on a page or as a table; the rest are counted ("and N more").
SHOWN_ERRORS = 200

#: Errors kept with their details (the JSON report lists these); the rest are only counted.
KEPT_ERRORS = 1000

#: ``progress(done, total, message)``: rows handled so far, of about ``total`` (None: unknown).
Progress = Callable[[int, "int | None", str], None]


class ImportConflict(Exception):
    """The registry changed between the check and the write (another import, at the same
    time); the caller rolls back its transaction, so nothing of the file is written."""


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
    #: the first :data:`KEPT_ERRORS` problems, by row; ``error_count`` counts them all
    errors: list[ImportIssue] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)
    how_read: str = ""  #: e.g. "CSV, cp1251, ';'" or "XLSX, sheet Graduates"
    _settled: int = 0  #: errors before this index are sorted and counted

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error_count

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def error(self, row: int | None, column: str | None, value: Any, expected: str) -> None:
        shown = None if value is None else str(value)
        if shown is not None and len(shown) > 80:
            shown = shown[:77] + "…"
        self.errors.append(ImportIssue(row, column, shown, expected))

    def settle_errors(self, column_order: dict[str, int]) -> None:
        """Sort the errors found since the last call by row and column, count them, and
        keep no more than :data:`KEPT_ERRORS` (memory stays bounded on a file of errors)."""
        fresh = self.errors[self._settled :]
        fresh.sort(key=lambda e: (e.row or 0, column_order.get(e.column or "", -1)))
        self.error_count += len(fresh)
        self.errors[self._settled :] = fresh[: max(0, KEPT_ERRORS - self._settled)]
        self._settled = len(self.errors)

    def counts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.filename,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.error_count,
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything a page or a script shows: counts, how it was read, warnings, errors."""
        return {
            "ok": self.ok,
            **self.counts(),
            "read_as": self.how_read,
            "warnings": list(self.warnings),
            "error_list": [e.as_dict() for e in self.errors],
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


class _TooManyRows(Exception):
    def __init__(self, row: int, count: int) -> None:
        super().__init__(row, count)
        self.row, self.count = row, count


def import_registry_file(
    session: Session,
    institution: Institution,
    kind: str,
    data: bytes,
    filename: str,
    *,
    dry_run: bool = False,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check ``data`` as a ``kind`` import for ``institution`` and, if valid, apply it.

    Nothing is added to the session when any row has an error or when ``dry_run`` is set;
    the result then lists the errors (row, column, value, expected) or the counts that the
    import would produce. On success the changes and one ``registry.import`` audit event
    are flushed; the caller commits (one transaction for the whole file). Raises
    :class:`ImportConflict` (or a database error) when the registry changed between the
    check and the write: the caller must then roll back.
    """
    spec = IMPORT_KINDS[kind]
    result = ImportResult(kind=kind, filename=filename, dry_run=dry_run)
    problem = size_problem(len(data), max_bytes)
    if problem is not None:
        result.error(None, None, None, problem)
        result.settle_errors({})
        return result
    try:
        table = read_table(data, filename, kind)
    except FileProblem as exc:
        result.error(None, None, None, str(exc))
        result.settle_errors({})
        return result
    result.how_read = _describe(table)
    order = {column.name: index for index, column in enumerate(spec.columns)}
    positions = _match_header(spec, table, result)
    if positions is None:
        result.settle_errors(order)
        return result
    passes = _Passes(session, institution, spec, table, positions, result, progress, dry_run)
    try:
        passes.check(max_rows)
    except FileProblem as exc:
        result.error(None, None, None, str(exc))
    except _TooManyRows as exc:
        result.error(
            None,
            None,
            None,
            _(
                "This file has more than %(limit)s data rows, the most one import takes: "
                "reading stopped at row %(row)s with %(count)s data rows read. Split it "
                "into files of at most %(limit)s rows.",
                limit=format_number(max_rows or 0),
                row=format_number(exc.row),
                count=format_number(exc.count),
            ),
        )
    if result.rows == 0 and not result.errors and not result.error_count:
        result.error(None, None, None, _("%(name)s has a header but no data rows.", name=filename))
    result.settle_errors(order)
    if not result.ok:  # nothing will be written: counts of the valid rows would mislead
        result.created = result.updated = result.unchanged = 0
        return result
    if dry_run:
        return result
    passes.write()
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


class _Passes:
    """The two passes over a file's rows: check everything, then write (see module doc)."""

    def __init__(
        self,
        session: Session,
        institution: Institution,
        spec: ImportKind,
        table: Table,
        positions: dict[str, int],
        result: ImportResult,
        progress: Progress | None,
        dry_run: bool,
    ) -> None:
        self.session, self.institution, self.spec = session, institution, spec
        self.table, self.positions, self.result = table, positions, result
        self.progress, self.dry_run = progress, dry_run
        self.planner = PLANNERS[spec.name]
        self.order = {column.name: index for index, column in enumerate(spec.columns)}
        #: rows of the file, about (for progress; blank rows and multi-line cells aside)
        self.estimate = table.estimated_rows

    def _report(self, done: int, message: str) -> None:
        if self.progress is None:
            return
        total = self.estimate
        if total is not None:
            done = min(done, total)
        self.progress(done, total, message)

    def _chunks(self, message: str, max_rows: int | None) -> Iterator[list[Record]]:
        """The file's parsed rows, :data:`ROWS_PER_CHUNK` at a time."""
        chunk: list[Record] = []
        count = 0
        parse, result = _RowParser(self.spec, self.positions).parse, self.result
        for number, cells in self.table.rows():
            count += 1
            if max_rows is not None and count > max_rows:
                raise _TooManyRows(number, count)
            chunk.append(parse(number, cells, result))
            if len(chunk) == ROWS_PER_CHUNK:
                yield chunk
                chunk = []
                self._report(number - 1, message)
        if chunk:
            yield chunk
        self.rows_read = count

    def _plan(self, records: list[Record], *, decide: bool) -> Any:
        """Plan one chunk: check the rows' references to the registry and, when ``decide``,
        compare them with the registry's rows and decide inserts and updates."""
        return self.planner(
            self.session, self.institution, records, self.positions, self.result, decide
        )

    def check(self, max_rows: int | None) -> None:
        """Read every row; collect every problem; count what the import would do."""
        message = _("Checking rows")
        self._report(0, message)
        keys = _KeyCheck(self.spec)
        for records in self._chunks(message, max_rows):
            keys.check(records, self.result)
            # only a dry run reports what would change; a write decides it in its own pass
            self._plan(records, decide=self.dry_run)
            self.result.settle_errors(self.order)
        self.result.rows = self.rows_read
        self.estimate = self.rows_read
        self._report(self.rows_read, message)

    def write(self) -> None:
        """Read the rows again and write them, chunk by chunk, in the caller's transaction."""
        message = _("Writing rows")
        result = self.result
        result.created = result.updated = result.unchanged = 0
        for records in self._chunks(message, None):
            plan = self._plan(records, decide=True)
            if result.errors:  # the registry changed since the check: write nothing
                raise ImportConflict(result.errors[0].expected)
            plan.write(self.session)
        self._report(self.rows_read, message)


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


class _RowParser:
    """Parses the rows of one file: which cell feeds which column is worked out once, not
    for each of a hundred thousand rows."""

    def __init__(self, spec: ImportKind, positions: dict[str, int]) -> None:
        #: (name, position in the row, required, parser) of each column the file has
        self.columns = [
            (column.name, positions[column.name], column.required, column.parse)
            for column in spec.columns
            if column.name in positions
        ]
        #: (start, end) columns of this kind whose dates must come in that order
        self.ordered_dates = [
            (start, end) for kind, start, end in ORDERED_DATES if kind == spec.name
        ]

    def parse(self, number: int, cells: list[Any], result: ImportResult) -> Record:
        """Parse every cell of one row, collecting all its errors (none stops the others)."""
        values: dict[str, Any] = {}
        raws: dict[str, Any] = {}
        record = Record(number, values, raws)
        width = len(cells)
        for name, index, required, parse in self.columns:
            raw = cells[index] if index < width else None
            raws[name] = raw
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                values[name] = None
                if required:
                    result.error(number, name, "", _("a value (this column is required)"))
                    record.valid = False
                continue
            try:
                values[name] = parse(raw)
            except CellError as exc:
                result.error(number, name, raw, str(exc))
                record.valid = False
        for start, end in self.ordered_dates:
            first, last = values.get(start), values.get(end)
            if isinstance(first, dt.date) and isinstance(last, dt.date) and last < first:
                result.error(
                    number,
                    end,
                    raws.get(end),
                    _("a date on or after %(start)s (%(date)s)", start=start, date=first),
                )
                record.valid = False
        return record


class _KeyCheck:
    """A natural key may appear only once in a file (which row should win otherwise?).

    Keeps one 64-bit hash and a row number per row, never the row itself.
    """

    def __init__(self, spec: ImportKind) -> None:
        self.spec = spec
        self.first_row: dict[int, int] = {}

    def check(self, records: list[Record], result: ImportResult) -> None:
        names = self.spec.key
        for record in records:
            key = tuple(record.values.get(name) for name in names)
            if None in key:
                continue
            first = self.first_row.setdefault(hash(key), record.row)
            if first != record.row:
                column = names[0]
                result.error(
                    record.row,
                    column,
                    record.raw.get(column),
                    _(
                        "a %(key)s that appears only once in the file (also on row %(row)d)",
                        key=" + ".join(names),
                        row=first,
                    ),
                )
                record.valid = False


# --- planning: compare with the registry, decide inserts and updates ---------------------


@dataclass
class Plan:
    """The writes an import will make, decided before anything is written."""

    model: Any
    #: False: only the rows' references are checked (the registry's rows are not read)
    decide: bool = True
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        """Bulk INSERT new rows, UPDATE changed rows by primary key.

        Inserts go through the table (Core): column defaults still apply, and skipping the
        ORM's per-row bookkeeping makes large imports a third faster.
        """
        for start in range(0, len(self.inserts), CHUNK):
            session.execute(insert(self.model.__table__), self.inserts[start : start + CHUNK])
        for start in range(0, len(self.updates), CHUNK):
            session.execute(update(self.model), self.updates[start : start + CHUNK])


def _one_of(session: Session, column: Any, values: Iterable[Any]) -> Iterator[Any]:
    """Conditions "``column`` is one of ``values``", together covering all of them.

    PostgreSQL gets one ``= ANY(array)`` with a single parameter: an ``IN`` list of 5,000
    parameters costs the driver and the server five times as much, and the job thread
    waits for Python's GIL after each round trip. SQLite gets ``IN`` lists of at most
    :data:`CHUNK` parameters (its limit is 32,766).
    """
    values = list(values)
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(literal(values, postgresql.ARRAY(column.type)))
        return
    for start in range(0, len(values), CHUNK):
        yield column.in_(values[start : start + CHUNK])


def _diff(
    plan: Plan,
    result: ImportResult,
    existing: dict[str, Any] | None,
    wanted: dict[str, Any],
) -> None:
    """Queue an insert (no existing row), an update (some field differs) or count unchanged.

    Bulk writes skip the ORM's events, so the row's ``search_text`` (when the model has one)
    is computed here, into ``wanted``, from its full values: the existing ones with the
    wanted ones on top. ``wanted`` itself is queued (callers may still fill in a new id).
    A plan that does not decide queues and counts nothing.
    """
    if not plan.decide:
        return
    if issubclass(plan.model, Searchable):
        wanted["search_text"] = search_text_for(plan.model, {**(existing or {}), **wanted})
    if existing is None:
        plan.inserts.append(wanted)
        result.created += 1
        return
    changes = {name: value for name, value in wanted.items() if existing.get(name) != value}
    if changes:
        plan.updates.append({"id": existing["id"], **changes})
        result.updated += 1
    else:
        result.unchanged += 1


def _rows_by(session: Session, stmt: Any, key: Callable[[Any], Any]) -> dict[Any, dict[str, Any]]:
    """Run ``stmt`` once and index its rows (as dicts) by ``key``."""
    return {key(row): dict(row._mapping) for row in session.execute(stmt)}


def _employers(session: Session, tax_numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Shared identities by tax number (chunked ``IN`` queries): their id, nothing else.

    Only the employers planner asks, to know whether a new link needs a new identity; what
    it finds never reaches the result, so an import cannot tell what exists elsewhere.
    """
    found: dict[str, dict[str, Any]] = {}
    for among in _one_of(session, Employer.tax_number, {t for t in tax_numbers if t is not None}):
        stmt = select(Employer.id, Employer.tax_number).where(among)
        found.update(_rows_by(session, stmt, lambda r: r.tax_number))
    return found


def _employer_links(session: Session, institution_id: int) -> dict[str, dict[str, Any]]:
    """The institution's own links (every column) by the enterprise's tax number."""
    columns = [getattr(EmployerLink, c.key) for c in EmployerLink.__table__.columns]
    stmt = (
        select(*columns, Employer.tax_number)
        .join(Employer, Employer.id == EmployerLink.employer_id)
        .where(EmployerLink.institution_id == institution_id)
    )
    return _rows_by(session, stmt, lambda r: r.tax_number)


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
    decide: bool,
) -> Plan:
    """Programmes by (institution, code)."""
    plan = Plan(Programme, decide)
    if not decide:  # a programme refers to nothing: there is nothing else to check
        return plan
    stmt = select(
        Programme.id,
        Programme.code,
        Programme.name,
        Programme.names,
        Programme.level,
        Programme.field_of_study,
        Programme.search_text,
    ).where(Programme.institution_id == institution.id)
    existing = _rows_by(session, stmt, lambda r: r.code)
    # name_uz, name_ru, … columns: a filled cell sets that language's name, an empty one
    # removes it; languages without a column in the file keep theirs
    languages = [n.removeprefix("name_") for n in positions if n.startswith("name_")]
    for record in records:
        if not record.valid:
            continue
        v = record.values
        current = existing.get(v["code"])
        names = dict(current["names"] or {}) if current is not None else {}
        for language in languages:
            names.pop(language, None)
            if v[f"name_{language}"]:
                names[language] = v[f"name_{language}"]
        wanted = {"code": v["code"], "name": v["name"], "names": names, "level": v["level"]}
        wanted["field_of_study"] = v["field_of_study"]
        if current is None:
            wanted["institution_id"] = institution.id
        _diff(plan, result, current, wanted)
    return plan


def _plan_graduates(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
    decide: bool,
) -> Plan:
    """Graduates by (institution, student number); the programme code must exist."""
    plan = Plan(Graduate, decide)
    programmes = dict(
        session.execute(
            select(Programme.code, Programme.id).where(Programme.institution_id == institution.id)
        ).all()
    )
    columns = (
        Graduate.id,
        Graduate.student_number,
        Graduate.programme_id,
        Graduate.graduation_year,
        Graduate.full_name,
        Graduate.email,
        Graduate.search_text,
        Graduate.employment_status,
    )
    existing: dict[str, dict[str, Any]] = {}
    numbers = {r.values["student_number"] for r in records if r.valid} if decide else ()
    for among in _one_of(session, Graduate.student_number, numbers):
        # only the rows this chunk of the file may match
        stmt = select(*columns).where(Graduate.institution_id == institution.id, among)
        existing.update(_rows_by(session, stmt, lambda r: r.student_number))
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
    decide: bool,
) -> _EmployerPlan:
    """The institution's own records of enterprises (its links), by tax number.

    A tax number new to the institution is "created" whether or not another institution
    works with the same enterprise: the new link gets this file's name, sector, region,
    contact and notes, and the shared identity is made from them only when no enterprise
    has the tax number yet. An existing identity is never changed and never read back, so
    counts and messages say nothing about other institutions.
    """
    plan = Plan(EmployerLink, decide)
    if not decide:  # an employer refers to nothing: there is nothing else to check
        return _EmployerPlan(plan, [], {})
    links = _employer_links(session, institution.id)
    valid = [r for r in records if r.valid]
    new_to_us = {r.values["tax_number"] for r in valid} - set(links)
    identities = _employers(session, new_to_us)
    # optional columns absent from the file leave those fields untouched
    optional = [
        name
        for name in ("sector", "region", "contact_name", "contact_email", "notes")
        if name in positions
    ]
    new_identities: list[dict[str, Any]] = []
    pending: dict[str, dict[str, Any]] = {}  # tax number -> queued link insert without an id
    for record in valid:
        v = record.values
        tax = v["tax_number"]
        wanted = {"name": v["name"], **{name: v[name] for name in optional}}
        link = links.get(tax)
        if link is None:
            wanted["institution_id"] = institution.id
            identity = identities.get(tax)
            if identity is not None:
                wanted["employer_id"] = identity["id"]
            else:
                new_identities.append(
                    {
                        "tax_number": tax,
                        "name": v["name"],
                        "sector": v.get("sector"),
                        "region": v.get("region"),
                    }
                )
                pending[tax] = wanted
        _diff(plan, result, link, wanted)
    for row in new_identities:
        row["search_text"] = search_text_for(Employer, row)
    return _EmployerPlan(plan, new_identities, pending)


@dataclass
class _EmployerPlan:
    """New identities get their ids on insert; the links waiting for them get them after."""

    plan: Plan
    new_identities: list[dict[str, Any]]
    waiting: dict[str, dict[str, Any]]  #: tax number -> link insert without ``employer_id``

    def write(self, session: Session) -> None:
        for start in range(0, len(self.new_identities), CHUNK):
            session.execute(insert(Employer), self.new_identities[start : start + CHUNK])
        if self.waiting:
            ids = _employers(session, self.waiting)
            for tax, row in self.waiting.items():
                row["employer_id"] = ids[tax]["id"]
        self.plan.write(session)


def _linked_employers(
    session: Session, institution_id: int, tax_numbers: Iterable[str | None]
) -> dict[str, dict[str, Any]]:
    """The enterprises the institution has a link to, by tax number (``id`` = employer id).

    Agreements, employment and internships may only name these: a tax number the
    institution has not imported as an employer is unknown here, whoever else has it.
    """
    found: dict[str, dict[str, Any]] = {}
    for among in _one_of(session, Employer.tax_number, {t for t in tax_numbers if t is not None}):
        stmt = (
            select(Employer.id, Employer.tax_number)
            .join(EmployerLink, EmployerLink.employer_id == Employer.id)
            .where(EmployerLink.institution_id == institution_id, among)
        )
        found.update(_rows_by(session, stmt, lambda r: r.tax_number))
    return found


def _resolve_employer(
    record: Record, employers: dict[str, dict[str, Any]], result: ImportResult
) -> int | None:
    """The id of the row's employer (one in this institution's registry), or an error."""
    tax = record.values.get("employer_tax_number")
    if tax is None:
        return None
    employer = employers.get(tax)
    if employer is None:
        result.error(
            record.row,
            "employer_tax_number",
            record.raw.get("employer_tax_number"),
            _(
                "the tax number of an employer in this institution's registry (import "
                "employers first)"
            ),
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


def _plan_agreements(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
    decide: bool,
) -> Plan:
    """Agreements by (institution, number); the employer must be in this institution's registry."""
    plan = Plan(PartnershipAgreement, decide)
    employers = _linked_employers(
        session, institution.id, (r.values.get("employer_tax_number") for r in records)
    )
    existing: dict[Any, dict[str, Any]] = {}
    if decide:
        stmt = select(
            *[getattr(PartnershipAgreement, c.key) for c in PartnershipAgreement.__table__.columns]
        ).where(PartnershipAgreement.institution_id == institution.id)
        existing = _rows_by(session, stmt, lambda r: r.number)
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
    return plan


def _plan_periods(
    session: Session,
    institution: Institution,
    records: list[Record],
    positions: dict[str, int],
    result: ImportResult,
    decide: bool,
    model: type[EmploymentRecord] | type[Internship],
) -> Plan:
    """Employment records and internships: (graduate, employer, start date) is the key."""
    plan = Plan(model, decide)
    graduates = _graduate_ids(session, institution.id)
    employers = _linked_employers(
        session, institution.id, (r.values.get("employer_tax_number") for r in records)
    )
    existing: dict[Any, dict[str, Any]] = {}
    if decide:
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
