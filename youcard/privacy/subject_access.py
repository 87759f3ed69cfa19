"""A family's own data (GDPR Art. 15): everything YouCard holds about a household — the
people, the benefits, the cards, the bookings, the standing authorizations, who of the
city's staff looked at it — as JSON and as a readable PDF. For the city's staff (who hand
it out on request) and for the family itself in the family area.

Never in it: secrets (the access code's hash, passwords), other families' data, the signing
keys; a partner appears by its name only."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from youcard.db import Session
from youcard.documents.pdf_text import ShapingPDF
from youcard.documents.spreadsheets import euros
from youcard.domain.models import (
    AccessEvent,
    Booking,
    Card,
    Child,
    Entitlement,
    Household,
    Issuer,
    Mandate,
    Partner,
)
from youcard.errors import NotFound
from youcard.policy import ALL_STAFF, Family, Staff, require_role, staff_actor


def _day(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def household_data(session: Session, *, by: Staff | Family, household_id: int) -> dict[str, Any]:
    """Everything about the household, as plain data (the JSON export)."""
    if isinstance(by, Staff):
        require_role(by, ALL_STAFF, "export a family's data")
    household = session.get(Household, household_id)
    if (
        household is None
        or household.issuer_id != by.issuer_id
        or (isinstance(by, Family) and by.household_id != household.id)
    ):
        raise NotFound("No such family.", code="household_not_found")
    issuer = session.get(Issuer, household.issuer_id)
    children = session.scalars(
        select(Child).where(Child.household_id == household.id).order_by(Child.id)
    ).all()
    child_ids = [c.id for c in children]
    partners = {pid: name for pid, name in session.execute(select(Partner.id, Partner.name))}
    data: dict[str, Any] = {
        "controller": {
            "name": issuer.office_name or issuer.name if issuer else household.issuer_id,
            "street": issuer.office_street if issuer else None,
            "postal_code": issuer.office_postal_code if issuer else None,
            "city": issuer.office_city if issuer else None,
            "email": issuer.office_email if issuer else None,
        },
        "household": {
            "reference": household.reference,
            "family_name": household.family_name,
            "street": household.street,
            "postal_code": household.postal_code,
            "city": household.city,
            "email": household.email,
            "phone": household.phone,
            "language": household.language,
            "recorded": _day(household.created_at),
            "access_code_set": _day(household.access_code_set_at),
        },
        "children": [],
    }
    for child in children:
        entitlements = session.scalars(
            select(Entitlement).where(Entitlement.child_id == child.id).order_by(Entitlement.id)
        ).all()
        bookings = session.scalars(
            select(Booking)
            .where(Booking.entitlement_id.in_([e.id for e in entitlements]))
            .order_by(Booking.id)
        ).all()
        data["children"].append(
            {
                "given_name": child.given_name,
                "family_name": child.family_name,
                "birth_date": _day(child.birth_date),
                "recorded": _day(child.created_at),
                "benefits": [
                    {
                        "category": e.category.value,
                        "status": e.status.value,
                        "from": _day(e.valid_from),
                        "until": _day(e.valid_until),
                        "approved_cents": e.cap_cents,
                        "booked_cents": e.spent_cents,
                        "legal_basis": e.legal_basis,
                    }
                    for e in entitlements
                ],
                "cards": [
                    {
                        "number": c.serial.hex()[:8].upper(),
                        "status": c.status.value,
                        "issued": _day(c.issued_at),
                        "valid_until": _day(c.valid_until),
                        "blocked": _day(c.revoked_at),
                    }
                    for c in session.scalars(
                        select(Card).where(Card.child_id == child.id).order_by(Card.id)
                    )
                ],
                "bookings": [
                    {
                        "booked": _day(b.created_at),
                        "service_date": _day(b.service_date),
                        "partner": partners.get(b.partner_id, ""),
                        "category": b.category.value,
                        "kind": b.kind.value,
                        "amount_cents": b.amount_cents,
                        "units": b.units,
                    }
                    for b in bookings
                ],
                "standing_authorizations": [
                    {
                        "partner": partners.get(m.partner_id, ""),
                        "category": m.category.value,
                        "monthly_amount_cents": m.monthly_amount_cents,
                        "since": _day(m.valid_from),
                        "status": m.status,
                        "ended": _day(m.ended_at),
                    }
                    for m in session.scalars(
                        select(Mandate).where(Mandate.child_id == child.id).order_by(Mandate.id)
                    )
                ],
            }
        )
    views = session.scalars(
        select(AccessEvent)
        .where(
            AccessEvent.issuer_id == household.issuer_id,
            ((AccessEvent.object_type == "household") & (AccessEvent.object_id == household.id))
            | ((AccessEvent.object_type == "child") & AccessEvent.object_id.in_(child_ids)),
        )
        .order_by(AccessEvent.id)
    ).all()
    data["viewed_by_staff"] = [
        {"when": _day(v.viewed_at), "staff_member": staff_actor(v.staff_user_id), "via": v.via}
        for v in views
    ]
    return data


def household_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def household_pdf(data: dict[str, Any]) -> bytes:
    """The same data, readable (German; the labels of a data access request)."""
    pdf = ShapingPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title("Auskunft nach Art. 15 DSGVO")
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.set_font("DejaVu", "B", 12)
        pdf.ln(3)
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, "Auskunft nach Art. 15 DSGVO – YouCard", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    controller = data["controller"]
    line(f"Verantwortlich: {controller['name']}")
    household = data["household"]
    heading(f"Familie {household['family_name']} ({household['reference']})")
    for label, key in (
        ("Straße", "street"),
        ("PLZ", "postal_code"),
        ("Ort", "city"),
        ("E-Mail", "email"),
        ("Telefon", "phone"),
        ("Sprache", "language"),
        ("Erfasst am", "recorded"),
    ):
        if household.get(key):
            line(f"{label}: {household[key]}")
    for child in data["children"]:
        heading(f"{child['given_name']} {child['family_name']}, geboren {child['birth_date']}")
        for b in child["benefits"]:
            cap = b["approved_cents"]
            approved = "" if cap is None else f", bewilligt {euros(cap)} €"
            line(
                f"Leistung {b['category']} ({b['status']}) {b['from']} – {b['until']}{approved}, "
                f"gebucht {euros(b['booked_cents'])} €"
            )
        for c in child["cards"]:
            line(f"Karte {c['number']}: {c['status']}, ausgestellt {c['issued']}")
        for m in child["standing_authorizations"]:
            line(f"Dauerauftrag {m['partner']} ({m['category']}) seit {m['since']}: {m['status']}")
        for b in child["bookings"]:
            sign = "-" if b["kind"] == "cancellation" else ""
            line(
                f"{b['service_date']}  {b['partner']}  {b['category']}  "
                f"{sign}{euros(b['amount_cents'])} €"
            )
    heading("Zugriffe der Verwaltung")
    for view in data["viewed_by_staff"] or [{"when": "keine", "staff_member": "", "via": ""}]:
        line(f"{view['when']}  {view['staff_member']}  {view['via']}")
    return bytes(pdf.output())
