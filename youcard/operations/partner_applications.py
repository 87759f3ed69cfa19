"""Partners who apply themselves: the city publishes its terms (versioned), anyone submits
an application on the public page, and an administrator approves it (the partner, its
offers and its first login come into being; the one-time password goes to the applicant
by e-mail, sealed in the outbox until sent, and is shown once for printing) or refuses it
with a reason (told to the applicant). Every value passes the rules the office's own pages
use: names, postal codes, phone numbers, e-mail addresses, IBANs, free texts."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from youcard import audit
from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import Issuer, PartnerApplication, PartnerOffer, PartnerTerms
from youcard.domain.search import fold
from youcard.errors import Conflict, InvalidRequest, NotFound
from youcard.messages.outbox import SEALED, tell_addresses
from youcard.messages.sealed import seal
from youcard.operations.contacts import email_address, phone_number, postal_code
from youcard.operations.partner_profile import checked_offer
from youcard.operations.partners import create_partner, create_partner_user
from youcard.operations.staff_accounts import one_time_password
from youcard.operations.values import clean_free_text, clean_name, valid_iban
from youcard.policy import ADMINISTRATORS, Staff, require_role

# The legal forms an applicant chooses from (the page names them in words)
LEGAL_FORMS = ("ev", "ggmbh", "gmbh", "gbr", "sole", "freelance", "public", "church", "other")
MAX_TERMS = 20_000  # characters of one version of the terms
MAX_REASON = 500
APPLICANT = "public:applicant"  # the audit log's actor for an application as submitted


@dataclass(frozen=True)
class Offer:
    """What the applicant offers in a category, and its price, in its own words."""

    category: str
    description: str
    price: str


@dataclass(frozen=True)
class Application:
    """An application as the form sends it (unchecked)."""

    issuer_id: str
    name: str
    legal_form: str
    street: str
    postal_code: str
    city: str
    district: str | None
    contact_person: str
    email: str
    phone: str | None
    opening_hours: str | None
    accessibility: str | None
    iban: str
    account_holder: str
    offers: tuple[Offer, ...]
    terms_version: int | None
    terms_accepted: bool


def current_terms(session: Session, issuer_id: str) -> PartnerTerms | None:
    """The newest published version of the issuer's terms for partners."""
    return session.scalars(
        select(PartnerTerms)
        .where(PartnerTerms.issuer_id == issuer_id)
        .order_by(PartnerTerms.version.desc())
        .limit(1)
    ).first()


def publish_terms(session: Session, *, by: Staff, text: str, now: datetime) -> PartnerTerms:
    """A new version of the principal's issuer's terms (administrators): applications from
    now on accept it; the earlier ones keep naming theirs."""
    require_role(by, ADMINISTRATORS, "publish the terms for partners")
    checked = clean_free_text(text, "terms", MAX_TERMS)
    if checked is None:
        raise InvalidRequest("The terms are empty.", code="field_required", field="terms")
    newest = session.scalar(
        select(func.max(PartnerTerms.version)).where(PartnerTerms.issuer_id == by.issuer_id)
    )
    terms = PartnerTerms(
        issuer_id=by.issuer_id,
        version=(newest or 0) + 1,
        text=checked,
        published_at=now,
        published_by=by.actor,
    )
    session.add(terms)
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="partner_terms.publish",
        object_type="partner_terms",
        object_id=terms.id,
        now=now,
        data={"version": terms.version},
    )
    return terms


def _offers(offers: tuple[Offer, ...]) -> list[Offer]:
    checked: dict[str, Offer] = {}
    for offer in offers:
        if offer.category not in {c.value for c in Category}:
            raise InvalidRequest("There is no such category.", code="invalid_category")
        if offer.category in checked:
            raise InvalidRequest("A category is named twice.", code="invalid_category")
        written = checked_offer(offer.description, offer.price)
        if written is None:
            raise InvalidRequest(
                "Each category asked for needs its offer and its price.",
                code="offer_required",
                field="offer",
            )
        checked[offer.category] = Offer(offer.category, *written)
    if not checked:
        raise InvalidRequest(
            "Choose at least one category with its offer and price.",
            code="offer_required",
            field="offer",
        )
    return [checked[c.value] for c in Category if c.value in checked]


