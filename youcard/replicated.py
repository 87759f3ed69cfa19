"""No write is acknowledged that the synchronous standby does not have (docs/operations.md
"Failover").

With `synchronous_commit` a commit waits until the standby has its WAL; when the standby is
gone, until someone cancels the wait (pg_cancel_backend, a client's cancel request; the
statement timeout does not reach a commit's wait). PostgreSQL then answers *success* with
only a warning: "canceling wait for synchronous replication ... The transaction has already
committed locally, but might not have been replicated to the standby." A booking answered
201 then could be lost with the primary. So the warning is watched on every connection, and
the statement or commit it came with raises (an OperationalError: the request answers 503
with Retry-After).
The write stays on the primary: the client's retry with the same Idempotency-Key finds it.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

# The warning has no code of its own (01000); its words are the server's lc_messages: English
# "canceling wait for synchronous replication", German "... synchrone Replikation ...".
_WORDS = ("synchron", "síncron")
_seen = threading.local()  # psycopg calls notice handlers in the thread that waits


class NotReplicatedError(Exception):
    """The commit was not confirmed by the synchronous standby before the timeout."""


def watch(engine: Engine) -> None:
    """Watch `engine`'s connections for the warning. Checked (`check`) after each commit of a
    session (youcard.db), after each statement on the driver's own cursor (the hot path's
    DriverStatement), and at the end of a request whose statements committed on their own
    (youcard.web): once per request there, not after every statement (bench/cpu.py)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.add_notice_handler(_notice)


def _notice(diagnostic: Any) -> None:
    said = str(diagnostic.message_primary or "").lower()
    if diagnostic.severity_nonlocalized == "WARNING" and any(word in said for word in _WORDS):
        _seen.pending = True


def check(statement: str = "COMMIT") -> None:
    """Raise (once) if a write of this thread was committed without the standby's word."""
    if getattr(_seen, "pending", False):
        _seen.pending = False
        raise OperationalError(
            statement,
            None,
            NotReplicatedError("the synchronous standby did not confirm the commit in time"),
            hide_parameters=True,
        )
