"""The nightly backup (`youcard backup`) and the restore drill (docs/operations.md "Operations"):
dump the PostgreSQL database with pg_dump, restore it into a new database with pg_restore,
and prove the copy: every table holds as many rows as the source did at the dump's moment
(one exported snapshot for both the dump and the count), the ledger check and the audit
chains are clean. A backup nobody restored is a hope; this makes it a fact, in CI and on the
city's own backups."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from youcard import audit
from youcard.db import make_engine, make_sessionmaker
from youcard.reads import ledger

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
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={row[0]}",
                    f"--file={dump}",
                    source,
                ],
                check=True,
                capture_output=True,
                timeout=3600,
            )
            snapshot_connection.execute("COMMIT")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
        try:
            subprocess.run(  # noqa: S603 - our own arguments
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    f"--dbname={libpq(copy)}",
                    str(dump),
                ],
                check=True,
                capture_output=True,
                timeout=3600,
            )
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


BACKUP_SUFFIX = ".dump"


def backup(url: str, *, into: Path, now: datetime, keep_days: int) -> tuple[Path, list[Path]]:
    """A dump of the database (pg_dump, custom format: `pg_restore` reads it) into the folder
    `into`, named by the time; then the dumps there older than `keep_days` are deleted. The
    file appears whole or not at all (written beside, then renamed); the password goes to
    pg_dump in its environment, never on its command line. The new file and those deleted."""
    parsed = make_url(libpq(url))
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = into / f"youcard-{now:%Y%m%d-%H%M%S}{BACKUP_SUFFIX}"
    partial = target.with_suffix(".partial")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(password=None).render_as_string(hide_password=False)
    subprocess.run(  # noqa: S603 - our own tool path and arguments, no shell
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", conninfo],
        check=True,
        env=env,
        capture_output=True,
    )
    partial.rename(target)
    cutoff = now.timestamp() - keep_days * 86_400
    dumps = sorted(into.glob(f"youcard-*{BACKUP_SUFFIX}"))
    old = [p for p in dumps if p != target and p.stat().st_mtime < cutoff]
    for path in old:
        path.unlink()
    return target, old
