"""Retention: a household's names, birth dates, address and contacts are erased N years after
its last entitlement ended (or after it was recorded, with none); bookings, the ledger and
the audit chain stay and verify; a dry run lists what would go and changes nothing; the job
run again erases nothing more; two runners at once erase each household once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import NOW, Factory, at_counter, at_once, trusted
from youcard import audit
from youcard.domain.enums import Category
from youcard.domain.models import AuditEvent, Booking, Child, Household, JobRun, Mandate
from youcard.jobs.runner import run_jobs
from youcard.operations.booking import book
from youcard.operations.mandates import MandateTerms, create_mandate
from youcard.policy import Staff
from youcard.privacy.retention import cutoff, due_households, erase_due_households
from youcard.privacy.subject_access import household_data
from youcard.reads import ledger
from youcard.reads.actors import actor_names

ERASE_DAY = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)  # 2026's benefits ended three years ago


def _families(sessions):
    """Three households of one issuer: `ended` (a 2026 benefit, a booking, a mandate, contacts),
    `running` (a benefit until the end of 2027), `empty` (recorded, never approved)."""
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        ended = make.child(issuer)
        ended.child_ref = "K-4711"
        household = session.get(Household, ended.household_id)
        household.street, household.postal_code, household.city = "Weg 1", "59065", "Hamm"
        household.email, household.phone = "familie@example.org", "02381 1"
        household.access_code_hash = "x" * 40
        make.entitlement(ended, Category.PARTICIPATION)
        card = make.card(ended)
        running = make.child(issuer)
        make.entitlement(running, Category.PARTICIPATION)
        make.entitlement(running, Category.LUNCH, period=(date(2027, 1, 1), date(2027, 12, 31)))
        empty = make.household(issuer)
        session.flush()
        keys = trusted(session, issuer.id)
        book(
            session,
            by=at_counter(partner.id),
            credential=card.credential,
            trusted=keys,
            category="participation",
            amount_cents=1_000,
            idempotency_key="k1",
            now=NOW,
        )
        create_mandate(
            session, by=_counter(partner), credential=card.credential, trusted=keys, now=NOW,
            terms=MandateTerms("participation", "M-1", 500, 20),
        )  # fmt: skip
        return issuer.id, ended.household_id, ended.id, running.household_id, empty.id


def _counter(partner):
    from youcard.policy import Counter

    return Counter(partner.id, partner.name, frozenset(), device_id=None)


def test_the_cutoff_is_the_same_day_years_back():
    assert cutoff(date(2030, 1, 1), 3) == date(2027, 1, 1)
    assert cutoff(date(2028, 2, 29), 3) == date(2025, 2, 28)


def test_a_household_is_erased_years_after_its_last_benefit_and_its_money_stays(
    private_committed,
):
    sessions = private_committed
    issuer_id, ended, ended_child, running, empty = _families(sessions)
    with sessions() as session:
        # The last day of the third year: only the household that never had a benefit.
        early = due_households(session, today=date(2029, 12, 31), years=3, issuer_id=issuer_id)
        assert [d.household_id for d in early] == [empty]
        listed = due_households(session, today=ERASE_DAY.date(), years=3, issuer_id=issuer_id)
        assert [(d.household_id, d.last_ended) for d in listed] == [
            (ended, date(2026, 12, 31)), (empty, None)
        ]  # fmt: skip
        bookings_before = session.scalar(select(func.count()).select_from(Booking))
    with sessions() as session:  # the dry run changed nothing
        assert session.get(Household, ended).family_name == "Muster"

    assert erase_due_households(sessions, lambda: ERASE_DAY, years=3) == 2
    assert erase_due_households(sessions, lambda: ERASE_DAY, years=3) == 0  # again: nothing

    with sessions.begin() as session:
        gone = session.get(Household, ended)
        assert (
            gone.family_name,
            gone.street,
            gone.postal_code,
            gone.city,
            gone.email,
            gone.phone,
            gone.access_code_hash,
        ) == ("", None, None, None, None, None, None)
        assert "muster" not in gone.search_key  # found by its reference only
        named = actor_names(session, [f"family:{ended}"])  # the audit log's name for it
        assert named == {f"family:{ended}": f"Familie {gone.reference}"}
        assert gone.erased_at == ERASE_DAY
        child = session.get(Child, ended_child)
        assert (child.given_name, child.family_name, child.birth_date) == ("", "", None)
        assert "muster" not in child.search_key
        assert child.child_ref == "K-4711"  # the city's reference stays: pseudonymous
        mandate = session.scalars(select(Mandate).where(Mandate.child_id == ended_child)).one()
        ended_by = ("ended", "system:retention", None)
        assert (mandate.status, mandate.ended_by, mandate.next_due) == ended_by
        kept = session.get(Household, running)
        assert kept.family_name == "Muster" and kept.erased_at is None
        assert session.get(Household, empty).erased_at == ERASE_DAY
        # The money stays, pseudonymous, and checks; the chain verifies with the erasure in it.
        assert session.scalar(select(func.count()).select_from(Booking)) == bookings_before
        assert ledger.check(session, issuer_id) == []
        audit.seal(session, issuer_id)
        assert audit.verify(session, issuer_id) == []
        erasures = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "household.erase")
        ).all()
        assert sorted(int(e.object_id) for e in erasures) == sorted([ended, empty])
        assert json.loads(erasures[0].data)["children"] in (0, 1)
        texts = " ".join(e.data for e in session.scalars(select(AuditEvent)))
        assert "Muster" not in texts and "Kind" not in texts and "familie@" not in texts
        # The family's Art. 15 export still answers: what is left, without names.
        data = household_data(session, by=Staff.system(issuer_id, "test"), household_id=ended)
        assert data["household"]["family_name"] == "" and data["household"]["email"] is None
        assert data["children"][0]["birth_date"] is None


def test_the_retention_job_runs_from_the_jobs_and_is_recorded(private_committed, monkeypatch):
    sessions = private_committed
    _issuer, ended, *_ = _families(sessions)
    monkeypatch.setenv("YOUCARD_ERASE_AFTER_YEARS", "3")
    done = run_jobs(sessions, ["retention"], lambda: ERASE_DAY)
    assert done == {"retention": 2}
    run_jobs(sessions, ["retention"], lambda: ERASE_DAY)
    with sessions() as session:
        assert session.get(Household, ended).erased_at == ERASE_DAY
        run = session.get(JobRun, "retention")
        assert (run.runs, run.failures, run.done, run.last_ok_at) == (2, 0, 2, ERASE_DAY)
    monkeypatch.setenv("YOUCARD_ERASE_AFTER_YEARS", "zwei")  # a bad setting: the run fails
    assert run_jobs(sessions, ["retention"], lambda: ERASE_DAY) == {"retention": None}
    with sessions() as session:
        run = session.get(JobRun, "retention")
        assert (run.runs, run.failures, run.last_failed_at, run.last_ok_at) == (
            3, 1, ERASE_DAY, ERASE_DAY)  # fmt: skip


def test_two_runners_at_once_erase_each_household_once(private_committed):
    sessions = private_committed
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        for _ in range(250):  # more than two batches
            make.entitlement(make.child(issuer), Category.PARTICIPATION)
    counts = at_once(2, lambda: erase_due_households(sessions, lambda: ERASE_DAY, years=3))
    with sessions() as session:
        per_household = session.execute(
            select(AuditEvent.object_id, func.count())
            .where(AuditEvent.action == "household.erase")
            .group_by(AuditEvent.object_id)
        ).all()
        assert len(per_household) == 250 and {n for _id, n in per_household} == {1}
        assert sum(counts) == 250
        assert (
            session.scalar(
                select(func.count()).select_from(Household).where(Household.erased_at.is_(None))
            )
            == 0
        )


class Booked:
    """Children of one issuer with a 2026 benefit and a card each, and one partner that books
    on them (`book`); `settle_march` finalizes March 2026's settlement."""

    def __init__(self, session, children: int) -> None:
        make = Factory(session)
        self.session, self.issuer = session, make.issuer()
        make.signing_key(self.issuer)
        self.partner = make.partner(self.issuer, {Category.PARTICIPATION})
        self.children = [make.child(self.issuer) for _ in range(children)]
        for child in self.children:
            make.entitlement(child, Category.PARTICIPATION)
        self.cards = [make.card(child) for child in self.children]
        session.flush()
        self.keys = trusted(session, self.issuer.id)

    def book(self, n: int, key: str, when: datetime = NOW):
        return book(self.session, by=at_counter(self.partner.id), trusted=self.keys,
                    credential=self.cards[n].credential, category="participation",
                    amount_cents=500, idempotency_key=key, now=when)  # fmt: skip

    def settle_march(self) -> None:
        from youcard.operations.settlements import finalize, prepare

        june, admin = datetime(2026, 6, 2, 9, 0, tzinfo=UTC), Staff.system(self.issuer.id, "a")
        run = prepare(self.session, by=admin, month=date(2026, 3, 1), now=june)
        finalize(self.session, settlement_id=run.id, by=admin, now=june)


