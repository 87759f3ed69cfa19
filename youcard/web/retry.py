"""The request owns its unit of work, and runs it a second time when the database broke it
off to resolve a conflict between transactions (PostgreSQL's deadlock_detected 40P01 or
serialization_failure 40001): the first attempt was rolled back whole, so running the view
again from the start is safe, and a person sees their change done instead of a 503."""

from __future__ import annotations

import logging
from typing import Any

from flask import g
from sqlalchemy.exc import DBAPIError

from youcard.web.hotpath import SyncFlask

log = logging.getLogger("youcard.web")

TRANSIENT = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_transient(error: DBAPIError) -> bool:
    """Whether the database ended the transaction only to let another one go first."""
    return getattr(error.orig, "sqlstate", None) in TRANSIENT


class UnitOfWorkFlask(SyncFlask):
    """The apps' Flask: a view whose transaction the database broke off as a deadlock or a
    serialization failure is run once more on a fresh transaction (then, if it happens
    again, the error handlers answer 503 with Retry-After as for any lost transaction)."""

    def dispatch_request(self) -> Any:
        """Run the view; once more after a transient conflict."""
        try:
            return super().dispatch_request()
        except DBAPIError as error:
            session = g.get("db_session")
            if not is_transient(error) or session is None:
                raise
            log.warning("transaction conflict, running the request again: %s", error.orig.sqlstate)  # type: ignore[union-attr]
            session.rollback()
            return super().dispatch_request()
