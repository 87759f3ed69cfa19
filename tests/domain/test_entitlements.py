"""Recording and deciding entitlements: four eyes, roles, issuers, reasons."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import NOW, PERIOD, at_counter, trusted
from youcard.domain.enums import Category, EntitlementStatus, Role
from youcard.domain.models import AuditEvent
from youcard.operations.booking import book
from youcard.operations.entitlements import (
    approve_entitlement,
    decide_entitlement,
    record_entitlement,
    revoke_entitlement,
)
from youcard.policy import Staff


@pytest.fixture
def office(make):
    issuer = make.issuer()
    return {
        "issuer": issuer,
        "child": make.child(issuer),
        "caseworker": make.staff(issuer, Role.CASEWORKER),
        "approver": make.staff(issuer, Role.APPROVER),
        "admin": make.staff(issuer, Role.ADMINISTRATOR),
    }


def reject_entitlement(session, **kwargs):
    return decide_entitlement(session, approve=False, kek=None, **kwargs)


def _record(session, office, **kw):
    return record_entitlement(session, **_record_args(office, **kw))


def _record_args(office, **kw):
    args = dict(
        child_id=office["child"].id,
        category=Category.PARTICIPATION,
        valid_from=PERIOD[0],
        valid_until=PERIOD[1],
        by=Staff.of(office["caseworker"]),
        now=NOW,
    )
    args.update(kw)
    return args


def test_record_uses_the_category_defaults(session, office):
    e = _record(session, office)
    assert e.status is EntitlementStatus.RECORDED
    assert (e.rule.value, e.amount_cents, e.accrual.value, e.cap_cents) == (
        "monthly",
        1500,
        "accrue",
        12 * 1500,
    )
    lunch = _record(session, office, category=Category.LUNCH)
    assert (lunch.rule.value, lunch.units_per_day) == ("units", 1)


def test_record_and_approve_by_two_people(session, office):
    e = _record(session, office)
    approve_entitlement(
        session, entitlement_id=e.id, by=Staff.of(office["approver"]), now=NOW, kek=None
    )
    assert e.status is EntitlementStatus.APPROVED and e.decided_by_id == office["approver"].id
    actions = session.scalars(
        select(AuditEvent.action)
        .where(
            AuditEvent.issuer_id == office["issuer"].id,
            AuditEvent.object_type == "entitlement",
            AuditEvent.object_id == str(e.id),
        )
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["entitlement.record", "entitlement.approve"]


def test_the_recorder_may_not_approve_even_as_administrator(session, office, refused):
    e = _record(session, office, by=Staff.of(office["admin"]))
    error = refused(
        approve_entitlement, entitlement_id=e.id, by=Staff.of(office["admin"]), now=NOW, kek=None
    )
    assert error.code == "four_eyes"


def test_a_caseworker_may_not_approve(session, office, make, refused):
    e = _record(session, office)
    other_caseworker = make.staff(office["issuer"], Role.CASEWORKER)
    error = refused(
        approve_entitlement, entitlement_id=e.id, by=Staff.of(other_caseworker), now=NOW, kek=None
    )
    assert error.code == "role_not_permitted"


def test_an_approver_may_not_record(session, office, refused):
    error = refused(
        record_entitlement,
        child_id=office["child"].id,
        category=Category.PARTICIPATION,
        valid_from=PERIOD[0],
        valid_until=PERIOD[1],
        by=Staff.of(office["approver"]),
        now=NOW,
    )
    assert error.code == "role_not_permitted"


def test_another_issuers_staff_sees_nothing(session, office, make, refused):
    e = _record(session, office)
    stranger = make.staff(make.issuer(), Role.APPROVER)
    error = refused(
        approve_entitlement, entitlement_id=e.id, by=Staff.of(stranger), now=NOW, kek=None
    )
    assert error.code == "entitlement_not_found"
    caseworker = make.staff(make.issuer(), Role.CASEWORKER)
    error = refused(
        record_entitlement,
        child_id=office["child"].id,
        category=Category.PARTICIPATION,
        valid_from=PERIOD[0],
        valid_until=PERIOD[1],
        by=Staff.of(caseworker),
        now=NOW,
    )
    assert error.code == "child_not_found"


def test_decided_once(session, office, make, refused):
    e = _record(session, office)
    approve_entitlement(
        session, entitlement_id=e.id, by=Staff.of(office["approver"]), now=NOW, kek=None
    )
    error = refused(
        reject_entitlement, entitlement_id=e.id, by=Staff.of(office["admin"]), reason="x", now=NOW
    )
    assert error.code == "already_decided"


def test_reject_needs_a_reason(session, office, refused):
    e = _record(session, office)
    error = refused(
        reject_entitlement,
        entitlement_id=e.id,
        by=Staff.of(office["approver"]),
        reason="  ",
        now=NOW,
    )
    assert error.code == "reason_required"
    reject_entitlement(
        session,
        entitlement_id=e.id,
        by=Staff.of(office["approver"]),
        reason="Kein Anspruch",
        now=NOW,
    )
    assert e.status is EntitlementStatus.REJECTED and e.decision_reason == "Kein Anspruch"


def test_bad_periods_and_adults(session, office, make, refused):
    error = refused(
        record_entitlement,
        child_id=office["child"].id,
        category=Category.PARTICIPATION,
        valid_from=date(2026, 5, 1),
        valid_until=date(2026, 4, 30),
        by=Staff.of(office["caseworker"]),
        now=NOW,
    )
    assert error.code == "invalid_period"
    adult = make.child(office["issuer"], birth_date=date(2007, 1, 1))
    error = refused(
        record_entitlement,
        child_id=adult.id,
        category=Category.PARTICIPATION,
        valid_from=PERIOD[0],
        valid_until=PERIOD[1],
        by=Staff.of(office["caseworker"]),
        now=NOW,
    )
    assert error.code == "child_too_old"
    error = refused(
        record_entitlement,
        child_id=adult.id,
        category=Category.TRIPS,
        valid_from=PERIOD[0],
        valid_until=PERIOD[1],
        by=Staff.of(office["caseworker"]),
        now=NOW,
    )
    assert error.code == "rule_required"


def test_participation_cap_stops_at_the_18th_birthday(session, office, make):
    # 18 on 10 June 2026: January to May begun before → 6 months (June begun on the 1st).
    child = make.child(office["issuer"], birth_date=date(2008, 6, 10))
    e = _record(session, office, child_id=child.id)
    assert e.cap_cents == 6 * 1500


def test_revoked_entitlement_books_nothing(session, office, make, refused):
    e = _record(session, office)
    approve_entitlement(
        session, entitlement_id=e.id, by=Staff.of(office["approver"]), now=NOW, kek=None
    )
    card = make.card(office["child"])
    partner = make.partner(office["issuer"], {Category.PARTICIPATION})
    assert (
        refused(
            revoke_entitlement,
            entitlement_id=e.id,
            by=Staff.of(office["approver"]),
            reason="",
            now=NOW,
        ).code
        == "reason_required"
    )
    revoke_entitlement(
        session, entitlement_id=e.id, by=Staff.of(office["approver"]), reason="Umzug", now=NOW
    )
    error = refused(
        book,
        by=at_counter(partner.id),
        credential=card.credential,
        trusted=trusted(session),
        category=Category.PARTICIPATION,
        amount_cents=100,
        idempotency_key="k",
        now=NOW,
    )
    assert error.code == "entitlement_inactive"


def test_database_refuses_self_approval(session, office):
    from sqlalchemy.exc import IntegrityError

    e = _record(session, office)
    e.decided_by_id = office["caseworker"].id
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_an_overlapping_period_is_refused_on_record_and_approve(session, office, make, refused):
    """#14.1: a second benefit of one child and category sharing a day would double the
    budget; a follow-up starting the day after the first one ends is fine."""
    from datetime import timedelta

    from youcard.domain.models import Entitlement

    first = _record(session, office)
    approve_entitlement(
        session, entitlement_id=first.id, by=Staff.of(office["approver"]), now=NOW, kek=None
    )
    inside = (PERIOD[0] + timedelta(days=30), PERIOD[1] - timedelta(days=30))
    for valid_from, valid_until in (
        inside,
        (PERIOD[0] - timedelta(days=10), PERIOD[0]),  # shares the first day
        (PERIOD[1], PERIOD[1] + timedelta(days=100)),  # shares the last day
        (PERIOD[0] + timedelta(days=10), PERIOD[1] + timedelta(days=5)),  # across its end
    ):
        error = refused(
            lambda s, **k: _record(s, office, **k), valid_from=valid_from, valid_until=valid_until
        )
        assert error.code == "overlapping_entitlement"
    around = (PERIOD[0] - timedelta(days=10), PERIOD[1] + timedelta(days=10))
    error = refused(
        lambda s, **k: _record(s, office, **k), valid_from=around[0], valid_until=around[1]
    )
    assert error.code == "period_too_long"  # the typo is named before the overlap
    follow_up = _record(
        session,
        office,
        valid_from=PERIOD[1] + timedelta(days=1),
        valid_until=PERIOD[1] + timedelta(days=180),
    )
    assert follow_up.status is EntitlementStatus.RECORDED
    assert _record(session, office, category=Category.LUNCH).status is EntitlementStatus.RECORDED
    # a revoked or rejected one no longer blocks
    revoke_entitlement(
        session, entitlement_id=first.id, by=Staff.of(office["approver"]), reason="Umzug", now=NOW
    )
    again = _record(session, office, valid_from=inside[0], valid_until=inside[1])
    approve_entitlement(
        session, entitlement_id=again.id, by=Staff.of(office["approver"]), now=NOW, kek=None
    )
    # one recorded before the rule (written directly) cannot be approved beside another
    legacy = Entitlement(
        **{
            c.key: getattr(again, c.key)
            for c in Entitlement.__table__.columns
            if c.key not in ("id", "recorded_by_id")
        },
        recorded_by_id=office["admin"].id,
    )
    legacy.status = EntitlementStatus.RECORDED
    session.add(legacy)
    session.flush()
    error = refused(
        approve_entitlement,
        entitlement_id=legacy.id,
        by=Staff.of(office["approver"]),
        now=NOW,
        kek=None,
    )
    assert error.code == "overlapping_entitlement"


@pytest.mark.parametrize(
    ("category", "valid_from", "valid_until", "code"),
    [
        (Category.PARTICIPATION, date(2026, 1, 1), date(2027, 1, 1), "period_too_long"),
        (Category.LUNCH, date(2025, 3, 15), date(2025, 12, 31), "period_starts_too_early"),
        (Category.TUTORING, date(2026, 2, 1), date(2026, 8, 1), "tutoring_beyond_school_year"),
        (Category.TUTORING, date(2025, 9, 1), date(2026, 8, 15), "tutoring_beyond_school_year"),
    ],
)
def test_implausible_periods_are_refused_with_the_reason(
    session, office, refused, category, valid_from, valid_until, code
):
    error = refused(
        record_entitlement,
        child_id=office["child"].id,
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
        by=Staff.of(office["caseworker"]),
        now=NOW,
    )
    assert error.code == code


def test_the_longest_plausible_periods_are_taken(session, office):
    """12 months to the day, starting 12 months back (NOW is 16 March 2026), and tutoring
    to the end of the school year."""
    assert _record(session, office, valid_from=date(2025, 3, 16), valid_until=date(2026, 3, 15))
    assert _record(
        session,
        office,
        category=Category.TUTORING,
        valid_from=date(2025, 8, 1),
        valid_until=date(2026, 7, 31),
    )


def test_a_birth_date_making_the_child_older_than_25_is_refused(session, make, refused):
    from youcard.operations.households import add_child
    from youcard.policy import Staff

    issuer = make.issuer()
    household = make.household(issuer)
    by = Staff.system(issuer.id, "t")
    kwargs = {"by": by, "household_id": household.id, "given_name": "A", "family_name": "B"}
    assert refused(add_child, birth_date=date(2001, 3, 16), now=NOW, **kwargs).code == (
        "child_over_25"
    )
    assert refused(add_child, birth_date=date(2026, 3, 17), now=NOW, **kwargs).code == (
        "invalid_birth_date"
    )
    assert add_child(session, birth_date=date(2001, 3, 17), now=NOW, **kwargs)


def test_the_system_neither_records_nor_decides_a_benefit(session, office, refused):
    """Four eyes need two people: the system (a CLI command, a job) has every right an
    administrator has, but recording or approving a benefit refuses it, and writes nothing."""
    system = Staff.system(office["issuer"].id, "cli")
    error = refused(record_entitlement, **_record_args(office, by=system))
    assert error.code == "role_not_permitted"
    e = _record(session, office)
    error = refused(approve_entitlement, entitlement_id=e.id, by=system, now=NOW, kek=None)
    assert error.code == "role_not_permitted"
    assert e.status is EntitlementStatus.RECORDED and e.decided_by_id is None