def test_money_records_go_with_their_benefit_after_the_budget_laws_years(private_committed):
    from datetime import timedelta

    from youcard.domain.models import Entitlement, Settlement
    from youcard.operations.booking import cancel_booking
    from youcard.privacy.retention import forget_old_money, old_money

    sessions = private_committed
    with sessions.begin() as session:
        world = Booked(session, 2)  # the first settled and paid, the second never settled
        world.book(0, "a")
        cancel_booking(session, by=at_counter(world.partner.id), now=NOW,
                       booking_id=world.book(0, "b").booking.id)  # fmt: skip
        world.book(1, "c", NOW + timedelta(days=30))  # April: never settled
        world.settle_march()
        issuer_id = world.issuer.id
        settled_id, unpaid_id = (child.id for child in world.children)

    with sessions() as session:  # the dry run's count
        assert old_money(session, today=date(2036, 12, 31), years=10) == 0
        assert old_money(session, today=date(2037, 1, 1), years=10) == 1
    nine_years = datetime(2036, 12, 31, 9, 0, tzinfo=UTC)
    assert forget_old_money(sessions, lambda: nine_years, years=10) == 0
    ten_years = datetime(2037, 2, 1, 9, 0, tzinfo=UTC)  # 2026 ended before 1 February 2027
    assert forget_old_money(sessions, lambda: ten_years, years=10) == 1
    assert forget_old_money(sessions, lambda: ten_years, years=10) == 0  # again: nothing
    with sessions.begin() as session:
        left = session.execute(
            select(Entitlement.child_id, func.count(Booking.id))
            .join(Booking, Booking.entitlement_id == Entitlement.id, isouter=True)
            .where(Entitlement.issuer_id == issuer_id)
            .group_by(Entitlement.child_id)
        ).all()
        assert left == [(unpaid_id, 1)]  # the unpaid booking and its benefit stay
        assert settled_id not in [child for child, _ in left]
        assert session.scalar(select(func.count()).select_from(Settlement)) == 0
        assert ledger.check(session, issuer_id) == []
        erasures = session.scalars(select(AuditEvent).where(AuditEvent.action == "money.forget"))
        assert [json.loads(e.data) for e in erasures] == [
            {"benefits": 1, "before": "2027-02-01"}]  # fmt: skip
    with pytest.raises(IntegrityError), sessions.begin() as session:  # newer money stays locked
        session.execute(delete(Booking).where(Booking.issuer_id == issuer_id))
    with sessions.begin() as session:
        audit.seal(session, issuer_id)
        assert audit.verify(session, issuer_id) == []


