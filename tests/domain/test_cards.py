"""Issuing, revoking and replacing cards; signing keys, rotation and the trust list."""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import func, select

from tests.factories import KEK, NOW, PERIOD, Factory, at_counter, check_credential, trusted
from youcard import credentials
from youcard.config import load_settings
from youcard.credentials import keys, trust
from youcard.domain.enums import CardStatus, Category, KeyStatus, Role
from youcard.domain.models import Card, SigningKey
from youcard.errors import DomainError
from youcard.operations.booking import book
from youcard.operations.cards import (
    card_expiry,
    issue_card,
    replace_card,
    revoke_card,
)
from youcard.operations.verification import revocations_since
from youcard.policy import Staff


@pytest.fixture
def family(make):
    issuer = make.issuer()
    key = make.signing_key(issuer)
    child = make.child(issuer)
    make.entitlement(child, Category.PARTICIPATION)
    make.entitlement(child, Category.LUNCH)
    return {"issuer": issuer, "key": key, "child": child}


def _issue(session, family, **kw):
    args = dict(
        child_id=family["child"].id,
        by=Staff.system(family["issuer"].id, "staff:1"),
        now=NOW,
        kek=KEK,
    )
    args.update(kw)
    return issue_card(session, **args)


def test_an_issued_card_carries_a_verifiable_credential(session, family):
    card = _issue(session, family)
    assert len(card.serial) == 16 and card.version == 1 and card.status is CardStatus.ACTIVE
    assert card.valid_until == PERIOD[1] and card.signing_key_id == family["key"].id
    result = check_credential(session, card.credential, now=NOW)
    assert result.valid, result.reason
    claims = result.claims
    assert claims.issuer == family["issuer"].id and claims.serial == card.serial
    assert claims.categories == (1, 2)
    assert claims.expires_at == int(datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp())
    assert claims.issued_at == int(NOW.timestamp())
    assert result.kid == family["key"].kid


def test_the_credential_holds_no_personal_data(session, family):
    card = _issue(session, family)
    raw = credentials.b45decode(card.credential[4:])
    child = family["child"]
    for secret in (child.given_name, child.family_name, child.birth_date.isoformat()):
        assert secret.encode() not in raw


def test_expiry_is_the_end_of_the_last_day_in_berlin():
    summer = card_expiry(date(2026, 7, 31))
    assert datetime.fromtimestamp(summer, UTC) == datetime(2026, 7, 31, 22, 0, tzinfo=UTC)


def test_issue_is_refused_twice_without_approval_without_key_and_across_issuers(
    session, family, make, refused
):
    _issue(session, family)
    error = refused(
        issue_card,
        child_id=family["child"].id,
        by=Staff.system(family["issuer"].id, "x"),
        now=NOW,
        kek=KEK,
    )
    assert error.code == "card_exists"
    lonely = make.child(family["issuer"])
    error = refused(
        issue_card, child_id=lonely.id, by=Staff.system(family["issuer"].id, "x"), now=NOW, kek=KEK
    )
    assert error.code == "nothing_approved"
    other = make.issuer()
    error = refused(
        issue_card, child_id=family["child"].id, by=Staff.system(other.id, "x"), now=NOW, kek=KEK
    )
    assert error.code == "child_not_found"
    keyless_child = make.child(other)
    make.entitlement(keyless_child)
    error = refused(
        issue_card, child_id=keyless_child.id, by=Staff.system(other.id, "x"), now=NOW, kek=KEK
    )
    assert error.code == "no_signing_key"


def test_a_revoked_card_fails_at_once_and_is_on_the_revocation_list(session, family, refused):
    card = _issue(session, family)
    assert (
        refused(
            revoke_card, card_id=card.id, by=Staff.system(card.issuer_id, "a"), reason=" ", now=NOW
        ).code
        == "reason_required"
    )
    before = revocations_since(session, since=0)
    last = before[-1].seq if before else 0
    revoke_card(
        session,
        card_id=card.id,
        by=Staff.system(card.issuer_id, "staff:1"),
        reason="gestohlen",
        now=NOW,
    )
    assert check_credential(session, card.credential, now=NOW).reason == "revoked"
    new = revocations_since(session, since=last)
    assert [(r.serial, r.seq, r.reason) for r in new] == [(card.serial, last + 1, "gestohlen")]
    assert (
        refused(
            revoke_card, card_id=card.id, by=Staff.system(card.issuer_id, "a"), reason="x", now=NOW
        ).code
        == "card_not_active"
    )


