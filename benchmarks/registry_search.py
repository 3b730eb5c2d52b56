"""Benchmark: importing graduates with a folded ``search_text``, and searching the registry.

Builds one institution with N graduates (default 50,000; names in Uzbek Latin with ʻ and in
Cyrillic) through the real import (``import_registry_file``, as the upload page and the CLI
do), on a scratch SQLite file or the PostgreSQL database given with ``--database``, then:

1. times the import (every row folded into ``search_text`` on the way);
2. times one registry-list search (``list_registry``: count + first page) for a Cyrillic
   surname typed in lower case and for an Uzbek name typed with a plain apostrophe, and
   prints how many rows it finds;
3. runs the same searches the way the lists searched before (``ilike`` on the raw columns)
   and prints their time and how many rows *they* find, which is the point: on SQLite (and
   on a PostgreSQL cluster without a matching locale) they miss the Cyrillic and apostrophe
   matches.

    python benchmarks/registry_search.py                      # SQLite, 50,000 graduates
    python benchmarks/registry_search.py --rows 10000
    python benchmarks/registry_search.py --database postgresql+psycopg://postgres@127.0.0.1/bench
      (the PostgreSQL database is emptied first: never point it at real data)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, or_, select, text

SURNAMES = ["Иванов", "Karimov", "Тошматов", "Yoʻldoshev", "Gʻofurov", "Petrova", "Oʻrinov"]
GIVEN = ["Aziz", "Азиз", "Madina", "Мадина", "Otabek", "Шохрух", "Dilnoza"]
PATRONYMS = ["Akmal oʻgʻli", "Олимович", "Tohir qizi", "Rustam o’g’li", "Anvar ugli"]


def _csv(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["student_number,full_name,programme_code,graduation_year,email"]
    for n in range(rows):
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)} {rng.choice(PATRONYMS)}"
        lines.append(f"B{n:07d},{name},P1,{2020 + n % 5},g{n}@mail.example")
    return "\r\n".join(lines).encode()


def _timed(call, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a scratch SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from surveys import create_app
    from surveys.extensions import db
    from surveys.migrate import upgrade_database
    from surveys.orm import Base
    from surveys.registry.imports import import_registry_file
    from surveys.registry.models import Graduate, Institution, Programme, ProgrammeLevel
    from surveys.registry.services import list_registry

    scratch = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{scratch.name}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        if args.database:
            Base.metadata.drop_all(db.engine)
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade_database(app)
        institution = Institution(code="BENCH", name="Bench")
        db.session.add(institution)
        db.session.add(
            Programme(
                institution=institution,
                code="P1",
                name="P",
                level=ProgrammeLevel.BACHELOR,
                field_of_study="E",
            )
        )
        db.session.commit()
        data = _csv(args.rows, args.seed)
        with app.test_request_context():
            started = time.perf_counter()
            result = import_registry_file(db.session, institution, "graduates", data, "b.csv")
            db.session.commit()
            elapsed = time.perf_counter() - started
        assert result.ok and result.created == args.rows, result.errors[:3]
        print(f"backend: {db.engine.dialect.name}; graduates: {args.rows:,}")
        print(
            f"import (parse, plan, fold, bulk insert, commit): {elapsed:.2f} s "
            f"({args.rows / elapsed:,.0f} rows/s)"
        )

        for typed in ("иванов", "o'g'li", "ОЛИМОВИЧ"):
            seconds, page = _timed(
                lambda typed=typed: list_registry(
                    db.session, "graduates", institution.id, search=typed
                )
            )

            def old_way(typed=typed):
                pattern = f"%{typed}%"
                stmt = select(func.count()).where(
                    Graduate.institution_id == institution.id,
                    or_(
                        Graduate.full_name.ilike(pattern),
                        Graduate.student_number.ilike(pattern),
                        Graduate.email.ilike(pattern),
                    ),
                )
                return db.session.scalar(stmt)

            old_seconds, old_found = _timed(old_way)
            print(
                f"search {typed!r}: folded search_text {seconds * 1000:.1f} ms, "
                f"{page.total:,} found | old ilike {old_seconds * 1000:.1f} ms, "
                f"{old_found:,} found"
            )
        db.session.remove()
        if args.database:
            Base.metadata.drop_all(db.engine)
        db.engine.dispose()


if __name__ == "__main__":
    main()
