"""All models, importable from one place (Alembic reads the metadata from here)."""

from youcard.models.access_log import AccessEvent
from youcard.models.audit import AuditEvent, AuditHead
from youcard.models.bookings import Booking
from youcard.models.cards import Card, CardRevocation
from youcard.models.entitlements import DailyUsage, Entitlement
from youcard.models.households import Child, Household
from youcard.models.imports import ImportBatch, ImportLine
from youcard.models.issuers import Issuer
from youcard.models.jobs import JobRun
from youcard.models.keys import SigningKey
from youcard.models.login_throttles import LoginThrottle
from youcard.models.mandates import Mandate
from youcard.models.partners import (
    DeviceToken,
    Partner,
    PartnerPermission,
    PartnerServiceRequest,
    PartnerUser,
)
from youcard.models.retention import MoneyRetention
from youcard.models.settlements import Settlement, SettlementLine, SettlementPayment
from youcard.models.staff import StaffToken, StaffUser

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
    "Partner",
    "PartnerPermission",
    "PartnerServiceRequest",
    "PartnerUser",
    "Settlement",
    "SettlementLine",
    "SettlementPayment",
    "SigningKey",
    "StaffToken",
    "StaffUser",
]
