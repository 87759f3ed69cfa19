"""The audit log's hash chain: sealed events cannot be edited or deleted unnoticed."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from tests.factories import NOW
from youcard import audit
from youcard.domain.models import AuditEvent, AuditHead


def _events(session, issuer_id, n):
    for i in range(n):
        audit.record(
            session,
            issuer_id=issuer_id,
            actor="staff:1",
            action="test.event",
            object_type="thing",
            object_id=i,
            now=NOW,
            data={"i": i, "text": "Grüße"},
        )


def test_seal_chains_every_event_and_verify_accepts_it(session, make):
    issuer = make.issuer()
    _events(session, issuer.id, 5)
    assert audit.seal(session, issuer.id) == 5
    assert audit.seal(session, issuer.id) == 0
    _events(session, issuer.id, 2)
    assert audit.seal(session, issuer.id) == 2
    seqs = session.scalars(
        select(AuditEvent.seq).where(AuditEvent.issuer_id == issuer.id).order_by(AuditEvent.id)
    ).all()
    assert seqs == [1, 2, 3, 4, 5, 6, 7]
    assert session.get(AuditHead, issuer.id).seq == 7
    assert audit.verify(session) == []


def test_an_edited_event_is_found(session, make):
    issuer = make.issuer()
    _events(session, issuer.id, 4)
    audit.seal(session, issuer.id)
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.issuer_id == issuer.id, AuditEvent.seq == 2)
        .values(actor="staff:2")
    )
    problems = audit.verify(session)
    assert [(p.issuer_id, p.seq, p.problem) for p in problems] == [
        (issuer.id, 2, "hash does not match the content")
    ]


def test_a_deleted_event_is_found(session, make):
    issuer = make.issuer()
    _events(session, issuer.id, 4)
    audit.seal(session, issuer.id)
    session.execute(
        delete(AuditEvent).where(AuditEvent.issuer_id == issuer.id, AuditEvent.seq == 3)
    )
    problems = {(p.seq, p.problem) for p in audit.verify(session)}
    assert (3, "missing event") in problems


def test_a_truncated_chain_is_found(session, make):
    issuer = make.issuer()
    _events(session, issuer.id, 3)
    audit.seal(session, issuer.id)
    session.execute(
        delete(AuditEvent).where(AuditEvent.issuer_id == issuer.id, AuditEvent.seq == 3)
    )
    problems = audit.verify(session)
    assert [p.problem for p in problems] == ["chain head does not match the last event"]


def test_chains_are_per_issuer(session, make):
    a, b = make.issuer(), make.issuer()
    _events(session, a.id, 2)
    _events(session, b.id, 3)
    assert audit.seal(session, a.id) == 2
    assert audit.unsealed_count(session) >= 3
    assert audit.seal(session, b.id) == 3
    assert audit.verify(session) == []


def test_one_issuers_check_reads_only_its_own_chain(session, make):
    """The audit page checks the signed-in issuer's chain only (#15.7)."""
    mine, other = make.issuer(), make.issuer()
    for issuer in (mine, other):
        _events(session, issuer.id, 3)
        audit.seal(session, issuer.id)
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.issuer_id == other.id, AuditEvent.seq == 1)
        .values(actor="staff:9")
    )
    assert audit.verify(session, mine.id) == []
    assert [p.issuer_id for p in audit.verify(session, other.id)] == [other.id]
