"""The import job (`youcard jobs run imports`): a file uploaded on the page or the API waits
as a queued batch; the job checks it a chunk at a time (later chunks against earlier ones),
keeps a refused batch with its report, a dry run as checked, and records the rest. Two
runners at once check each batch once; a run that stalled is taken over."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from tests.factories import KEK, NOW, Factory
from youcard.domain.enums import CardStatus, Category, Role
from youcard.domain.models import AuditEvent, Card, Entitlement, ImportBatch, ImportLine
from youcard.imports import approvals_file
from youcard.imports.batches import queue_import, stored_plans
from youcard.imports.confirmation import confirm_import
from youcard.jobs.imports import (
    STALE_AFTER,
    _check_claimed,
    _claim_next,
    check_waiting_imports,
    issue_import_cards,
)
from youcard.policy import Staff

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur"
)
ELIF = "HAM-7;P-1;Yılmaz;Elif;14.03.2015"
CAN = "HAM-7;P-2;Yılmaz;Can;02.09.2011"


def _file(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


@pytest.fixture
def office(private_committed):
    with private_committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        return {
            "issuer_id": issuer.id,
            "caseworker": Staff.of(make.staff(issuer, Role.CASEWORKER)),
            "other": Staff.of(make.staff(issuer, Role.CASEWORKER)),
        }


def _queue(sessions, by, data, *, dry_run=False, name="f.csv"):
    with sessions.begin() as session:
        return queue_import(session, by=by, data=data, file_name=name, now=NOW, dry_run=dry_run).id


def _batch(sessions, batch_id):
    with sessions() as session:
        batch = session.get_one(ImportBatch, batch_id, options=[undefer(ImportBatch.data)])
        session.expunge(batch)
        return batch


def test_the_job_checks_a_chunk_at_a_time_against_earlier_chunks(
    private_committed, office, monkeypatch
):
    monkeypatch.setattr(approvals_file, "CHUNK", 2)
    sessions, by = private_committed, office["caseworker"]
    refused = _queue(sessions, by, _file(
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;",
        f"D-2;{CAN};lunch;01.02.2026;31.07.2026;",
        f"D-3;{ELIF};trips;01.01.2026;31.12.2026;150,00",
        f"D-4;{ELIF};participation;01.06.2026;31.12.2026;",  # overlaps D-1 (an earlier chunk)
        "D-5;HAM-7;P-2;Yılmaz;Can;03.09.2011;trips;01.01.2026;31.12.2026;90,00",  # not D-2's Can
    ))  # fmt: skip
    clean = _queue(sessions, by, _file(
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;",
        f"D-2;{CAN};lunch;01.02.2026;31.07.2026;",
        f"D-3;{ELIF};trips;01.01.2026;31.12.2026;150,00",
    ))  # fmt: skip
    dry = _queue(sessions, office["other"], _file(f"D-9;{CAN};tutoring;01.02.2026;31.07.2026;"),
                 dry_run=True)  # fmt: skip
    twice = _queue(sessions, by, _file(
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;",
        f"D-2;{CAN};lunch;01.02.2026;31.07.2026;",
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;",
    ))  # fmt: skip
    assert _batch(sessions, refused).status == "queued"

    assert check_waiting_imports(sessions, lambda: NOW) == 4
    assert check_waiting_imports(sessions, lambda: NOW) == 0  # nothing left: nothing done

    batch = _batch(sessions, refused)
    assert (batch.status, batch.lines_done, batch.data) == ("refused", 5, None)
    assert json.loads(batch.counts) == {
        "created": 3, "updated": 0, "unchanged": 0, "ended": 0, "refused": 2
    }  # fmt: skip
    with sessions() as session:
        reasons = [(p.number, p.code) for p in stored_plans(session, refused, outcome="refused")]
        assert reasons == [(5, "overlapping_entitlement"), (6, "child_conflict")]
        page = list(stored_plans(session, refused, after=2, limit=2))
        assert [(p.number, p.outcome) for p in page] == [(3, "created"), (4, "created")]
        assert session.scalar(select(func.count()).select_from(Entitlement)) == 0
    assert _batch(sessions, clean).status == "recorded"
    assert _batch(sessions, dry).status == "checked"
    batch = _batch(sessions, twice)
    assert (batch.status, batch.problem_code) == ("refused", "duplicate_decision_ref")
    assert "line 2 and again in line 4" in (batch.problem or "")
    with sessions() as session:  # a refused file keeps no lines, however far it was read
        lines = select(func.count()).select_from(ImportLine).where(ImportLine.batch_id == twice)
        assert session.scalar(lines) == 0
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "import_batch")
        ).all()
        assert sorted(actions) == sorted(
            ["import.upload"] * 4 + ["import.refuse", "import.record", "import.check",
                                    "import.refuse"]
        )  # fmt: skip


def test_two_runners_at_once_check_every_batch_once(private_committed, office, monkeypatch):
    monkeypatch.setattr(approvals_file, "CHUNK", 3)
    sessions = private_committed
    ids = [
        _queue(sessions, office["caseworker"], _file(*(
            f"D-{n}-{k};HAM-{n};P-{n}-{k};Kaya;Kind{k};01.05.2014;lunch;01.02.2026;31.07.2026;"
            for k in range(10)
        )), name=f"{n}.csv")
        for n in range(6)
    ]  # fmt: skip
    barrier = threading.Barrier(2)
    checked: list[int] = []

    def run():
        barrier.wait()
        checked.append(check_waiting_imports(sessions, lambda: NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(checked) == 6
    with sessions() as session:
        assert {b.status for b in session.scalars(select(ImportBatch))} == {"recorded"}
        assert session.scalar(select(func.count()).select_from(ImportLine)) == 60
        records = (
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import.record")
        )
        assert session.scalar(records) == len(ids)


def test_a_stalled_check_is_taken_over_and_the_stalled_run_stops(private_committed, office):
    sessions = private_committed
    batch_id = _queue(sessions, office["caseworker"], _file(
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;"
    ))  # fmt: skip
    claimed = _claim_next(sessions, NOW)
    assert claimed is not None and claimed[0] == batch_id
    with sessions.begin() as session:  # the run stored a line, then its machine stopped
        session.add(ImportLine(batch_id=batch_id, number=2, decision_ref="D-1",
                               outcome="created", data="{}"))  # fmt: skip
    assert check_waiting_imports(sessions, lambda: NOW + timedelta(minutes=1)) == 0  # still its
    later = NOW + STALE_AFTER + timedelta(seconds=1)
    assert check_waiting_imports(sessions, lambda: later) == 1
    batch = _batch(sessions, batch_id)
    assert (batch.status, batch.lines_done) == ("recorded", 1)
    with sessions() as session:
        data = session.scalars(select(ImportLine.data).where(ImportLine.batch_id == batch_id)).all()
        assert len(data) == 1 and json.loads(data[0])["decision_ref"] == "D-1"
    # The stalled run wakes up: its claim is gone, it stops and changes nothing.
    assert _check_claimed(sessions, batch_id, claimed[1], lambda: later) is False
    assert _batch(sessions, batch_id).status == "recorded"


def test_the_cards_of_a_confirmed_import_are_issued_once_by_two_runners(private_committed):
    sessions = private_committed
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        caseworker = Staff.of(make.staff(issuer, Role.CASEWORKER))
        approver = Staff.of(make.staff(issuer, Role.APPROVER))
        has_card = make.child(issuer)
        has_card.child_ref = "P-9"
        make.entitlement(has_card, Category.PARTICIPATION)
        make.card(has_card)
        issuer_id = issuer.id
        known = f"D-5;{has_card.household.reference};P-9;Muster;{has_card.given_name};17.05.2014"
    data = _file(
        f"D-1;{ELIF};participation;01.01.2026;31.12.2026;",
        f"D-2;{ELIF};trips;01.01.2026;31.12.2026;150,00",
        f"D-3;{CAN};lunch;01.02.2026;31.07.2026;",
        "D-4;HAM-8;P-3;Kaya;Deniz;01.05.2014;participation;01.01.2026;31.12.2026;",
        f"{known};trips;01.01.2026;31.12.2026;80,00",
    )
    batch_id = _queue(sessions, caseworker, data)
    check_waiting_imports(sessions, lambda: NOW)
    with sessions.begin() as session:
        confirm_import(session, by=approver, batch_id=batch_id, now=NOW)
    barrier = threading.Barrier(2)
    issued: list[int] = []

    def run():
        barrier.wait()
        issued.append(issue_import_cards(sessions, lambda: NOW, kek=lambda: KEK))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(issued) == [0, 3]  # Elif, Can, Deniz; the child with a card keeps it
    with sessions() as session:
        active = session.execute(
            select(Card.child_id, func.count())
            .where(Card.issuer_id == issuer_id, Card.status == CardStatus.ACTIVE)
            .group_by(Card.child_id)
        ).all()
        assert len(active) == 4 and {n for _child, n in active} == {1}
        batch = session.get_one(ImportBatch, batch_id)
        assert (batch.cards_issued, batch.cards_done_at is not None) == (3, True)
    assert issue_import_cards(sessions, lambda: NOW, kek=lambda: KEK) == 0
