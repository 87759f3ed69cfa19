"""Engine, sessions and the declarative base with a global constraint naming convention."""

from __future__ import annotations

import enum
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import RawCursor  # the driver of every PostgreSQL URL (make_engine)
from sqlalchemy import (
    BigInteger,
    Enum,
    Integer,
    MetaData,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.orm import Session as Session  # re-export for the type hints of callers

from youcard import replicated
from youcard.errors import DomainError, is_unique_violation

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1  # ids are BIGINT: anything larger is no id of ours

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def value_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A column type storing an enum by its value, guarded by a CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(str(m.value)) for m in enum_cls),
        values_callable=lambda cls: [str(m.value) for m in cls],
    )


@contextmanager
def refusing_duplicates(session: Session, refusal: Callable[[], DomainError]) -> Iterator[None]:
    """Run the block's writes in a savepoint; if a unique constraint refuses them (a parallel
    request was first: the database decides, never a check before the insert), undo them and
    raise `refusal()`."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as error:
        if is_unique_violation(error):
            raise refusal() from None
        raise


def among(session: Session, column: Any, values: Sequence[str]) -> Any:
    """`column IN values` for many string keys: on PostgreSQL one array parameter
    (`= ANY(:values)`), because psycopg rewrites a query of 1,000 placeholders every time
    (a third of an import's key lookups); elsewhere an ordinary IN list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String())))
    return column.in_(values)


ANALYZE_FROM = 1_000  # rows written from which a long writer refreshes the statistics


class PlannerStatistics:
    """PostgreSQL's planner statistics of the tables a long writer fills (an import, the
    instalments job), refreshed whenever its rows doubled since the last time (and at the
    end). Without it the tables grew while the statistics still described them as before —
    empty, at a city's first import or first month of mandates — and the key lookups walked
    every row, ever more of them: a re-import of 20,000 lines took 17 s instead of 1, and
    100,000 instalments slowed to 170 a second (bench/import.py, bench/mandates.py; where
    autovacuum is off, or has not come by yet). ANALYZE sees the transaction's own rows."""

    def __init__(self, session: Session, tables: str) -> None:
        self.session, self.tables = session, tables
        self.on = session.get_bind().dialect.name == "postgresql"
        self.rows = self.analyzed = 0

    def grew(self, rows: int, session: Session | None = None) -> None:
        """`rows` more were written (in `session`, when the writer moved on to another)."""
        self.session = session or self.session
        self.rows += rows
        if self.on and self.rows >= max(ANALYZE_FROM, 2 * self.analyzed):
            self.refresh()

    def refresh(self) -> None:
        if self.on and self.rows >= ANALYZE_FROM:
            self.session.execute(text(f"ANALYZE {self.tables}"))
            self.analyzed = self.rows


def upsert(session: Session, table: Any) -> Any:
    """An INSERT with ON CONFLICT support for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {dialect!r}")  # pragma: no cover


def make_engine(url: str, *, ping_idle_seconds: float | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and BEGIN IMMEDIATE.

    Statement parameters never appear in errors (`hide_parameters`): a failed statement's
    traceback would otherwise log family names, IBANs and usernames.

    A pooled connection is checked before use (pre-ping). With `ping_idle_seconds`, only
    one that lay idle that long: a busy server reuses its connections within milliseconds
    and saves a round trip per request, and one idle for a while (across a database
    restart, say) is still checked."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    if ping_idle_seconds is None:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    else:
        engine = create_engine(url, pool_pre_ping=False, **kwargs)
        _ping_after_idle(engine, ping_idle_seconds)
    replicated.watch(engine)  # no write acknowledged that the standby does not have
    return engine


_IDLE_SINCE = "youcard_idle_since"


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    # SQLAlchemy's recipe for custom disconnect checks: raising DisconnectionError on
    # checkout makes the pool drop the connection and hand out a fresh one.
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return  # new, or back from use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and then fails at once with
    # "database is locked" when a reader upgrades to a writer. We take the
    # transaction control ourselves and start every transaction with BEGIN
    # IMMEDIATE, so concurrent writers queue on the busy timeout instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose sessions keep loaded objects usable after commit (and whose
    commit raises when the synchronous standby did not confirm it: youcard.replicated)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_commit", lambda _session: replicated.check())
    return factory


@contextmanager
def _lost_connection(connection: Connection, sql: str) -> Iterator[None]:
    """The driver's own error for a lost connection, as SQLAlchemy raises it: the connection
    invalidated (the pool will not hand it out again) and an OperationalError (a 503)."""
    try:
        yield
    except connection.dialect.loaded_dbapi.OperationalError as error:
        connection.invalidate(error)
        raise OperationalError(
            sql, None, error, hide_parameters=True, connection_invalidated=True
        ) from error


class DriverStatement:
    """A Core statement that PostgreSQL runs straight on the driver's cursor.

    For the few statements of the partner API's hot path, where SQLAlchemy's execution
    costs three times what psycopg's does (130 against 41 us per query, bench/redeem.py).
    The statement is compiled once; rows come back as named tuples of the driver's own
    values, so enum columns are plain text here and callers convert them (`Status(x)`).
    Parameters must be plain values too (ints, text, bytes, dates). Other databases run
    the statement through SQLAlchemy as usual. Only for statements that return rows.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._sql: str | None = None
        self._names: tuple[str, ...] = ()  # the parameters' names, in $1, $2, ... order
        self._fixed: dict[str, Any] = {}
        self._row: Any = None  # the named tuple class, made from the first result

    def _compiled(self, connection: Connection) -> str:
        """The statement in PostgreSQL's own placeholders ($1, $2, ...), compiled once by
        SQLAlchemy (paramstyle numeric_dollar): the driver then sends it as it is (psycopg's
        RawCursor), with no per-call rewriting of named placeholders."""
        if self._sql is None:
            dialect_class: Any = type(connection.dialect)  # (its stub has no paramstyle)
            dialect = dialect_class(paramstyle="numeric_dollar")
            compiled = self.statement.compile(dialect=dialect)
            self._fixed = {  # values built into the statement (`status == 'active'`)
                name: value.value if isinstance(value, enum.Enum) else value
                for name, value in compiled.params.items()
                if value is not None
            }
            self._names = tuple(compiled.positiontup or ())
            self._sql = str(compiled)
        return self._sql

    def _values(self, params: dict[str, Any]) -> list[Any]:
        fixed = self._fixed
        return [params[name] if name in params else fixed[name] for name in self._names]

    def _named(self, cursor: Any) -> list[Any]:
        """The cursor's current result as named tuples (plain tuples from the driver:
        psycopg's own named rows cost more)."""
        if self._row is None:
            assert cursor.description is not None, "a DriverStatement must return rows"
            names = [column.name for column in cursor.description]
            self._row = namedtuple("Row", names)  # type: ignore[misc]
        return [self._row._make(row) for row in cursor.fetchall()]

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        """The statement's rows (each with attribute access by column name)."""
        if connection.dialect.name != "postgresql":
            return list(connection.execute(self.statement, params))
        sql = self._compiled(connection)
        with _lost_connection(connection, sql):
            cursor = _kept_cursor(connection)
            cursor.execute(sql, self._values(params))
            replicated.check(sql)  # (the driver's own cursor: no SQLAlchemy event sees it)
            return self._named(cursor)

    def rows_many(self, connection: Connection, params: list[dict[str, Any]]) -> list[list[Any]]:
        """The rows of the statement run once per parameter set, in order. PostgreSQL gets
        them all in one pipeline (one round trip, not one each: the jobs' batches); the
        statements still run one after the other, as if called in turn."""
        if connection.dialect.name != "postgresql":
            return [list(connection.execute(self.statement, each)) for each in params]
        if not params:
            return []
        sql = self._compiled(connection)
        with _lost_connection(connection, sql):
            cursor = _kept_cursor(connection)
            cursor.executemany(sql, [self._values(each) for each in params], returning=True)
            replicated.check(sql)
            results = [self._named(cursor)]
            while cursor.nextset():
                results.append(self._named(cursor))
        assert len(results) == len(params)
        return results


_KEPT_CURSOR = "youcard_kept_cursor"


def _kept_cursor(connection: Connection) -> Any:
    """The driver connection's own RawCursor for DriverStatements, made once and kept with
    it (in the pool's record of the connection): a new cursor per query cost about 2 % of a
    booking. A connection is used by one thread at a time, and every call reads its result
    before the next executes, so one cursor serves them all."""
    fairy = connection.connection
    driver = fairy.driver_connection
    assert driver is not None
    kept: tuple[Any, Any] | None = fairy.info.get(_KEPT_CURSOR)
    if kept is None or kept[0] is not driver or kept[1].closed:
        kept = (driver, RawCursor(driver))
        fairy.info[_KEPT_CURSOR] = kept
    return kept[1]
