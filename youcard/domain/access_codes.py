"""A household's access code to the family area: 16 letters and digits a person reads from
paper or a phone without doubt, shown in four groups of four; the database keeps only its
SHA-256. Made by youcard.operations.family (for a letter or the counter) and by an approval
message (youcard.operations.entitlements)."""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper without doubt
CODE_LENGTH = 16  # 80 random bits


def normalize(code: str) -> str:
    """The code as typed: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def shown(code: str) -> str:
    """The code as letters and pages show it: four groups of four (ABCD-EFGH-...)."""
    code = normalize(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    """What the database keeps of an access code: SHA-256, hex."""
    return hashlib.sha256(normalize(code).encode("ascii", "replace")).hexdigest()


def well_formed(code: str) -> bool:
    """Whether `code` (normalized) could be an access code at all."""
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def random_code() -> str:
    """A new code, normalized."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
