"""The failover drill (youcard.drills.failover, `youcard drill failover`): a primary with a
synchronous standby, the redeemer under gunicorn on the multi-host URL, clients booking;
the primary's host dies and the standby is promoted. Every booking a client saw answered
201 is on the new primary, none twice, the ledger check and the audit chain are clean, the
requests in flight were answered 503 with Retry-After (never 500), and the service was
back within 30 seconds. Two clusters of its own: never the shared server."""

from __future__ import annotations

import pytest

from youcard.drills import failover
from youcard.drills.cluster import can_make_clusters


def test_the_primary_dies_and_no_booking_a_client_saw_is_lost(database_url, tmp_path, capsys):
    if not database_url.startswith("postgresql"):
        pytest.skip("the failover drill runs on PostgreSQL")
    if not can_make_clusters():
        pytest.skip("no PostgreSQL server programs to make clusters with")
    result = failover.run(tmp_path, kill="primary", seconds_before=2, seconds_after=3)
    assert result.answered > 100, result.statuses
    assert (result.missing, result.duplicated) == (0, 0)
    assert result.ledger == [] and result.audit == []
    assert set(result.statuses) <= {0, 201, 503}, result.statuses  # never a 500
    assert 503 not in result.statuses or result.retry_after == {"2"}
    assert result.figures["seconds without service"] < 30
    assert result.ok
    with capsys.disabled():
        print(
            f"\nfailover drill: {result.answered:,} bookings answered 201, 0 lost, 0 twice; "
            f"answers {result.statuses}"
        )
        for name, seconds in result.figures.items():
            print(f"  {name:<32} {seconds:6.2f} s")


def test_the_standby_dies_bookings_wait_and_nothing_acknowledged_is_lost(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the failover drill runs on PostgreSQL")
    if not can_make_clusters():
        pytest.skip("no PostgreSQL server programs to make clusters with")
    result = failover.run(tmp_path, kill="standby", seconds_before=1, seconds_after=1)
    assert result.answered > 50 and (result.missing, result.duplicated) == (0, 0)
    assert set(result.statuses) <= {0, 201, 503}, result.statuses
    assert result.ledger == [] and result.audit == [] and result.ok
