"""The import's jobs (youcard.jobs.runner): checking the batches uploaded on the page or the API,
and issuing the cards of confirmed batches' children. Each claims its batch (PostgreSQL:
SKIP LOCKED; a claim that made no progress for STALE_AFTER is taken over, and the stale run
notices and stops), works a chunk per transaction, and can be run again at any time."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import sessionmaker

from youcard.db import Session
from youcard.domain.enums import CardStatus
from youcard.domain.models import Card, Child, ImportBatch, ImportLine, StaffUser
from youcard.errors import Conflict
from youcard.imports.batches import check_batch, empty_counts
from youcard.operations.cards import issue_card
from youcard.policy import Staff

STALE_AFTER = timedelta(minutes=10)  # a check that made no progress this long is taken over


class ClaimLost(Exception):
    """Another run took the batch over (this one made no progress for STALE_AFTER)."""


def _claim_next(
    sessions: sessionmaker[Session], now: datetime, *, for_cards: bool = False
) -> tuple[int, str] | None:
    """Take the oldest batch with work for this run — queued (or a check that stalled), or
    confirmed with its cards not issued yet (`for_cards`) — and claim it: on PostgreSQL
    runners at the same time skip each other's rows; SQLite has one writer at a time."""
    stale = now - STALE_AFTER
    if for_cards:
        waiting = and_(
            ImportBatch.status == "confirmed",
            ImportBatch.cards_done_at.is_(None),
            or_(ImportBatch.claim.is_(None), ImportBatch.claimed_at < stale),
        )
    else:
        waiting = or_(
            ImportBatch.status == "queued",
            and_(ImportBatch.status == "checking", ImportBatch.claimed_at < stale),
        )
    with sessions.begin() as session:
        batch = session.scalars(
            select(ImportBatch)
            .where(waiting)
            .order_by(ImportBatch.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if batch is None:
            return None
        claim = secrets.token_hex(16)
        batch.claim, batch.claimed_at = claim, now
        if not for_cards:
            if batch.status == "checking":  # its run stopped half-way: again from line 1
                session.execute(delete(ImportLine).where(ImportLine.batch_id == batch.id))
            batch.status, batch.lines_done = "checking", 0
            batch.counts = json.dumps(empty_counts())
        return batch.id, claim


def _still_mine(session: Session, batch: ImportBatch, claim: str, now: datetime) -> None:
    """Lock the batch's row; ClaimLost if another run took it over; else the heartbeat."""
    current = session.scalar(
        select(ImportBatch.claim).where(ImportBatch.id == batch.id).with_for_update()
    )
    if current != claim:
        raise ClaimLost
    batch.claimed_at = now


def check_waiting_imports(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """The job: check every queued batch, committing a chunk at a time (progress shows on the
    page; a run that dies leaves stored lines that the next run deletes and checks again).
    Returns how many batches this run checked."""
    checked = 0
    while (claimed := _claim_next(sessions, now())) is not None:
        checked += _check_claimed(sessions, *claimed, now)
    return checked


def _check_claimed(
    sessions: sessionmaker[Session], batch_id: int, claim: str, now: Callable[[], datetime]
) -> bool:
    with sessions() as session:

        def still_mine(batch: ImportBatch, final: bool) -> None:
            _still_mine(session, batch, claim, now())
            if not final:  # the chunk is kept, the run's heartbeat too
                session.commit()

        try:
            check_batch(
                session, session.get_one(ImportBatch, batch_id), now=now(), checkpoint=still_mine
            )
            session.commit()
        except ClaimLost:
            session.rollback()
            return False
    return True


CARD_CHUNK = 200  # cards issued per transaction


def issue_import_cards(
    sessions: sessionmaker[Session], now: Callable[[], datetime], *, kek: Callable[[], bytes]
) -> int:
    """The job after a confirmation: a card for every child of the batch who has a current
    approval and no card in use, as the person who confirmed it (cards then wait in the
    print queue, as after any approval). A chunk per transaction; a child who already has a
    card, or no current approval, is passed over, so a second run issues nothing twice.
    `kek` is asked for only when there is work. Returns how many cards this run issued."""
    issued = 0
    while (claimed := _claim_next(sessions, now(), for_cards=True)) is not None:
        batch_id, claim = claimed
        try:
            issued += _issue_cards(sessions, batch_id, claim, now, kek())
        except ClaimLost:
            continue
    return issued


def _issue_cards(
    sessions: sessionmaker[Session],
    batch_id: int,
    claim: str,
    now: Callable[[], datetime],
    kek: bytes,
) -> int:
    issued, after = 0, 0
    with sessions() as session:
        batch = session.get_one(ImportBatch, batch_id)
        confirmer = session.get_one(StaffUser, batch.confirmed_by_id)
        by = Staff.of(confirmer)
        while True:
            child_ids = session.scalars(
                select(Child.id)
                .join(ImportLine, ImportLine.child_ref == Child.child_ref)
                .where(
                    ImportLine.batch_id == batch.id,
                    Child.issuer_id == batch.issuer_id,
                    Child.id > after,
                    ImportLine.outcome != "refused",
                )
                .group_by(Child.id)
                .order_by(Child.id)
                .limit(CARD_CHUNK)
            ).all()
            if not child_ids:
                break
            after = child_ids[-1]
            holders = set(
                session.scalars(
                    select(Card.child_id).where(
                        Card.child_id.in_(child_ids), Card.status == CardStatus.ACTIVE
                    )
                )
            )
            made = 0
            for child_id in child_ids:
                if child_id in holders:
                    continue
                try:
                    with session.begin_nested():
                        issue_card(session, by=by, child_id=child_id, now=now(), kek=kek)
                    made += 1
                except Conflict as error:
                    if error.code not in ("card_exists", "nothing_approved"):
                        raise  # no signing key: the next run tries again
            _still_mine(session, batch, claim, now())
            batch.cards_issued += made
            issued += made
            session.commit()
        _still_mine(session, batch, claim, now())
        batch.cards_done_at, batch.claim = now(), None
        session.commit()
    return issued
