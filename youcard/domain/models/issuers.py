"""Issuers: the authorities that approve benefits and sign cards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base
from youcard.domain.models.types import UTCDateTime


class Issuer(Base):
    """An issuing authority, e.g. `DE-NW-HAMM` "Stadt Hamm"; its id is the YC1 `iss` claim."""

    __tablename__ = "issuers"
    __table_args__ = (CheckConstraint("length(id) BETWEEN 2 AND 40", name="id_length"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The city's account that pays the partners (debtor of the SEPA credit transfers).
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    # The office families turn to: on the card's back, letters, the "card lost" page, messages.
    office_name: Mapped[str | None] = mapped_column(String(200))
    office_street: Mapped[str | None] = mapped_column(String(200))
    office_postal_code: Mapped[str | None] = mapped_column(String(10))
    office_city: Mapped[str | None] = mapped_column(String(100))
    office_phone: Mapped[str | None] = mapped_column(String(40))
    office_email: Mapped[str | None] = mapped_column(String(254))
    office_hours: Mapped[str | None] = mapped_column(String(300))
    family_url: Mapped[str | None] = mapped_column(String(300))  # the family area's address
