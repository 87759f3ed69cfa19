"""Import batches with four eyes: recorded by one, confirmed (written and approved in one
transaction) or rejected by another; the same file again changes nothing; a changed line
updates; two imports of one file at once: one wins, the other is told."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.enums import EntitlementStatus, Role
from youcard.domain.models import AuditEvent, Child, Entitlement, Household, ImportBatch
from youcard.errors import DomainError
from youcard.imports.batches import LinesRefused, record_import
from youcard.imports.confirmation import confirm_import, reject_import
from youcard.policy import Staff
from youcard.reads import ledger

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;legal_basis"
)
LINES = [
    "D-1;HAM-7;P-1;Yılmaz;Elif;14.03.2015;participation;01.01.2026;31.12.2026;;SGB2",
    "D-2;HAM-7;P-1;Yılmaz;Elif;14.03.2015;trips;01.01.2026;31.12.2026;150,00;SGB2",
    "D-3;HAM-7;P-2;Yılmaz;Can;02.09.2011;lunch;01.02.2026;31.07.2026;;BKGG",
]


def _file(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


@pytest.fixture
def office(make):
    issuer = make.issuer()
    return {
        "issuer": issuer,
        "caseworker": Staff.of(make.staff(issuer, Role.CASEWORKER)),
        "approver": Staff.of(make.staff(issuer, Role.APPROVER)),
    }


def _mine(session, issuer_id, model):
    return session.scalar(
        select(func.count()).select_from(model).where(model.issuer_id == issuer_id)
    )


def _trail(session, issuer_id) -> dict[str, list[tuple[str, str]]]:
    """Each entitlement's audit events, in order: (action, actor)."""
    events = session.execute(
        select(AuditEvent.object_id, AuditEvent.action, AuditEvent.actor)
        .where(AuditEvent.issuer_id == issuer_id, AuditEvent.object_type == "entitlement")
        .order_by(AuditEvent.id)
    ).all()
    trail: dict[str, list[tuple[str, str]]] = {}
    for object_id, action, actor in events:
        trail.setdefault(object_id, []).append((action, actor))
    return trail


def test_recorded_by_one_confirmed_by_another_then_the_same_file_changes_nothing(
    session, office, monkeypatch
):
    import youcard.db

    monkeypatch.setattr(youcard.db, "ANALYZE_FROM", 1)  # statistics refreshed too
    issuer_id = office["issuer"].id
    batch = record_import(session, by=office["caseworker"], data=_file(*LINES),
                          file_name="bewilligungen.csv", now=NOW)  # fmt: skip
    assert batch.status == "recorded" and _mine(session, issuer_id, Entitlement) == 0
    confirm_import(session, by=office["approver"], batch_id=batch.id, now=NOW)
    entitlements = session.scalars(
        select(Entitlement).where(Entitlement.issuer_id == issuer_id).order_by(Entitlement.id)
    ).all()
    assert [(e.decision_ref, e.status, e.legal_basis) for e in entitlements] == [
        ("D-1", EntitlementStatus.APPROVED, "SGB2"),
        ("D-2", EntitlementStatus.APPROVED, "SGB2"),
        ("D-3", EntitlementStatus.APPROVED, "BKGG"),
    ]
    assert entitlements[1].amount_cents == 15_000 and entitlements[1].cap_cents == 15_000
    assert {e.recorded_by_id for e in entitlements} == {office["caseworker"].user_id}
    assert {e.decided_by_id for e in entitlements} == {office["approver"].user_id}
    assert _mine(session, issuer_id, Household) == 1 and _mine(session, issuer_id, Child) == 2
    assert ledger.check(session, issuer_id) == []
    trail = _trail(session, issuer_id)  # #28.1: as recorded and approved by hand
    for e in entitlements:
        assert trail[str(e.id)] == [
            ("entitlement.record", office["caseworker"].actor),
            ("entitlement.approve", office["approver"].actor),
        ]

    again = record_import(session, by=office["caseworker"], data=_file(*LINES),
                          file_name="bewilligungen.csv", now=NOW)  # fmt: skip
    assert '"unchanged": 3' in again.counts
    confirm_import(session, by=office["approver"], batch_id=again.id, now=NOW)
    assert _mine(session, issuer_id, Entitlement) == 3

    changed = [LINES[0], LINES[1].replace("150,00", "180,00"), LINES[2]]
    batch = record_import(session, by=office["caseworker"], data=_file(*changed),
                          file_name="x.csv", now=NOW)  # fmt: skip
    assert '"updated": 1' in batch.counts
    confirm_import(session, by=office["approver"], batch_id=batch.id, now=NOW)
    mine = select(Entitlement).where(Entitlement.issuer_id == issuer_id)
    trip = session.scalars(mine.where(Entitlement.decision_ref == "D-2")).one()
    assert (trip.amount_cents, trip.cap_cents) == (18_000, 18_000)
    assert _trail(session, issuer_id)[str(trip.id)][-1] == (
        "entitlement.import_change",
        office["approver"].actor,
    )


