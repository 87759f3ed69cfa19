"""Append audit events, seal them into a per-issuer hash chain, and verify the chain.

Appending is a plain INSERT in the operation's own transaction, so bookings on
different entitlements never wait for each other. Sealing (`youcard audit seal`,
run after changes and periodically) takes the chain's head row lock, gives the
unsealed events their place in id order and chains their hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, String, Table, func, literal, select, update
from sqlalchemy import cast as sa_cast

from youcard.db import Session
from youcard.domain.models import AuditEvent, AuditHead
from youcard.domain.models.types import UTCDateTime

GENESIS = bytes(32)
_INSERT = cast(Table, AuditEvent.__table__).insert()  # Core: appending is on every hot path
SEAL_BATCH = 5000


def record(
    session: Session,
    *,
    issuer_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    now: datetime,
    data: dict[str, Any] | None = None,
    raw_data: str | None = None,
) -> None:
    """Append one unsealed event: `actor` did `action` to `object_type` `object_id` at `now`.

    `raw_data` is `data` already made canonical (`canonical_json`)."""
    session.connection().execute(  # Core on the connection: no ORM overhead on the hot path
        _INSERT,
        {
            "issuer_id": issuer_id,
            "occurred_at": now,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "data": raw_data if raw_data is not None else canonical_json(data or {}),
        },
    )


def record_for_each(
    session: Session,
    *,
    issuer_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_ids: Select[Any],
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one unsealed event per row of `object_ids` (a SELECT of one id column), all
    with the same actor, action, time and data, in one INSERT ... SELECT (an import's
    thousands of entitlements: no row travels through Python)."""
    ids = object_ids.subquery()
    id_column = next(iter(ids.c))
    session.connection().execute(
        cast(Table, AuditEvent.__table__)
        .insert()
        .from_select(
            ["issuer_id", "occurred_at", "actor", "action", "object_type", "object_id", "data"],
            select(
                literal(issuer_id),
                literal(now, UTCDateTime()),
                literal(actor),
                literal(action),
                literal(object_type),
                sa_cast(id_column, String()),
                literal(canonical_json(data or {})),
            ),
        )
    )


def canonical_json(value: Any) -> str:
    """The text an event's data is stored and hashed as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_CONTENT = (
    AuditEvent.id,
    AuditEvent.issuer_id,
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.data,
)


def event_hash(prev_hash: bytes, seq: int, event: Any) -> bytes:
    """SHA-256 over the previous hash, the position and the event's canonical content."""
    content = canonical_json(
        [
            seq,
            event.id,
            event.issuer_id,
            event.occurred_at.isoformat(),
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            event.data,
        ]
    )
    return hashlib.sha256(prev_hash + content.encode("utf-8")).digest()


def seal(session: Session, issuer_id: str) -> int:
    """Chain every unsealed event of the issuer; returns how many were sealed."""
    head = session.scalars(
        select(AuditHead).where(AuditHead.issuer_id == issuer_id).with_for_update()
    ).one_or_none()
    if head is None:
        head = AuditHead(issuer_id=issuer_id, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    sealed = 0
    while True:
        events = session.execute(
            select(*_CONTENT)
            .where(AuditEvent.issuer_id == issuer_id, AuditEvent.seq.is_(None))
            .order_by(AuditEvent.id)
            .limit(SEAL_BATCH)
        ).all()
        if not events:
            return sealed
        rows = []
        seq, digest = head.seq, head.hash
        for event in events:
            seq += 1
            digest = event_hash(digest, seq, event)
            rows.append({"id": event.id, "seq": seq, "hash": digest})
        session.execute(update(AuditEvent), rows)
        head.seq, head.hash = seq, digest
        session.flush()
        sealed += len(rows)


@dataclass(frozen=True)
class ChainProblem:
    """A place where the chain does not hold."""

    issuer_id: str
    seq: int | None
    problem: str


def verify(session: Session, issuer_id: str | None = None) -> list[ChainProblem]:
    """Recompute every issuer's chain, or only `issuer_id`'s; an empty list means nothing was
    edited or deleted."""
    problems: list[ChainProblem] = []
    heads = {h.issuer_id: h for h in session.scalars(select(AuditHead))}
    issuers = set(heads) | set(
        session.scalars(select(AuditEvent.issuer_id).where(AuditEvent.seq.is_not(None)).distinct())
    )
    if issuer_id is not None:
        issuers &= {issuer_id}
    for issuer_id in sorted(issuers):
        problems.extend(_verify_chain(session, issuer_id, heads.get(issuer_id)))
    return problems


def _verify_chain(
    session: Session, issuer_id: str, head: AuditHead | None
) -> Iterator[ChainProblem]:
    expected_seq, prev = 0, GENESIS
    for event in session.execute(
        select(*_CONTENT, AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.issuer_id == issuer_id, AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    ):
        expected_seq += 1
        if event.seq != expected_seq:
            yield ChainProblem(issuer_id, expected_seq, "missing event")
            expected_seq = event.seq
        if event.hash != event_hash(prev, event.seq, event):
            yield ChainProblem(issuer_id, event.seq, "hash does not match the content")
        prev = event.hash
    if head is None:
        if expected_seq:
            yield ChainProblem(issuer_id, None, "chain head missing")
        return
    if head.seq != expected_seq or head.hash != prev:
        yield ChainProblem(issuer_id, head.seq, "chain head does not match the last event")


def unsealed_count(session: Session) -> int:
    """Events not yet sealed into a chain."""
    return (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
        or 0
    )
