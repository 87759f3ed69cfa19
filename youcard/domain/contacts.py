"""How to reach a household and the city's office, as values: what letters, cards and
pages show. Checking them (one validator per kind of input) is operations.contacts'."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from youcard.domain.models import Issuer


@dataclass(frozen=True)
class Contact:
    """How to reach a household; `language` is the one its letters and messages speak."""

    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "de"


@dataclass(frozen=True)
class OfficeDetails:
    """The city's office as families see it (issuer settings)."""

    name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None
    hours: str | None = None
    family_url: str | None = None

    @classmethod
    def of(cls, issuer: Issuer) -> OfficeDetails:
        """An issuer's details as stored."""
        return cls(
            name=issuer.office_name,
            street=issuer.office_street,
            postal_code=issuer.office_postal_code,
            city=issuer.office_city,
            phone=issuer.office_phone,
            email=issuer.office_email,
            hours=issuer.office_hours,
            family_url=issuer.family_url,
        )

    @property
    def directory_url(self) -> str | None:
        """The public directory of partners, on the family area's site (`/directory`)."""
        return urljoin(self.family_url, "/directory") if self.family_url else None
