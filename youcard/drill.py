"""The restore drill (DESIGN.md "Operations"): dump the PostgreSQL database with pg_dump,
restore it into a new database with pg_restore, and prove the copy: every table holds as
many rows as the source did at the dump's moment (one exported snapshot for both the dump
and the count), the ledger check and the audit chains are clean. A backup nobody restored
is a hope; this makes it a fact, in CI and on the city's own backups."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from youcard import audit, ledger
from youcard.db import make_engine, make_sessionmaker

Connection = psycopg.Connection[Any]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ValueError(f"{name} is not installed (Debian: postgresql-client)")
    return path


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq understands it (no driver name)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("the restore drill needs PostgreSQL")
    rendered: str = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return rendered


@dataclass
class DrillResult:
    target: str  # the restored database's name
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (source, copy)
    ledger: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        same = all(source == copy for source, copy in self.counts.values())
        return same and not self.ledger and not self.audit


def _tables(connection: Connection) -> list[str]:
    rows = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _counts(connection: Connection, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        row = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        counts[table] = int(str(row[0])) if row else 0
    return counts


def restore_drill(url: str, *, target: str, keep: bool = False) -> DrillResult:
    """Dump `url`, restore into the new database `target` on the same server, check it;
    the copy is dropped afterwards unless `keep`."""
    source = libpq(url)
    copy_url = make_url(url).set(database=target)
    copy = copy_url.render_as_string(hide_password=False)
    admin = libpq(make_url(url).set(database="postgres").render_as_string(hide_password=False))
    result = DrillResult(target=target)
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / "youcard.dump"
        with psycopg.connect(source) as snapshot_connection:
            snapshot_connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = snapshot_connection.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            tables = _tables(snapshot_connection)
            source_counts = _counts(snapshot_connection, tables)
            subprocess.run(  # noqa: S603 - our own arguments; the same snapshot as the counts
                [_tool("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={row[0]}",
                 f"--file={dump}", source],
                check=True, capture_output=True, timeout=3600,
            )  # fmt: skip
            snapshot_connection.execute("COMMIT")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
        try:
            subprocess.run(  # noqa: S603 - our own arguments
                [_tool("pg_restore"), "--no-owner", "--exit-on-error",
                 f"--dbname={libpq(copy)}", str(dump)],
                check=True, capture_output=True, timeout=3600,
            )  # fmt: skip
            with psycopg.connect(libpq(copy)) as conn:
                copy_counts = _counts(conn, tables)
            result.counts = {t: (source_counts[t], copy_counts[t]) for t in tables}
            engine = make_engine(copy)
            try:
                with make_sessionmaker(engine)() as session:
                    result.ledger = [str(d) for d in ledger.check(session)]
                    result.audit = [
                        f"{p.issuer_id} #{p.seq}: {p.problem}" for p in audit.verify(session)
                    ]
            finally:
                engine.dispose()
        finally:
            if not keep:
                with psycopg.connect(admin, autocommit=True) as connection:
                    connection.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(target)
                        )
                    )
    return result
