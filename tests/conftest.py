"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the Alembic migrations; each test runs in a transaction
that is rolled back. PostgreSQL comes from YOUCARD_TEST_POSTGRES_URL (default:
the local server); each test session makes its own database and drops it after.
When PostgreSQL cannot be reached its half is skipped loudly, unless
YOUCARD_REQUIRE_POSTGRES=1, where that is an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from tests.factories import Factory
from tests.sms_receiver import Received, sms_receiver
from tests.smtp_server import Inbox, smtp_server
from youcard import migrate
from youcard.db import Session, make_engine, make_sessionmaker
from youcard.web import release_connections

POSTGRES_URL = os.environ.get(
    "YOUCARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("YOUCARD_REQUIRE_POSTGRES") == "1"
# `bin/test --fast` runs on SQLite alone (YOUCARD_TEST_DATABASES=sqlite); CI runs both.
DATABASES = [
    kind
    for kind in os.environ.get("YOUCARD_TEST_DATABASES", "sqlite,postgresql").split(",")
    if kind in ("sqlite", "postgresql")
]
# What `-m "not browser and not drill and not slow"` (the fast loop) leaves out, by file
# (or a test's id, for the few slow tests of a fast file):
# the browser runs Chromium, a drill kills processes or a database, slow ones start servers
# or generate thousands of requests.
MARKED_FILES = {
    "browser": ("tests/browser/",),
    "drill": (
        "tests/concurrency/test_fault_drill.py",
        "tests/concurrency/test_failover_drill.py",
        "tests/concurrency/test_mandate_job_killed.py",
    ),
    "slow": (
        "tests/redeemer/test_schemathesis.py",
        "tests/redeemer/test_http_concurrency.py",
        "tests/concurrency/",
        "tests/deploy/",
        "tests/migrations/",
        "tests/cli/",  # each command in a process of its own
        "tests/unit/test_workers_end_with_parent.py",
        "tests/credentials/test_codec.py::test_fuzzed",
        "tests/issuer/test_imports.py::test_upload_check_report_and_confirm_by_a_second_person",
        "tests/redeemer/test_vectors_limits_keys.py::test_the_redeemer_starts_and_verifies",
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its file (MARKED_FILES), so a new test never forgets its marker."""
    for item in items:
        for marker, prefixes in MARKED_FILES.items():
            if item.nodeid.startswith(prefixes):
                item.add_marker(marker)


_postgres_skipped: list[str] = []


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_problem() -> str | None:
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(autouse=True)
def _kept_connections_closed() -> Iterator[None]:
    """Apps keep connections between requests; a test's apps give theirs back when it
    ends, not whenever the garbage collector comes."""
    yield
    release_connections()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, dict[str, str]]]:
    """A real SMTP server on a loopback port (tests/smtp_server.py): its inbox, and the
    environment that sends to it."""
    yield from smtp_server()


@pytest.fixture
def sms() -> Iterator[tuple[Received, dict[str, str]]]:
    """A local stand-in for an SMS service (tests/sms_receiver.py): what it received, and
    the environment that sends to it."""
    yield from sms_receiver()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of the PostgreSQL server (skips or fails when it cannot be reached; skips in
    a run on SQLite alone)."""
    if "postgresql" not in DATABASES:
        pytest.skip("this run is on SQLite only (YOUCARD_TEST_DATABASES)")
    problem = _postgres_problem()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"YOUCARD_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {problem}")
        _postgres_skipped.append(problem)
        pytest.skip(f"PostgreSQL unreachable ({problem}): its half of the suite is SKIPPED")
    return POSTGRES_URL


def create_postgres_database(admin_url: str) -> str:
    """A new empty database on the server of `admin_url`; returns its URL."""
    name = f"youcard_test_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_postgres_database`."""
    name = make_url(url).database
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrated_database(kind: str, folder: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new database of `kind`, migrated to the newest revision; dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{folder}/youcard.sqlite3"
        migrate.upgrade(url)
        yield url
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin_url)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(admin_url, url)


@pytest.fixture(scope="session", params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind, for the whole test session."""
    yield from _migrated_database(request.param, tmp_path_factory.mktemp("sqlite"), request)


@pytest.fixture
def private_database_url(
    database_url: str, tmp_path: object, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A new migrated database of the same kind, this test's alone (for data with fixed ids,
    such as the shared vectors' issuer, that other tests may also make)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    yield from _migrated_database(kind, tmp_path, request)


@pytest.fixture
def private_committed(private_database_url: str) -> Iterator[sessionmaker[Session]]:
    """Committing sessions on this test's own database."""
    engine = make_engine(private_database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of the session's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def committed(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory whose work is committed (for tests that go through an app)."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def make(session: Session) -> Factory:
    """Factories that build test data in the test's session."""
    return Factory(session)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it loudly when the PostgreSQL half did not run."""
    if _postgres_skipped:
        terminalreporter.write_sep("!", "PostgreSQL half of the suite SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"reason: {_postgres_skipped[0]}")
        terminalreporter.write_line("set YOUCARD_REQUIRE_POSTGRES=1 to make this an error")