def test_four_eyes_refusals_and_rejection_leave_nothing_behind(session, make, office, refused):
    issuer_id = office["issuer"].id
    admin = Staff.of(make.staff(office["issuer"], Role.ADMINISTRATOR))
    batch = record_import(session, by=admin, data=_file(*LINES), file_name="a.csv", now=NOW)
    assert refused(confirm_import, by=admin, batch_id=batch.id, now=NOW).code == "four_eyes"
    system = Staff.system(issuer_id, "cli")
    assert refused(confirm_import, by=system, batch_id=batch.id, now=NOW).code == "forbidden"
    assert refused(confirm_import, by=office["caseworker"], batch_id=batch.id, now=NOW).code == (
        "role_not_permitted"
    )
    stranger = Staff.of(make.staff(make.issuer(), Role.APPROVER))
    assert refused(confirm_import, by=stranger, batch_id=batch.id, now=NOW).code == (
        "import_not_found"
    )
    reject_import(session, by=office["approver"], batch_id=batch.id, now=NOW)
    assert batch.status == "rejected" and _mine(session, issuer_id, Entitlement) == 0
    assert refused(confirm_import, by=office["approver"], batch_id=batch.id, now=NOW).code == (
        "already_decided"
    )
    bad = _file(LINES[0], LINES[1].replace("150,00", ""))
    error = refused(record_import, by=office["caseworker"], data=bad, file_name="b.csv", now=NOW)
    assert isinstance(error, LinesRefused)  # the refused lines only, with their reasons
    assert [(p.number, p.code) for p in error.plans] == [(3, "rule_required")]
    duplicate = record_import(session, by=office["caseworker"], data=_file(*LINES),
                              file_name="c.csv", now=NOW)  # fmt: skip
    assert duplicate.status == "recorded"
    error = refused(record_import, by=office["caseworker"], data=_file(*LINES),
                    file_name="c.csv", now=NOW)  # fmt: skip
    assert error.code == "import_waiting"


def test_two_imports_of_one_file_at_the_same_time_one_wins(database_url):
    engine = make_engine(database_url, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            people = [Staff.of(make.staff(issuer, Role.CASEWORKER)) for _ in range(2)]
            issuer_id = issuer.id
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def record(by):
            barrier.wait()
            try:
                with sessions.begin() as session:
                    record_import(session, by=by, data=_file(*LINES), file_name="f.csv", now=NOW)
                outcomes.append("recorded")
            except DomainError as error:
                outcomes.append(error.code)

        threads = [threading.Thread(target=record, args=(by,)) for by in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["import_waiting", "recorded"]
        with sessions() as session:
            assert _mine(session, issuer_id, ImportBatch) == 1
    finally:
        engine.dispose()


def test_the_page_offers_what_the_operations_allow(session, office, make, refused):
    """views.may_do (what the batch page offers) agrees with the operations: the recorder
    cannot confirm (four eyes), an approver can; letters only for recorders, once confirmed."""
    from youcard.reads.imports import may_do

    admin = Staff.of(make.staff(office["issuer"], Role.ADMINISTRATOR))
    batch = record_import(session, by=office["caseworker"], data=_file(*LINES),
                          file_name="b.csv", now=NOW)  # fmt: skip
    assert may_do(batch, by=office["caseworker"]).confirm is False
    assert refused(confirm_import, by=office["caseworker"], batch_id=batch.id, now=NOW)
    assert may_do(batch, by=office["caseworker"]).reject is True
    approver = may_do(batch, by=office["approver"])
    assert approver.confirm and approver.reject and approver.letters == 0
    confirm_import(session, by=office["approver"], batch_id=batch.id, now=NOW)
    assert not may_do(batch, by=admin).confirm and not may_do(batch, by=admin).reject
    assert may_do(batch, by=office["caseworker"]).letters == batch.families == 1
    assert may_do(batch, by=office["approver"]).letters == 0  # approvers do not print letters


def test_a_confirmed_import_tells_the_families_it_can_reach(session, office, make):
    """A family already known with an e-mail address hears of its new benefit (the batch's
    letters bring access codes: the message carries none); a family the file brings has no
    address yet and hears nothing but its letter."""
    from youcard.domain.models import OutboxMessage

    known = make.household(office["issuer"])
    known.reference, known.email, known.language = "HAM-7", "yilmaz@example.org", "tr"
    session.flush()
    new_family = "D-9;HAM-8;P-9;Kaya;Deniz;01.06.2016;participation;01.01.2026;31.12.2026;;SGB2"
    batch = record_import(session, by=office["caseworker"], data=_file(*LINES, new_family),
                          file_name="bewilligungen.csv", now=NOW)  # fmt: skip
    confirm_import(session, by=office["approver"], batch_id=batch.id, now=NOW)
    told = session.scalars(
        select(OutboxMessage).where(OutboxMessage.issuer_id == office["issuer"].id)
    ).all()
    assert (
        sorted((m.event, m.address, m.household_id) for m in told)
        == [("benefit_approved", "yilmaz@example.org", known.id)] * 3
    )
    assert all("sealed_code" not in m.facts for m in told)
    assert known.access_code_hash is None
