"""The exports for the case system and the statistics office: balances (approved, booked
net until the month's end and in it, left) and net bookings per child and benefit with the
legal basis; their sums against the ledger; refs never a formula; the role decides."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.factories import NOW, at_counter, trusted
from youcard.documents import exports
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, Role, RuleKind
from youcard.operations.booking import book, cancel_booking
from youcard.policy import Staff


def _rows(lines):
    text = "".join(lines)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def _scene(session, make):
    issuer = make.issuer()
    child = make.child(issuer)
    child.child_ref = "=P-1"  # as the case system spells it: never a formula in a spreadsheet
    trips = make.entitlement(child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 15_000))
    trips.decision_ref, trips.legal_basis = "D-1", "SGB2"
    participation = make.entitlement(child, Category.PARTICIPATION)
    participation.decision_ref = "D-2"
    card = make.card(child)
    partner = make.partner(issuer, {Category.TRIPS, Category.PARTICIPATION})
    keys = trusted(session, issuer.id)

    def booked(category, cents, key, when):
        return book(
            session, by=at_counter(partner.id), credential=card.credential, trusted=keys,
            category=category, amount_cents=cents, idempotency_key=key, now=when,
        )  # fmt: skip

    february = NOW - timedelta(days=30)
    booked(Category.TRIPS, 4_000, "t1", february)
    booked(Category.TRIPS, 2_500, "t2", NOW)
    gone = booked(Category.TRIPS, 1_000, "t3", NOW)
    cancel_booking(session, by=at_counter(partner.id), booking_id=gone.booking.id, now=NOW)
    booked(Category.PARTICIPATION, 1_500, "p1", NOW)
    session.flush()
    return issuer, trips, participation


def test_balances_and_bookings_of_a_month_add_up_to_the_ledger(session, make):
    issuer, trips, participation = _scene(session, make)
    by = Staff.system(issuer.id, "t")
    rows = _rows(exports.balances(session, by=by, month=date(2026, 3, 1)))
    assert tuple(rows[0]) == exports.BALANCE_HEADER
    by_decision = {row[3]: row for row in rows[1:]}
    assert by_decision["D-1"][1] == "'=P-1"
    assert by_decision["D-1"][8:] == ["150,00", "65,00", "25,00", "85,00"]
    left = participation.cap_cents - 1_500
    assert by_decision["D-2"][9:] == ["15,00", "15,00", f"{left // 100},{left % 100:02d}"]
    session.refresh(trips)
    session.refresh(participation)
    booked_total = sum(int(row[9].replace(",", "")) for row in rows[1:])
    assert booked_total == trips.spent_cents + participation.spent_cents  # the ledger's sum
    february = _rows(exports.balances(session, by=by, month=date(2026, 2, 1)))
    assert {row[3]: row[9:11] for row in february[1:]}["D-1"] == ["40,00", "40,00"]

    march = _rows(exports.bookings(session, by=by, month=date(2026, 3, 1)))
    assert tuple(march[0]) == exports.BOOKING_HEADER
    lines = {row[4]: row for row in march[1:]}
    assert lines["D-1"][5:] == ["trips", "SGB2", "2", "1", "0", "25,00"]
    assert lines["D-2"][6] == ""  # no legal basis recorded
    assert [row[0] for row in march[1:]] == ["2026-03", "2026-03"]
    assert len(_rows(exports.bookings(session, by=by, month=date(2026, 5, 1)))) == 1


def test_only_who_reads_reports_exports_and_only_their_issuer(session, make, refused):
    issuer, _trips, _participation = _scene(session, make)
    caseworker = Staff.of(make.staff(issuer, Role.CASEWORKER))
    assert refused(lambda s, **kw: list(exports.balances(s, **kw)), by=caseworker,
                   month=date(2026, 3, 1)).code == "role_not_permitted"  # fmt: skip
    other = make.issuer()
    rows = _rows(exports.bookings(session, by=Staff.system(other.id, "t"), month=date(2026, 3, 1)))
    assert rows == [list(exports.BOOKING_HEADER)]
