"""Password hashing (argon2id) and random tokens stored as hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

TOKEN_BYTES = 32


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A random bearer token, e.g. `ycd_…` (the prefix tells a leaked token's kind)."""
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def token_hash(token: str) -> bytes:
    """What the database stores of a token: SHA-256 (tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).digest()
