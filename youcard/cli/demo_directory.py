"""The demo city's directory: its terms for partners, each demo partner's profile as its
staff would enter it on the scanner side (listed, with its offer, the club with its contact
shown), and one application waiting for an administrator, all through the operations the
pages use."""

from __future__ import annotations

from datetime import datetime

from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import Partner, PartnerUser
from youcard.operations import partner_applications as applications
from youcard.operations.partner_profile import Profile, update_profile
from youcard.policy import Counter, Staff

TERMS = (
    "Bedingungen der Stadt Hamm für Partner der YouCard (Demo)\n\n"
    "1. Partner buchen nur Leistungen, die sie erbracht haben oder im Monat erbringen.\n"
    "2. Partner verlangen für Kinder mit YouCard keine höheren Preise als für andere.\n"
    "3. Die Stadt zahlt die Buchungen eines Monats mit der Gutschrift im Folgemonat.\n"
    "4. Daten der Kinder nutzen Partner nur für die Buchung."
)
# partner name -> (district, hours, accessibility, offers by category, contact shown)
PROFILES: dict[str, tuple[str, str, str, dict[Category, tuple[str, str]], bool]] = {
    "TuS Hamm 1898 e. V.": (
        "Heessen",
        "Mo–Fr 15–20 Uhr\nSa 9–13 Uhr",
        "stufenloser Zugang zur Halle, barrierefreies WC",
        {
            Category.PARTICIPATION: (
                "Turnen, Fußball und Schwimmen für Kinder ab 4 Jahren",
                "15 € im Monat",
            )
        },
        True,
    ),
    "Schulmensa Friedensschule": (
        "Mitte",
        "Mo–Fr 11.30–14 Uhr",
        "",
        {Category.LUNCH: ("Warmes Mittagessen, auch vegetarisch und halal", "3,50 € pro Essen")},
        False,
    ),
    "Lernstudio Hamm-Mitte": (
        "Mitte",
        "Mo–Do 14–19 Uhr",
        "Aufzug vorhanden",
        {
            Category.TUTORING: (
                "Lernförderung in Deutsch, Mathe und Englisch, Klassen 1–10",
                "bis 20 € pro Stunde",
            )
        },
        False,
    ),
}


def seed_directory(
    session: Session,
    *,
    by: Staff,
    partners: dict[str, Partner],
    users: dict[str, PartnerUser],
    now: datetime,
) -> None:
    """Terms, listed profiles and a waiting application for the demo city."""
    applications.publish_terms(session, by=by, text=TERMS, now=now)
    for name, (district, hours, access, offers, public) in PROFILES.items():
        partner, user = partners[name], users[name]
        counter = Counter(
            partner.id,
            partner.name,
            frozenset((by.issuer_id, category) for category in offers),
            partner_user_id=user.id,
        )
        profile = Profile(
            street="Ostring 5" if district == "Mitte" else "Dolberger Straße 12",
            postal_code="59065" if district == "Mitte" else "59073",
            city="Hamm",
            district=district,
            contact_person=user.display_name,
            contact_email=f"kasse-{partner.id}@partner.example",
            phone="02381 17-4711",
            opening_hours=hours,
            accessibility=access or None,
            listed=True,
            contact_public=public,
            offers={category.value: text for category, text in offers.items()},
        )
        update_profile(session, by=counter, profile=profile, now=now)
    applications.submit_application(
        session,
        application=applications.Application(
            issuer_id=by.issuer_id,
            name="Musikschule Hamm e. V.",
            legal_form="ev",
            street="Kaiserstraße 40",
            postal_code="59065",
            city="Hamm",
            district="Mitte",
            contact_person="Olena Kovalenko",
            email="info@musikschule-hamm.example",
            phone="02381 5550",
            opening_hours="Mo–Fr 13–19 Uhr",
            accessibility=None,
            iban="DE89370400440532013000",
            account_holder="Musikschule Hamm e. V.",
            offers=(
                applications.Offer(
                    "participation", "Instrumentalunterricht und Chor", "18 € im Monat"
                ),
            ),
            terms_version=1,
            terms_accepted=True,
        ),
        now=now,
    )