def test_a_lost_card_is_replaced_and_the_budget_carries_over(session, family, make):
    card = _issue(session, family)
    partner = make.partner(family["issuer"], {Category.PARTICIPATION})
    book(
        session,
        by=at_counter(partner.id),
        credential=card.credential,
        trusted=trusted(session),
        category="participation",
        amount_cents=1500,
        idempotency_key="before",
        now=NOW,
    )
    new = replace_card(
        session,
        card_id=card.id,
        by=Staff.system(card.issuer_id, "staff:1"),
        reason="verloren",
        now=NOW,
        kek=KEK,
    )
    assert new.serial != card.serial and new.version == 2
    assert card.status is CardStatus.REPLACED and card.replaced_by_id == new.id
    assert check_credential(session, card.credential, now=NOW).reason == "revoked"
    assert check_credential(session, new.credential, now=NOW).claims.version == 2
    assert card.serial in {r.serial for r in revocations_since(session, since=0)}
    after = book(
        session,
        by=at_counter(partner.id),
        credential=new.credential,
        trusted=trusted(session),
        category="participation",
        amount_cents=1000,
        idempotency_key="after",
        now=NOW,
    )
    assert after.available.cents == 4500 - 1500 - 1000


def test_rotation_keeps_old_cards_valid_and_signs_new_ones_with_the_new_key(
    session, family, make, refused
):
    first = _issue(session, family)
    new_key = keys.rotate_key(
        session, by=Staff.system(family["issuer"].id, "admin"), kek=KEK, now=NOW
    )
    assert family["key"].status is KeyStatus.RETIRED and new_key.status is KeyStatus.ACTIVE
    sibling = make.child(family["issuer"])
    make.entitlement(sibling)
    second = issue_card(
        session, child_id=sibling.id, by=Staff.system(family["issuer"].id, "a"), now=NOW, kek=KEK
    )
    one, two = (check_credential(session, c.credential, now=NOW) for c in (first, second))
    assert one.valid and two.valid
    assert (one.kid, two.kid) == (family["key"].kid, new_key.kid)

    kid = credentials.b64url(family["key"].kid)
    today = date(2026, 3, 16)
    assert (
        refused(
            keys.withdraw_key,
            by=Staff.system(family["issuer"].id, "a"),
            kid=kid,
            now=NOW,
            today=today,
        ).code
        == "key_in_use"
    )
    assert (
        refused(
            keys.withdraw_key,
            by=Staff.system(family["issuer"].id, "a"),
            kid=credentials.b64url(new_key.kid),
            now=NOW,
            today=today,
        ).code
        == "key_active"
    )
    keys.withdraw_key(
        session,
        by=Staff.system(family["issuer"].id, "a"),
        kid=kid,
        now=NOW,
        today=PERIOD[1] + timedelta(days=1),
    )
    assert (
        family["key"].status is KeyStatus.WITHDRAWN and family["key"].private_key_encrypted is None
    )
    listed = {
        e["kid"]
        for e in trust.trust_list(session, now=NOW)["keys"]
        if e["iss"] == family["issuer"].id
    }
    assert listed == {credentials.b64url(new_key.kid)}
    assert check_credential(session, first.credential, now=NOW).reason == "unknown_key"


def test_the_trust_list_is_jwk_and_verifies_cards_after_a_json_round_trip(session, family):
    card = _issue(session, family)
    document = json.loads(json.dumps(trust.trust_list(session, now=NOW)))
    (entry,) = [e for e in document["keys"] if e["iss"] == family["issuer"].id]
    assert {k: entry[k] for k in ("kty", "crv", "status")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "status": "active",
    }
    assert entry["kid"] == credentials.b64url(family["key"].kid)
    assert entry["valid_until"] == PERIOD[1].isoformat()
    trusted = credentials.TrustedKeys.from_jwks(document["keys"])
    assert credentials.verify(card.credential, trusted=trusted, now=int(NOW.timestamp())).valid


