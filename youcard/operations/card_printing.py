"""Printing cards: what goes on a card (front and back), the print queue, the A4 sheets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from youcard import audit
from youcard.db import Session
from youcard.documents import printing
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import CardStatus
from youcard.domain.models import Card, Child, Issuer
from youcard.errors import Conflict
from youcard.policy import DECIDERS, Staff, require_role


def issuer_name(session: Session, issuer_id: str) -> str:
    """The issuer's display name (printed on cards)."""
    issuer = session.get(Issuer, issuer_id)
    return issuer.name if issuer else issuer_id


def office_line(session: Session, issuer_id: str) -> str:
    """Whom to call about a lost card, for the card's back: office and phone, where set."""
    issuer = session.get(Issuer, issuer_id)
    if issuer is None:
        return ""
    parts = [issuer.office_name or issuer.name]
    if issuer.office_phone:
        parts.append(f"Tel. {issuer.office_phone}")
    return " · ".join(parts)


def printed_card(
    session: Session, card: Card, *, issuer: str | None = None, office: str | None = None
) -> printing.PrintedCard:
    """What goes on the printed card: issuer, child's name, validity, QR, short card number,
    and on its back the office to call when it is lost."""
    child = session.get(Child, card.child_id)
    assert child is not None and card.credential is not None
    return printing.PrintedCard(
        office=office if office is not None else office_line(session, card.issuer_id),
        issuer_name=issuer or issuer_name(session, card.issuer_id),
        given_name=child.given_name,
        family_name=child.family_name,
        valid_until=card.valid_until,
        credential=card.credential,
        card_number=card.serial.hex()[:8].upper(),
        directory=_directory(session, card.issuer_id),
    )


def _directory(session: Session, issuer_id: str) -> str:
    issuer = session.get(Issuer, issuer_id)
    return (OfficeDetails.of(issuer).directory_url or "") if issuer is not None else ""


PRINT_PART = 100  # cards per A4 PDF: ten sheets, about a second to set (bench/letters.py)


def _pending(issuer_id: str) -> Select[Card]:
    return select(Card).where(
        Card.issuer_id == issuer_id,
        Card.status == CardStatus.ACTIVE,
        Card.printed_at.is_(None),
        Card.credential.is_not(None),
    )


def pending_print(session: Session, *, issuer_id: str, limit: int | None = None) -> list[Card]:
    """Active cards of the issuer that were never printed, the oldest `limit` (PRINT_PART)."""
    query = _pending(issuer_id).order_by(Card.id).limit(limit or PRINT_PART)
    return list(session.scalars(query))


@dataclass(frozen=True)
class PrintQueue:
    """A page of the cards waiting to be printed (oldest first) with their children's names,
    how many wait in all, and the card after which the next page starts."""

    cards: list[Card]
    names: dict[int, tuple[str, str]]  # card id -> (given name, family name)
    total: int
    next_after: int | None


def print_queue(session: Session, *, by: Staff, limit: int, after: int | None = None) -> PrintQueue:
    """The principal's issuer's print queue, a page at a time (two queries a page)."""
    require_role(by, DECIDERS, "print cards")
    total = session.scalar(select(func.count()).select_from(_pending(by.issuer_id).subquery()))
    query = _pending(by.issuer_id)
    if after is not None:
        query = query.where(Card.id > after)
    cards = list(session.scalars(query.order_by(Card.id).limit(limit + 1)))
    more = len(cards) > limit
    cards = cards[:limit]
    names = {
        card_id: (given, family)
        for card_id, given, family in session.execute(
            select(Card.id, Child.given_name, Child.family_name)
            .join(Child, Child.id == Card.child_id)
            .where(Card.id.in_([c.id for c in cards]))
        )
    }
    return PrintQueue(cards, names, total or 0, cards[-1].id if more and cards else None)


def print_sheet(session: Session, *, by: Staff, now: datetime) -> tuple[bytes, int]:
    """One A4 PDF of the oldest PRINT_PART pending cards of the principal's issuer (marked
    printed; the next ones follow in the next PDF); the PDF and how many cards it holds."""
    require_role(by, DECIDERS, "print cards")
    cards = pending_print(session, issuer_id=by.issuer_id)
    if not cards:
        raise Conflict("No card is waiting to be printed.", code="nothing_to_print")
    name, office = issuer_name(session, by.issuer_id), office_line(session, by.issuer_id)
    printed = []
    for card in cards:
        printed.append(printed_card(session, card, issuer=name, office=office))
        card.printed_at = now
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="cards.print",
        object_type="issuer",
        object_id=by.issuer_id,
        now=now,
        data={"cards": [c.id for c in cards]},
    )
    return printing.sheet_pdf(printed), len(cards)
