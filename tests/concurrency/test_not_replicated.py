"""A commit that the synchronous standby never confirmed is never acknowledged: on a primary
of its own whose synchronous standby is missing, a booking's commit waits; cancelled (as an
operator's pg_cancel_backend does), PostgreSQL reports success with a warning — the app
turns that into an OperationalError (a 503), through the ORM and on the driver alike."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from youcard.db import DriverStatement, make_engine, make_sessionmaker
from youcard.drills.cluster import Cluster, can_make_clusters, pg_bin


@pytest.fixture
def lonely_primary(database_url):
    """A primary that waits for a synchronous standby that never comes."""
    if not database_url.startswith("postgresql"):
        pytest.skip("synchronous replication is PostgreSQL's")
    bindir = pg_bin()
    if bindir is None or not can_make_clusters():
        pytest.skip("no PostgreSQL server programs to make a cluster with")
    cluster = Cluster(bindir)
    try:
        cluster.start(synchronous_standby_names="'nobody'", synchronous_commit="on")
        yield cluster
    finally:
        cluster.remove()


def _cancel_waiting(url: str, stop: threading.Event) -> None:
    """An operator who cancels every backend waiting for synchronous replication."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            while not stop.is_set():
                connection.execute(
                    text(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                        "WHERE wait_event = 'SyncRep'"
                    )
                )
                time.sleep(0.1)
    finally:
        engine.dispose()


def test_a_commit_the_standby_never_confirmed_is_not_acknowledged(lonely_primary):
    url = lonely_primary.url
    engine = make_engine(url)
    with engine.begin() as connection:  # (waits: cancelled below like every other)
        pass
    stop = threading.Event()
    operator = threading.Thread(target=_cancel_waiting, args=(url, stop))
    operator.start()
    try:
        sessions = make_sessionmaker(engine)
        with pytest.raises(OperationalError, match="did not confirm"), sessions.begin() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS t (n int)"))  # the ORM's commit
        hot = make_engine(url, isolation_level="AUTOCOMMIT")
        insert = DriverStatement(text("INSERT INTO t VALUES (1) RETURNING n"))
        with hot.connect() as connection, pytest.raises(OperationalError, match="did not"):
            insert.rows(connection, {})  # the hot path's autocommit statement on the driver
        with hot.connect() as connection:  # committed locally all the same: the retry's replay
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
        hot.dispose()
    finally:
        stop.set()
        operator.join(10)
        engine.dispose()