def submit_application(
    session: Session, *, application: Application, now: datetime
) -> PartnerApplication:
    """Keep an application for the issuer's administrators, every value checked; refused
    (InvalidRequest, Conflict) when a value breaks a rule or the terms accepted are not the
    issuer's current ones."""
    a = application
    issuer = session.get(Issuer, a.issuer_id)
    if issuer is None:
        raise NotFound("No such city.", code="issuer_not_found")
    terms = current_terms(session, issuer.id)
    if terms is None:
        raise Conflict("This city takes no applications yet.", code="no_terms")
    if not a.terms_accepted:
        raise InvalidRequest(
            "Please accept the terms.", code="terms_not_accepted", field="terms_accepted"
        )
    if a.terms_version != terms.version:
        raise Conflict(
            "The terms changed while you filled in the form: please read them again.",
            code="terms_changed",
        )
    if a.legal_form not in LEGAL_FORMS:
        raise InvalidRequest("Choose a legal form.", code="invalid_legal_form", field="legal_form")
    checked_postal_code = postal_code(a.postal_code)
    checked_email = email_address(a.email)
    if checked_postal_code is None or checked_email is None:
        missing = "postal_code" if checked_postal_code is None else "email"
        raise InvalidRequest(f"{missing} is required.", code="field_required", field=missing)
    row = PartnerApplication(
        issuer_id=issuer.id,
        status="waiting",
        name=clean_name(a.name, "name"),
        legal_form=a.legal_form,
        street=clean_name(a.street, "street"),
        postal_code=checked_postal_code,
        city=clean_name(a.city, "city", 100),
        district=clean_name(a.district or "", "district", 100)
        if (a.district or "").strip()
        else None,
        contact_person=clean_name(a.contact_person, "contact_person"),
        email=checked_email,
        phone=phone_number(a.phone),
        opening_hours=clean_free_text(a.opening_hours, "opening_hours", 500),
        accessibility=clean_free_text(a.accessibility, "accessibility", 300),
        iban=valid_iban(a.iban),
        account_holder=clean_name(a.account_holder, "account_holder"),
        offers=json.dumps([asdict(o) for o in _offers(a.offers)], ensure_ascii=False),
        terms_version=terms.version,
        submitted_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        issuer_id=issuer.id,
        actor=APPLICANT,
        action="partner_application.submit",
        object_type="partner_application",
        object_id=row.id,
        now=now,
        data={"terms_version": terms.version},
    )
    return row


def offers_of(application: PartnerApplication) -> list[Offer]:
    """The offers an application names, as stored."""
    return [Offer(**offer) for offer in json.loads(application.offers)]


def _waiting(session: Session, by: Staff, application_id: int) -> PartnerApplication:
    application = session.scalars(
        select(PartnerApplication).where(PartnerApplication.id == application_id).with_for_update()
    ).one_or_none()
    if application is None or application.issuer_id != by.issuer_id:
        raise NotFound("No such application.", code="application_not_found")
    if application.status != "waiting":
        raise Conflict("This application was already decided.", code="already_decided")
    return application


def _username(name: str, partner_id: int) -> str:
    """The first login's name: the partner's name in plain letters, and its number."""
    letters = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:40].strip("-")
    return f"{letters or 'partner'}-{partner_id}"


@dataclass(frozen=True)
class Approved:
    """An approved application: the partner's first login and its one-time password (shown
    once, for printing; also on its way by e-mail)."""

    application: PartnerApplication
    username: str
    password: str


def approve_application(
    session: Session, *, by: Staff, application_id: int, now: datetime, kek: bytes
) -> Approved:
    """Make the partner the application asks for (active, allowed the categories of its
    offers, its profile and offers as written, not yet listed in the directory) with its
    first login; tell the applicant its login by e-mail (the password sealed with `kek`
    until sent)."""
    require_role(by, ADMINISTRATORS, "approve partner applications")
    application = _waiting(session, by, application_id)
    offers = offers_of(application)
    partner = create_partner(
        session,
        by=by,
        name=application.name,
        iban=application.iban,
        permissions={by.issuer_id: {Category(o.category) for o in offers}},
        now=now,
        active=True,
    )
    for column in (
        "legal_form",
        "street",
        "postal_code",
        "city",
        "district",
        "contact_person",
        "phone",
        "opening_hours",
        "accessibility",
        "account_holder",
    ):
        setattr(partner, column, getattr(application, column))
    partner.contact_email = application.email
    session.add_all(
        PartnerOffer(
            partner_id=partner.id,
            category=Category(o.category),
            description=o.description,
            price=o.price,
        )
        for o in offers
    )
    password = one_time_password()
    username = _username(application.name, partner.id)
    create_partner_user(
        session,
        by=by,
        partner_id=partner.id,
        username=username,
        display_name=application.contact_person,
        password=password,
        now=now,
    )
    application.status, application.partner_id = "approved", partner.id
    application.decided_at, application.decided_by = now, by.actor
    key = f"partner_welcome:{application.id}"
    tell_addresses(
        session,
        issuer_id=application.issuer_id,
        addresses=[application.email],
        event="partner_welcome",
        key=key,
        facts={
            "partner": application.name,
            "username": username,
            SEALED: seal(kek, password, event_key=key),
        },
        now=now,
        partner_id=partner.id,
    )
    _record(session, by, application, "partner_application.approve", now)
    return Approved(application, username, password)


def refuse_application(
    session: Session, *, by: Staff, application_id: int, reason: str, now: datetime
) -> PartnerApplication:
    """Refuse the application, saying why (the applicant is told, by e-mail)."""
    require_role(by, ADMINISTRATORS, "refuse partner applications")
    application = _waiting(session, by, application_id)
    why = clean_free_text(reason, "reason", MAX_REASON)
    if why is None:
        raise InvalidRequest("Please say why.", code="reason_required", field="reason")
    application.status, application.refusal_reason = "refused", why
    application.decided_at, application.decided_by = now, by.actor
    tell_addresses(
        session,
        issuer_id=application.issuer_id,
        addresses=[application.email],
        event="application_refused",
        key=f"application_refused:{application.id}",
        facts={"partner": application.name, "reason_text": why},
        now=now,
    )
    _record(session, by, application, "partner_application.refuse", now)
    return application


def _record(
    session: Session, by: Staff, application: PartnerApplication, action: str, now: datetime
) -> None:
    audit.record(
        session,
        issuer_id=application.issuer_id,
        actor=by.actor,
        action=action,
        object_type="partner_application",
        object_id=application.id,
        now=now,
        data={"partner_id": application.partner_id},
    )
