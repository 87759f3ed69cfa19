"""All models, importable from one place (Alembic reads the metadata from here)."""

from youcard.domain.models.access_log import AccessEvent
from youcard.domain.models.applications import PartnerApplication, PartnerTerms
from youcard.domain.models.audit import AuditEvent, AuditHead
from youcard.domain.models.bookings import Booking
from youcard.domain.models.cards import Card, CardRevocation
from youcard.domain.models.entitlements import DailyUsage, Entitlement
from youcard.domain.models.households import Child, Household
from youcard.domain.models.imports import ImportBatch, ImportLine
from youcard.domain.models.issuers import Issuer
from youcard.domain.models.jobs import JobRun
from youcard.domain.models.keys import SigningKey
from youcard.domain.models.login_throttles import LoginThrottle
from youcard.domain.models.mandates import Mandate
from youcard.domain.models.messages import OutboxMessage
from youcard.domain.models.offline import OfflineAllowance, OfflineBooking, OfflineLimit
from youcard.domain.models.partners import (
    DeviceToken,
    Partner,
    PartnerOffer,
    PartnerPermission,
    PartnerServiceRequest,
    PartnerUser,
)
from youcard.domain.models.retention import MoneyRetention
from youcard.domain.models.settlements import Settlement, SettlementLine, SettlementPayment
from youcard.domain.models.staff import StaffToken, StaffUser

__all__ = [
    "AccessEvent",
    "AuditEvent",
    "AuditHead",
    "Booking",
    "Card",
    "CardRevocation",
    "Child",
    "DailyUsage",
    "DeviceToken",
    "Entitlement",
    "Household",
    "ImportBatch",
    "ImportLine",
    "Issuer",
    "JobRun",
    "LoginThrottle",
    "Mandate",
    "MoneyRetention",
    "OfflineAllowance",
    "OfflineBooking",
    "OfflineLimit",
    "OutboxMessage",
    "Partner",
    "PartnerApplication",
    "PartnerOffer",
    "PartnerPermission",
    "PartnerServiceRequest",
    "PartnerTerms",
    "PartnerUser",
    "Settlement",
    "SettlementLine",
    "SettlementPayment",
    "SigningKey",
    "StaffToken",
    "StaffUser",
]