def test_two_runners_at_once_forget_each_benefit_once(private_committed):
    from youcard.privacy.retention import forget_old_money

    sessions = private_committed
    with sessions.begin() as session:
        world = Booked(session, 40)
        for n in range(40):
            world.book(n, f"k{n}")
        world.settle_march()
    later = datetime(2037, 2, 1, 9, 0, tzinfo=UTC)
    counts = at_once(2, lambda: forget_old_money(sessions, lambda: later, years=10))
    assert len(counts) == 2 and sum(counts) == 40
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
        assert ledger.check(session) == []


def test_offline_records_go_with_their_money_and_old_allowances_after_a_year(private_committed):
    """An offline booking's record goes with its booking; one not covered after the same
    years; an allowance no record names a little over a year after it ended."""
    import secrets
    from datetime import timedelta

    from youcard.domain.enums import Category
    from youcard.domain.models import OfflineAllowance, OfflineBooking
    from youcard.privacy.retention import forget_old_allowances, forget_old_money

    sessions = private_committed
    with sessions.begin() as session:
        world = Booked(session, 1)
        booked = world.book(0, "offline-1").booking.id
        world.settle_march()
        card_id = session.scalar(select(Booking.card_id).where(Booking.id == booked))
        allowances = []
        for issued in (NOW - timedelta(hours=2), NOW - timedelta(days=500), NOW):
            allowance = OfflineAllowance(
                id=secrets.token_hex(16), partner_id=world.partner.id, device_key="device:1",
                issued_at=issued, valid_until=issued + timedelta(hours=24), limits="{}",
                signature="0" * 64,
            )  # fmt: skip
            session.add(allowance)
            allowances.append(allowance.id)
        session.flush()
        for n, (booking_id, outcome) in enumerate([(booked, "booked"), (None, "not_covered")]):
            session.add(
                OfflineBooking(
                    issuer_id=world.issuer.id, partner_id=world.partner.id,
                    allowance_id=allowances[0], card_id=card_id, category=Category.PARTICIPATION,
                    amount_cents=100, service_date=NOW.date(), offline_at=NOW - timedelta(hours=1),
                    received_at=NOW, outcome=outcome, booking_id=booking_id,
                    idempotency_key=f"offline-record-{n}", request_hash=bytes(32),
                )
            )  # fmt: skip
    assert forget_old_allowances(sessions, lambda: NOW) == 1  # the one of 500 days ago
    assert forget_old_allowances(sessions, lambda: NOW) == 0
    ten_years = datetime(2037, 2, 1, 9, 0, tzinfo=UTC)
    assert forget_old_money(sessions, lambda: ten_years, years=10) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OfflineBooking)) == 0
    assert forget_old_allowances(sessions, lambda: ten_years) == 2  # named by nothing now
