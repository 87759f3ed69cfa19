"""Signing keys per issuer: made, rotated and withdrawn here; private halves encrypted.

Only the issuer (and the operator's CLI) imports this module; what verifiers need
(the trust list, public keys) is in `youcard.credentials.trust`.

The private key is stored encrypted with AES-256-GCM under the key-encryption
key (KEK), with the issuer and kid as associated data so that a ciphertext
cannot be moved to another key's row. Only the issuer process loads the KEK
(`load_kek`); the redeemer verifies with public keys from the trust list.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import func, select

from youcard import audit, credentials
from youcard.config import Settings, instance_secret
from youcard.db import Session
from youcard.domain.enums import CardStatus, KeyStatus
from youcard.domain.models import Card, Issuer, SigningKey
from youcard.errors import Conflict, DomainError, NotFound
from youcard.policy import ADMINISTRATORS, Staff, require_role

KEK_BYTES = 32
NONCE_BYTES = 12


class KeyEncryptionKeyMissing(DomainError):
    """The key-encryption key is not configured (and may not be generated here)."""

    code = "kek_missing"


def load_kek(settings: Settings, env: dict[str, str] | None = None) -> bytes:
    """The KEK from `YOUCARD_KEK` (base64url, 32 bytes); generated into instance/ when embedded."""
    env = dict(os.environ) if env is None else env
    text = env.get("YOUCARD_KEK")
    if not text:
        if not settings.is_sqlite:
            raise KeyEncryptionKeyMissing(
                "YOUCARD_KEK is not set: a production issuer needs its key-encryption key."
            )
        text = instance_secret(settings.instance_path, "kek", nbytes=KEK_BYTES)
    kek = credentials.b64url_decode(text.strip())
    if len(kek) != KEK_BYTES:
        raise KeyEncryptionKeyMissing("YOUCARD_KEK must be 32 bytes, base64url-encoded.")
    return kek


def _aad(issuer_id: str, kid: bytes) -> bytes:
    return f"youcard-signing-key:{issuer_id}:{kid.hex()}".encode()


def _encrypt(kek: bytes, issuer_id: str, kid: bytes, private_key: Ed25519PrivateKey) -> bytes:
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, seed, _aad(issuer_id, kid))


def private_key_of(key: SigningKey, kek: bytes) -> Ed25519PrivateKey:
    """Decrypt a key's private half (InvalidTag from `cryptography` when the KEK is wrong)."""
    if key.private_key_encrypted is None:
        raise Conflict("This key has no private half here.", code="no_private_key")
    blob = key.private_key_encrypted
    seed = AESGCM(kek).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(key.issuer_id, key.kid))
    return Ed25519PrivateKey.from_private_bytes(seed)


def create_key(
    session: Session,
    *,
    by: Staff,
    kek: bytes,
    now: datetime,
    private_key: Ed25519PrivateKey | None = None,
) -> SigningKey:
    """A new active key for the issuer (refused while another is active: rotate instead)."""
    require_role(by, ADMINISTRATORS, "create signing keys")
    if session.get(Issuer, by.issuer_id) is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    if active_key(session, by.issuer_id) is not None:
        raise Conflict("The issuer already has an active key; rotate it.", code="key_exists")
    private_key = private_key or Ed25519PrivateKey.generate()
    public = credentials.raw_public_key(private_key.public_key())
    kid = credentials.kid_for(public)
    key = SigningKey(
        issuer_id=by.issuer_id,
        kid=kid,
        public_key=public,
        private_key_encrypted=_encrypt(kek, by.issuer_id, kid, private_key),
        status=KeyStatus.ACTIVE,
        created_at=now,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="key.create",
        object_type="signing_key",
        object_id=key.id,
        now=now,
        data={"kid": credentials.b64url(kid)},
    )
    return key


def active_key(session: Session, issuer_id: str) -> SigningKey | None:
    """The issuer's active signing key, if any."""
    return session.scalars(
        select(SigningKey).where(
            SigningKey.issuer_id == issuer_id, SigningKey.status == KeyStatus.ACTIVE
        )
    ).first()


def rotate_key(session: Session, *, by: Staff, kek: bytes, now: datetime) -> SigningKey:
    """Retire the active key (it still verifies its cards) and make a new active one."""
    require_role(by, ADMINISTRATORS, "rotate signing keys")
    old = session.scalars(
        select(SigningKey)
        .where(SigningKey.issuer_id == by.issuer_id, SigningKey.status == KeyStatus.ACTIVE)
        .with_for_update()
    ).first()
    if old is not None:
        old.status = KeyStatus.RETIRED
        old.retired_at = now
        session.flush()
        audit.record(
            session,
            issuer_id=by.issuer_id,
            actor=by.actor,
            action="key.retire",
            object_type="signing_key",
            object_id=old.id,
            now=now,
            data={"kid": credentials.b64url(old.kid)},
        )
    return create_key(session, by=by, kek=kek, now=now)


def find_key(session: Session, *, issuer_id: str, kid: str) -> SigningKey:
    """A key by its base64url kid."""
    try:
        raw = credentials.b64url_decode(kid)
    except ValueError:
        raw = b""
    key = session.scalars(
        select(SigningKey).where(SigningKey.issuer_id == issuer_id, SigningKey.kid == raw)
    ).first()
    if key is None:
        raise NotFound("No such key.", code="key_not_found")
    return key


def last_card_expiry(session: Session, key: SigningKey) -> date | None:
    """The last day of validity of the active cards this key signed."""
    return session.scalar(
        select(func.max(Card.valid_until)).where(
            Card.signing_key_id == key.id, Card.status == CardStatus.ACTIVE
        )
    )


def withdraw_key(
    session: Session, *, by: Staff, kid: str, now: datetime, today: date
) -> SigningKey:
    """Take a retired key out of the trust list; refused while an unexpired card depends on it."""
    require_role(by, ADMINISTRATORS, "withdraw signing keys")
    key = find_key(session, issuer_id=by.issuer_id, kid=kid)
    if key.status is KeyStatus.ACTIVE:
        raise Conflict("The active key cannot be withdrawn; rotate first.", code="key_active")
    if key.status is not KeyStatus.RETIRED:
        raise Conflict("This key is not in the trust list.", code="key_not_listed")
    until = last_card_expiry(session, key)
    if until is not None and until >= today:
        raise Conflict(
            f"Cards signed by this key are valid until {until.isoformat()}.",
            code="key_in_use",
            until=until,
        )
    key.status = KeyStatus.WITHDRAWN
    key.private_key_encrypted = None  # nothing will ever be signed with it again
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="key.withdraw",
        object_type="signing_key",
        object_id=key.id,
        now=now,
        data={"kid": kid},
    )
    return key
