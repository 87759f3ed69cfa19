"""Demo data: a small, believable Hamm. Seeding is idempotent; a second run changes nothing.

Passwords and device tokens are random, made on the first run and kept in
`instance/demo-credentials.json` (mode 0600) so that later runs can print them
again; the database holds only their hashes.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from youcard.cli.demo_directory import seed_directory
from youcard.clock import berlin_date, berlin_midnight
from youcard.credentials import trust
from youcard.db import Session
from youcard.domain import access_codes, budget
from youcard.domain.contacts import Contact, OfficeDetails
from youcard.domain.entitlement_rules import availability, school_year_end, usable_period
from youcard.domain.enums import Category, EntitlementStatus, Role, RuleKind
from youcard.domain.models import Card, Child, Entitlement, Household, Issuer, Partner, StaffUser
from youcard.operations import family, settlements
from youcard.operations.booking import book
from youcard.operations.cards import active_card, issue_card
from youcard.operations.contacts import set_office_details
from youcard.operations.entitlements import approve_entitlement, record_entitlement
from youcard.operations.households import add_child, create_household
from youcard.operations.issuers import create_issuer, set_issuer_account
from youcard.operations.partners import create_device_token, create_partner, create_partner_user
from youcard.operations.staff_accounts import create_staff_user
from youcard.policy import Staff
from youcard.reads.counter import partner_counter

ISSUER_ID = "DE-NW-HAMM"
ISSUER_NAME = "Stadt Hamm"
SECRETS_FILE = "demo-credentials.json"
ACTOR = "system:demo"
SYSTEM = Staff.system(ISSUER_ID, ACTOR)  # the demo data acts for the demo city

STAFF = [
    ("caseworker", "Sachbearbeitung (Demo)", Role.CASEWORKER),
    ("approver", "Freigabe (Demo)", Role.APPROVER),
    ("admin", "Administration (Demo)", Role.ADMINISTRATOR),
]

PARTNERS = [
    ("TuS Hamm 1898 e. V.", "DE47410500950012345678", {Category.PARTICIPATION}),
    ("Schulmensa Friedensschule", "DE37410400180098765432", {Category.LUNCH}),
    ("Lernstudio Hamm-Mitte", "DE24440501990004711081", {Category.TUTORING}),
]
DEMO_IBAN = "DE02120300000000202051"  # a well-known example IBAN, not a real city account
# One scanner-page login per partner (partner name -> username).
PARTNER_LOGINS = {
    "TuS Hamm 1898 e. V.": "tus-kasse",
    "Schulmensa Friedensschule": "mensa-kasse",
    "Lernstudio Hamm-Mitte": "lernstudio-kasse",
}

OFFICE = OfficeDetails(
    name="Stadt Hamm, Bildung und Teilhabe (Demo)",
    street="Theodor-Heuss-Platz 16",
    postal_code="59065",
    city="Hamm",
    phone="02381 17-0",
    email="but@stadt-hamm.example",
    hours="Mo–Fr 8–12 Uhr, Do 14–17 Uhr",
    family_url="http://localhost:5001/family",
)
CONTACTS = {  # the letters' addresses and languages
    "HAM-2026-0001": Contact(street="Ostring 5", postal_code="59065", city="Hamm", language="tr"),
    "HAM-2026-0002": Contact(street="Nordstraße 12", postal_code="59065", city="Hamm"),
    "HAM-2026-0003": Contact(street="Südring 7", postal_code="59063", city="Hamm", language="uk"),
}

HOUSEHOLDS = [
    (
        "HAM-2026-0001",
        "Yılmaz",
        [
            ("Elif", date(2015, 3, 14), [Category.PARTICIPATION, Category.LUNCH]),
            ("Can", date(2011, 9, 2), [Category.PARTICIPATION, Category.TUTORING]),
        ],
    ),
    (
        "HAM-2026-0002",
        "Schneider",
        [("Mia", date(2017, 6, 21), [Category.PARTICIPATION, Category.LUNCH])],
    ),
    (
        "HAM-2026-0003",
        "Nowak",
        [("Lena", date(2009, 1, 30), [Category.PARTICIPATION, Category.TUTORING])],
    ),
]


@dataclass
class DemoData:
    """What `youcard demo` prints (the keys of docs/architecture.md)."""

    issuer_url: str
    redeemer_url: str
    staff: list[dict[str, Any]] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    families: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def _load_secrets(instance_path: Path) -> dict[str, dict[str, str]]:
    """The demo passwords and tokens, made once (mode 0600) and read back afterwards."""
    path = instance_path / SECRETS_FILE
    if path.exists():
        loaded: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        if "family_codes" in loaded:
            return loaded
        path.unlink()  # made before the scanner page had logins: make them all anew
    instance_path.mkdir(parents=True, exist_ok=True)
    made = {
        "staff": {username: secrets.token_urlsafe(12) for username, _, _ in STAFF},
        "partners": {name: f"ycd_{secrets.token_urlsafe(32)}" for name, _, _ in PARTNERS},
        "partner_users": {login: secrets.token_urlsafe(12) for login in PARTNER_LOGINS.values()},
        "family_codes": {
            reference: access_codes.shown(access_codes.random_code())
            for reference, _, _ in HOUSEHOLDS
        },
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(made, fh, indent=2)
    return made


def demo_period(today: date) -> tuple[date, date]:
    """A 12-month approval period that began on the 1st two months ago."""
    start = budget.add_months(today.replace(day=1), -2)
    return start, budget.add_months(start, 12) - timedelta(days=1)


def seed(session: Session, *, instance_path: Path, now: datetime, kek: bytes) -> bool:
    """Create the demo data unless the demo issuer exists; True when something was made."""
    if session.get(Issuer, ISSUER_ID) is not None:
        return False
    made = _load_secrets(instance_path)
    valid_from, valid_until = demo_period(berlin_date(now))
    today, now = now, berlin_midnight(valid_from) + timedelta(hours=8)  # set up back then
    create_issuer(session, by=SYSTEM, name=ISSUER_NAME, kek=kek, now=now)
    set_office_details(session, by=SYSTEM, details=OFFICE, now=now)
    set_issuer_account(  # an example account, so that the settlement's SEPA file can be made
        session, by=SYSTEM, iban=DEMO_IBAN, bic=None, now=now
    )
    staff = {
        username: create_staff_user(
            session,
            by=SYSTEM,
            username=username,
            display_name=display_name,
            role=role,
            password=made["staff"][username],
            now=now,
        ).user
        for username, display_name, role in STAFF
    }
    partners, partner_users = {}, {}
    for name, iban, categories in PARTNERS:
        partners[name] = partner = create_partner(
            session,
            by=SYSTEM,
            name=name,
            iban=iban,
            permissions={ISSUER_ID: categories},
            now=now,
            active=True,
        )
        create_device_token(
            session,
            by=SYSTEM,
            partner_id=partner.id,
            name="Demo-Scanner",
            now=now,
            token=made["partners"][name],
        )
        login = PARTNER_LOGINS[name]
        partner_users[name] = create_partner_user(
            session,
            by=SYSTEM,
            partner_id=partner.id,
            username=login,
            display_name=f"Kasse {name}",
            password=made["partner_users"][login],
            now=now,
        )
    seed_directory(session, by=SYSTEM, partners=partners, users=partner_users, now=now)
    cards: list[tuple[Card, Category]] = []
    for reference, family_name, children in HOUSEHOLDS:
        household = create_household(
            session,
            by=SYSTEM,
            reference=reference,
            family_name=family_name,
            contact=CONTACTS[reference],
            now=now,
        )
        family.new_access_code(
            session,
            household_id=household.id,
            by=SYSTEM,
            now=now,
            code=made["family_codes"][reference],
        )
        for given_name, birth_date, child_categories in children:
            child = add_child(
                session,
                by=SYSTEM,
                household_id=household.id,
                given_name=given_name,
                family_name=family_name,
                birth_date=birth_date,
                now=now,
            )
            for category in child_categories:
                entitlement = record_entitlement(
                    session,
                    child_id=child.id,
                    category=category,
                    valid_from=valid_from,
                    valid_until=(
                        min(valid_until, school_year_end(valid_from))
                        if category is Category.TUTORING
                        else valid_until
                    ),
                    by=Staff.of(staff["caseworker"]),
                    now=now,
                )
                approve_entitlement(
                    session,
                    entitlement_id=entitlement.id,
                    by=Staff.of(staff["approver"]),
                    now=now,
                    kek=kek,
                )
            card = issue_card(session, child_id=child.id, by=SYSTEM, now=now, kek=kek)
            cards += [(card, category) for category in child_categories]
    _bookings_and_settlement(session, cards, valid_from, today)
    return True


# What each partner books per child and month: (day of month, amount in cents, units).
STORY: dict[Category, list[tuple[int, int, int | None]]] = {
    Category.PARTICIPATION: [(5, 1500, None)],  # the club's monthly fee
    Category.LUNCH: [(3, 450, 1), (4, 450, 1), (10, 450, 1)],
    Category.TUTORING: [(6, 2500, 1), (13, 2500, 1)],
}


def _bookings_and_settlement(
    session: Session, cards: list[tuple[Card, Category]], valid_from: date, now: datetime
) -> None:
    """Two months of bookings: the first month settled (credit notes, payment file, reports),
    last month booked but not settled yet, to try the settlement on."""
    ids = {
        row.name: row.id
        for row in session.execute(
            select(Partner.name, Partner.id).where(Partner.issuer_id == ISSUER_ID)
        )
    }
    counters = {
        name: counter
        for name in ids
        if (counter := partner_counter(session, ids[name])) is not None
    }
    partner_of = {category: counters[name] for name, _, cats in PARTNERS for category in cats}
    trusted = trust.trusted_keys(session, ISSUER_ID)
    last_month = budget.add_months(berlin_date(now).replace(day=1), -1)
    for month in (valid_from, last_month):
        for card, category in cards:
            for day, amount, units in STORY[category]:
                moment = berlin_midnight(month.replace(day=day)) + timedelta(hours=11)
                book(
                    session,
                    by=partner_of[category],
                    credential=card.credential,
                    trusted=trusted,
                    category=category,
                    amount_cents=amount,
                    units=units,
                    idempotency_key=f"demo-{card.id}-{category.value}-{month:%Y-%m}-{day}",
                    now=moment,
                )
    if valid_from < last_month:
        moment = berlin_midnight(last_month) + timedelta(days=1, hours=9)
        run = settlements.prepare(session, by=SYSTEM, month=valid_from, now=moment)
        settlements.finalize(session, by=SYSTEM, settlement_id=run.id, now=moment)


def _usable_until(entitlement: Entitlement, birth_date: date | None) -> date:
    period = usable_period(entitlement, birth_date)
    return entitlement.valid_until if period is None else period.end


def describe(
    session: Session, *, instance_path: Path, now: datetime, issuer_url: str, redeemer_url: str
) -> DemoData:
    """What a newcomer needs: URLs, logins, partners with tokens, children with their cards."""
    path = instance_path / SECRETS_FILE
    made = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data = DemoData(issuer_url=issuer_url, redeemer_url=redeemer_url)
    today = berlin_date(now)
    for user in session.scalars(
        select(StaffUser).where(StaffUser.issuer_id == ISSUER_ID).order_by(StaffUser.id)
    ):
        password = made.get("staff", {}).get(user.username)
        data.staff.append(
            {
                "username": user.username,
                "password": password,
                "role": user.role.value,
            }
        )
    for partner in session.scalars(
        select(Partner).where(Partner.issuer_id == ISSUER_ID).order_by(Partner.id)
    ):
        data.partners.append(
            {
                "name": partner.name,
                "categories": sorted(p.category.value for p in partner.permissions),
                "token": made.get("partners", {}).get(partner.name),
                "login": PARTNER_LOGINS.get(partner.name),
                "password": made.get("partner_users", {}).get(PARTNER_LOGINS.get(partner.name, "")),
            }
        )
    for reference, family_name, members in HOUSEHOLDS:
        data.families.append(
            {
                "reference": reference,
                "family_name": family_name,
                "access_code": made.get("family_codes", {}).get(reference),
                "birth_dates": [born.isoformat() for _, born, _ in members],
                "children": [
                    {"given_name": name, "birth_date": born.isoformat()}
                    for name, born, _ in members
                ],
            }
        )
    for child in session.scalars(
        select(Child)
        .join(Household, Household.id == Child.household_id)
        .where(Child.issuer_id == ISSUER_ID)
        .order_by(Household.reference, Child.id)
    ):
        card = active_card(session, child.id)
        entitlements = session.scalars(
            select(Entitlement)
            .where(
                Entitlement.child_id == child.id, Entitlement.status == EntitlementStatus.APPROVED
            )
            .order_by(Entitlement.id)
        )
        data.children.append(
            {
                "given_name": child.given_name,
                "family_name": child.family_name,
                "birth_date": child.birth_date.isoformat() if child.birth_date else None,
                "card_serial": card.serial.hex() if card else None,
                "credential": card.credential if card else None,
                "entitlements": [
                    {
                        "category": e.category.value,
                        "available_cents": availability(e, child.birth_date, today).cents,
                        "available_units": availability(e, child.birth_date, today).units,
                        "unit_cap_cents": e.amount_cents if e.rule is RuleKind.UNITS else None,
                        "units_per_day": e.units_per_day,
                        "valid_until": _usable_until(e, child.birth_date).isoformat(),
                    }
                    for e in entitlements
                ],
            }
        )
    return data
