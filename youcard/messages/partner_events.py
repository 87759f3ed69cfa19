"""What tells a partner something, by e-mail to its contact address: each called by the
operation or job of its cause, inside its unit of work. A partner without a contact address
hears nothing but what its pages show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.models import Partner, SettlementPayment
from youcard.messages.outbox import tell_partner


def _iban_end(iban: str) -> str:
    """The last four characters: enough to recognise one's account, not to use it."""
    return iban.replace(" ", "")[-4:]


def credit_notes_ready(session: Session, *, settlement_id: int, month: date, now: datetime) -> int:
    """A settlement was finalized: each partner it pays gets its credit note (the PDF goes
    with the e-mail, made when it is sent)."""
    rows = session.execute(
        select(SettlementPayment, Partner)
        .join(Partner, Partner.id == SettlementPayment.partner_id)
        .where(SettlementPayment.settlement_id == settlement_id, Partner.contact_email.is_not(None))
        .order_by(SettlementPayment.id)
    ).all()
    return sum(
        tell_partner(
            session,
            partner,
            event="credit_note_ready",
            key=f"credit_note_ready:{payment.id}",
            facts={
                "payment_id": payment.id,
                "number": payment.end_to_end_id,
                "month": f"{month:%m/%Y}",
                "amount_cents": payment.amount_cents,
                "iban_end": _iban_end(payment.iban),
            },
            now=now,
        )
        for payment, partner in rows
    )


def instalments_refused(
    session: Session, refused: Iterable[tuple[int, int, str, int, str, str]], now: datetime
) -> int:
    """Monthly bookings under mandates were refused: (mandate id, partner id, reference,
    amount in cents, month YYYY-MM, the refusal's code) each; one message per mandate and
    month."""
    told = 0
    for mandate_id, partner_id, reference, cents, month, reason in refused:
        partner = session.get(Partner, partner_id)
        if partner is None or partner.contact_email is None:
            continue
        told += tell_partner(
            session,
            partner,
            event="instalment_refused",
            key=f"instalment_refused:{mandate_id}:{month}",
            facts={
                "reference": reference,
                "amount_cents": cents,
                "month": f"{month[5:]}/{month[:4]}",
                "reason": reason,
            },
            now=now,
        )
    return told


def bank_details(session: Session, partner: Partner, *, confirmed: bool, now: datetime) -> int:
    """A new IBAN was asked for (`confirmed` False: it waits for a second administrator)
    or confirmed: the contact hears of it either way, in time to object."""
    iban = partner.iban if confirmed else partner.pending_iban
    if iban is None:
        return 0
    event = "bank_details_changed" if confirmed else "bank_details_asked"
    return tell_partner(
        session,
        partner,
        event=event,
        key=f"{event}:{partner.id}:{now.isoformat()}",
        facts={"partner": partner.name, "iban_end": _iban_end(iban)},
        now=now,
    )


def contact_changed(session: Session, partner: Partner, *, old: str | None, now: datetime) -> int:
    """The partner's contact address changed: the old address and the new one hear it (a
    change made to divert the city's messages does not go unnoticed)."""
    new = partner.contact_email
    return tell_partner(
        session,
        partner,
        event="contact_changed",
        key=f"contact_changed:{partner.id}:{now.isoformat()}",
        facts={"partner": partner.name, "old": old or "-", "new": new or "-"},
        now=now,
        to=[old, new],
    )