def test_private_keys_are_encrypted_and_bound_to_their_row(session, family, make):
    key = family["key"]
    seed_free = key.private_key_encrypted
    assert seed_free is not None and len(seed_free) == 12 + 32 + 16
    signer = keys.private_key_of(key, KEK)
    assert credentials.kid_for(signer.public_key()) == key.kid
    with pytest.raises(InvalidTag):
        keys.private_key_of(key, bytes(32))
    other = make.signing_key(make.issuer())
    moved = SigningKey(
        issuer_id=other.issuer_id,
        kid=other.kid,
        public_key=other.public_key,
        private_key_encrypted=seed_free,
        status=KeyStatus.ACTIVE,
        created_at=NOW,
    )
    with pytest.raises(InvalidTag):
        keys.private_key_of(moved, KEK)


def test_a_second_active_key_is_refused(session, family, refused):
    error = refused(keys.create_key, by=Staff.system(family["issuer"].id, "a"), kek=KEK, now=NOW)
    assert error.code == "key_exists"


def test_the_kek_comes_from_the_environment_or_the_embedded_instance(tmp_path):
    embedded = load_settings({"YOUCARD_INSTANCE_PATH": str(tmp_path)})
    generated = keys.load_kek(embedded, env={})
    assert len(generated) == 32
    assert stat.S_IMODE((tmp_path / "kek").stat().st_mode) == 0o600
    assert keys.load_kek(embedded, env={}) == generated
    given = credentials.b64url(bytes(range(32)))
    assert keys.load_kek(embedded, env={"YOUCARD_KEK": given}) == bytes(range(32))
    production = load_settings(
        {
            "YOUCARD_INSTANCE_PATH": str(tmp_path / "p"),
            "YOUCARD_DATABASE_URL": "postgresql://x/y",
            "YOUCARD_SECRET_KEY": "s",
        }
    )
    with pytest.raises(keys.KeyEncryptionKeyMissing):
        keys.load_kek(production, env={})
    with pytest.raises(keys.KeyEncryptionKeyMissing):
        keys.load_kek(production, env={"YOUCARD_KEK": "c2hvcnQ"})
    assert not (tmp_path / "p" / "kek").exists()


def test_the_card_operations_decide_role_and_tenant_themselves(session, family, make, refused):
    """#15: a caseworker may not issue or block a card; a family may block only its own
    children's cards; another issuer's card is not found."""
    from youcard.domain.enums import Role
    from youcard.policy import Family

    issuer_id = family["issuer"].id
    caseworker = Staff(issuer_id, Role.CASEWORKER, "staff:7")
    assert refused(
        issue_card, child_id=family["child"].id, by=caseworker, now=NOW, kek=KEK
    ).code == ("role_not_permitted")
    card = _issue(session, family)
    assert refused(
        revoke_card, card_id=card.id, by=caseworker, reason="verloren", now=NOW
    ).code == ("role_not_permitted")
    stranger = Family(household_id=make.child(family["issuer"]).household_id, issuer_id=issuer_id)
    assert refused(revoke_card, card_id=card.id, by=stranger, reason="verloren", now=NOW).code == (
        "card_not_found"
    )
    elsewhere = Staff.system(make.issuer().id, "x")
    assert refused(revoke_card, card_id=card.id, by=elsewhere, reason="verloren", now=NOW).code == (
        "card_not_found"
    )
    own = Family(household_id=family["child"].household_id, issuer_id=issuer_id)
    assert revoke_card(
        session, card_id=card.id, by=own, reason="verloren", now=NOW
    ).status.value == ("revoked")


def test_two_people_issuing_a_card_at_the_same_moment_make_one(private_committed):
    sessions = private_committed
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        child = make.child(issuer)
        make.entitlement(child)
        people = [Staff.of(make.staff(issuer, Role.APPROVER)) for _ in range(2)]
        child_id = child.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def issue(by):
        barrier.wait()
        try:
            with sessions.begin() as session:
                issue_card(session, by=by, child_id=child_id, now=NOW, kek=KEK)
            outcomes.append("issued")
        except DomainError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=issue, args=(by,)) for by in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["card_exists", "issued"]
    with sessions() as session:
        active = (
            select(func.count())
            .select_from(Card)
            .where(Card.child_id == child_id, Card.status == CardStatus.ACTIVE)
        )
        assert session.scalar(active) == 1
