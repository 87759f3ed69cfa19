"""A secret a message carries (the access code of an approval message), kept in the outbox
encrypted until the message is sent and then removed: AES-GCM under a key derived from the
issuer's key-encryption key (HKDF, its own purpose), bound to the message's event key so that
a sealed value cannot be moved to another message."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from youcard.credentials import b64url, b64url_decode

PURPOSE = b"youcard outbox secrets v1"
NONCE_BYTES = 12


def _key(kek: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(kek)


def seal(kek: bytes, secret: str, *, event_key: str) -> str:
    """`secret`, encrypted for the outbox row(s) of `event_key`."""
    nonce = os.urandom(NONCE_BYTES)
    box = AESGCM(_key(kek)).encrypt(nonce, secret.encode(), event_key.encode())
    return b64url(nonce + box)


def unseal(kek: bytes, sealed: str, *, event_key: str) -> str:
    """The secret; ValueError when it cannot be read (another key, another message)."""
    try:
        blob = b64url_decode(sealed)
        opened = AESGCM(_key(kek)).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], event_key.encode()
        )
    except (InvalidTag, ValueError) as error:
        raise ValueError("the sealed secret cannot be read") from error
    return opened.decode()
