"""The YC1 credential: `YC1:` + base45(COSE_Sign1(CWT claims)), Ed25519 (docs/credential.md).

Pure: no database, no clock (the caller passes `now`). `verify` never raises:
whatever it is given, it answers with a typed result and one of docs/credential.md's
reason codes, checked in docs/credential.md's order.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_EDDSA",
    "CATEGORY_NUMBERS",
    "COSE_SIGN1_TAG",
    "KID_BYTES",
    "MAX_CREDENTIAL_LENGTH",
    "MAX_TIME",
    "MAX_UINT64",
    "PREFIX",
    "REASONS",
    "SERIAL_BYTES",
    "Claims",
    "Reason",
    "TrustedKeys",
    "VerifyResult",
    "b45decode",
    "b64url",
    "b64url_decode",
    "encode",
    "kid_for",
    "raw_public_key",
    "verify",
]

PREFIX = "YC1:"
MAX_CREDENTIAL_LENGTH = 600  # a genuine credential has about 214 characters
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG, HEADER_KID = 1, 4
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_YOUCARD = 1, 4, 6, -65537
YOUCARD_SERIAL, YOUCARD_CATEGORIES, YOUCARD_VERSION = 1, 2, 3
SERIAL_BYTES = 16
KID_BYTES = 8
CATEGORY_NUMBERS = frozenset({1, 2, 3, 4})
MAX_UINT64 = 2**64 - 1
# Times in a card are unix seconds no later than 9999-12-31T23:59:59Z: larger ones are no
# date at all (Python's datetime cannot hold them), so the text is malformed.
MAX_TIME = 253_402_300_799

Reason = Literal[
    "malformed", "unknown_issuer", "unknown_key", "bad_signature", "expired", "revoked"
]
REASONS: tuple[Reason, ...] = (
    "malformed",
    "unknown_issuer",
    "unknown_key",
    "bad_signature",
    "expired",
    "revoked",
)


@dataclass(frozen=True)
class Claims:
    """What a card's QR says: issuer, times (unix seconds), serial, category numbers, version."""

    issuer: str
    issued_at: int
    expires_at: int
    serial: bytes
    categories: tuple[int, ...]
    version: int


@dataclass(frozen=True)
class VerifyResult:
    """`valid` with the claims and kid, or not valid with a reason (claims when they were read)."""

    valid: bool
    reason: Reason | None = None
    claims: Claims | None = None
    kid: bytes | None = None


def _invalid(
    reason: Reason, claims: Claims | None = None, kid: bytes | None = None
) -> VerifyResult:
    return VerifyResult(valid=False, reason=reason, claims=claims, kid=kid)


def kid_for(public_key: Ed25519PublicKey | bytes) -> bytes:
    """The key id: the first 8 bytes of SHA-256 over the raw 32-byte public key."""
    raw = public_key if isinstance(public_key, bytes) else raw_public_key(public_key)
    return hashlib.sha256(raw).digest()[:KID_BYTES]


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def b64url(data: bytes) -> str:
    """base64url without padding (JWK, RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TrustedKeys:
    """The public keys a verifier trusts: issuer → kid → key."""

    keys: dict[str, dict[bytes, Ed25519PublicKey]] = field(default_factory=dict)

    def add(self, issuer: str, public_key: Ed25519PublicKey | bytes) -> bytes:
        """Trust `public_key` for `issuer`; returns its kid."""
        key = (
            Ed25519PublicKey.from_public_bytes(public_key)
            if isinstance(public_key, bytes)
            else public_key
        )
        kid = kid_for(key)
        self.keys.setdefault(issuer, {})[kid] = key
        return kid

    @classmethod
    def from_jwks(cls, entries: Iterable[Mapping[str, Any]]) -> TrustedKeys:
        """Build from trust-list entries (`iss`, `kid`, `kty` OKP, `crv` Ed25519, `x`)."""
        trusted = cls()
        for entry in entries:
            if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                continue
            kid = trusted.add(str(entry["iss"]), b64url_decode(str(entry["x"])))
            if "kid" in entry and b64url_decode(str(entry["kid"])) != kid:
                raise ValueError(f"trust list kid {entry['kid']} does not match its key")
        return trusted


def _canonical(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _canonical(["Signature1", protected, b"", payload])


def encode(claims: Claims, private_key: Ed25519PrivateKey) -> str:
    """Sign `claims` and return the QR text `YC1:…` (deterministic: same input, same text)."""
    protected = _canonical({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid_for(private_key.public_key())})
    payload = _canonical(
        {
            CLAIM_ISS: claims.issuer,
            CLAIM_IAT: claims.issued_at,
            CLAIM_EXP: claims.expires_at,
            CLAIM_YOUCARD: {
                YOUCARD_SERIAL: claims.serial,
                YOUCARD_CATEGORIES: list(claims.categories),
                YOUCARD_VERSION: claims.version,
            },
        }
    )
    signature = private_key.sign(_sig_structure(protected, payload))
    message = _canonical(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    encoded: bytes = base45.b45encode(message)
    return PREFIX + encoded.decode("ascii")


class _Malformed(Exception):
    """Internal: the credential's shape is wrong."""


_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUES = bytes(
    _B45_ALPHABET.index(chr(i)) if chr(i) in _B45_ALPHABET else 255 for i in range(256)
)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 decoding; ValueError for anything that is not base45.

    The `base45` package's decoder took 17.6 µs of a 147 µs verify (a Python loop
    per character); this one takes 6.9 µs (translate + struct) and is property-
    tested to agree with the package on valid and invalid input. Encoding, off
    the hot path, stays with the package.
    """
    try:
        values = text.encode("ascii").translate(_B45_VALUES)
    except UnicodeEncodeError as exc:
        raise ValueError("not base45") from exc
    if b"\xff" in values or len(values) % 3 == 1:
        raise ValueError("not base45")
    full = len(values) - len(values) % 3
    words = [
        a + b * 45 + c * 2025
        for a, b, c in zip(values[0:full:3], values[1:full:3], values[2:full:3], strict=True)
    ]
    try:
        out = struct.pack(f">{len(words)}H", *words)
        if full < len(values):
            out += struct.pack(">B", values[full] + values[full + 1] * 45)
    except struct.error as exc:
        raise ValueError("not base45") from exc
    return out


def _loads(data: bytes) -> Any:
    """Strict CBOR: definite lengths, no duplicate keys, shallow. Bytes after the first item
    are not looked at here: every decoded part of a credential must then re-encode to exactly
    its bytes (`_parse`), which trailing bytes never do. (cbor2.loads with these
    options costs 0.5 µs; a CBORDecoder over a BytesIO, to see the trailing bytes here, cost
    1.8 µs, three times per verify: bench/credentials.py.)"""
    try:
        return cbor2.loads(data, max_depth=8, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, EOFError) as exc:
        raise _Malformed from exc


def _encodes_to(value: Any, encoded: bytes) -> bool:
    """Whether `encoded` is exactly cbor2's plain encoding of `value` (minimal lengths,
    definite, maps in their order)."""
    try:
        return cbor2.dumps(value) == encoded
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        return False


_SIGN1_HEAD = b"\xd2\x84"  # tag 18, an array of 4 (then: bstr, the empty map a0, bstr, bstr)


def _bstr(data: bytes) -> bytes:
    """A byte string as CBOR writes it shortest, as `cbor2.dumps(data)` does (tested equal):
    for the envelope's parts, a third of the cost of encoding the whole envelope again."""
    size = len(data)
    if size < 24:
        return bytes((0x40 | size,)) + data
    if size < 256:
        return bytes((0x58, size)) + data
    if size < 65536:
        return b"\x59" + size.to_bytes(2, "big") + data
    return b"\x5a" + size.to_bytes(4, "big") + data


def _key_order(*keys: int) -> tuple[int, ...]:
    """The canonical order of a map's integer keys (as `_canonical` writes them)."""
    return tuple(cbor2.loads(_canonical(dict.fromkeys(keys, 0))))


# The canonical header is {alg: EdDSA, kid: <8 bytes>}: these bytes, then the kid.
_HEADER_BEFORE_KID = _canonical({HEADER_ALG: ALG_EDDSA, HEADER_KID: bytes(KID_BYTES)})[:-KID_BYTES]
_CLAIMS_ORDER = _key_order(CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_YOUCARD)
_CARD_ORDER = _key_order(YOUCARD_SERIAL, YOUCARD_CATEGORIES, YOUCARD_VERSION)


def _uint(value: Any, limit: int = MAX_UINT64) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise _Malformed
    return value


def _parse(text: str) -> tuple[bytes, bytes, bytes, bytes, Claims]:
    """Prefix, base45, tag 18, headers and claims → (protected, payload, signature, kid, claims)."""
    if not text.startswith(PREFIX):
        raise _Malformed
    try:
        raw = b45decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise _Malformed from exc
    message = _loads(raw)
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise _Malformed
    parts = message.value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise _Malformed
    protected, unprotected, payload, signature = parts
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and len(unprotected) == 0
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise _Malformed
    header = _loads(protected)
    claims_map = _loads(payload)
    if not isinstance(header, Mapping) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise _Malformed
    kid = header[HEADER_KID]
    if header[HEADER_ALG] != ALG_EDDSA or type(header[HEADER_ALG]) is not int:
        raise _Malformed
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise _Malformed
    if not isinstance(claims_map, Mapping):
        raise _Malformed
    if set(claims_map) != {CLAIM_ISS, CLAIM_IAT, CLAIM_EXP, CLAIM_YOUCARD}:
        raise _Malformed
    issuer = claims_map[CLAIM_ISS]
    card = claims_map[CLAIM_YOUCARD]
    if not isinstance(issuer, str) or not 0 < len(issuer) <= 40:
        raise _Malformed
    if not isinstance(card, Mapping) or set(card) != {
        YOUCARD_SERIAL,
        YOUCARD_CATEGORIES,
        YOUCARD_VERSION,
    }:
        raise _Malformed
    serial, categories = card[YOUCARD_SERIAL], card[YOUCARD_CATEGORIES]
    if not isinstance(serial, bytes) or len(serial) != SERIAL_BYTES:
        raise _Malformed
    if (
        not isinstance(categories, list | tuple)
        or not all(type(c) is int and c in CATEGORY_NUMBERS for c in categories)
        or len(set(categories)) != len(categories)
    ):
        raise _Malformed
    if len(signature) != 64:
        raise _Malformed
    # Keys that only compare equal to the integers (True, 1.0) are another encoding of the
    # same card, which even its key holder may not make: integer keys only.
    if not all(type(key) is int for each in (header, claims_map, card) for key in each):
        raise _Malformed
    # Canonical bytes only (docs/credential.md): the text must be exactly the deterministic
    # encoding of what it says, so no one can make a second text for the same card
    # (non-minimal lengths, a self-describing tag 55799 in front, unsorted keys: all
    # malformed). Checked once the shapes above are known: for them (integers, texts, byte
    # strings, lists of integers and maps with exactly these keys) the deterministic encoding
    # is the plain one with each map's keys in their canonical order (8 µs less than
    # re-encoding canonically; property-tested against `_canonical` in
    # tests/credentials/test_codec.py).
    if not (
        protected == _HEADER_BEFORE_KID + kid  # the only header there is, canonical
        and tuple(claims_map) == _CLAIMS_ORDER
        and tuple(card) == _CARD_ORDER
        and raw == _SIGN1_HEAD + _bstr(protected) + b"\xa0" + _bstr(payload) + _bstr(signature)
        and _encodes_to(claims_map, payload)
    ):
        raise _Malformed
    claims = Claims(
        issuer=issuer,
        issued_at=_uint(claims_map[CLAIM_IAT], MAX_TIME),
        expires_at=_uint(claims_map[CLAIM_EXP], MAX_TIME),
        serial=serial,
        categories=tuple(categories),
        version=_uint(card[YOUCARD_VERSION]),
    )
    return protected, payload, signature, kid, claims


def verify(
    credential: object,
    *,
    trusted: TrustedKeys,
    now: int,
    is_revoked: Callable[[bytes], bool] = lambda serial: False,
) -> VerifyResult:
    """Check a scanned text; never raises. Reasons in docs/credential.md's order."""
    if isinstance(credential, bytes | bytearray | memoryview):
        try:
            credential = bytes(credential).decode("ascii")
        except UnicodeDecodeError:
            return _invalid("malformed")
    if not isinstance(credential, str) or len(credential) > MAX_CREDENTIAL_LENGTH:
        return _invalid("malformed")
    try:
        protected, payload, signature, kid, claims = _parse(credential)
    except _Malformed:
        return _invalid("malformed")
    issuer_keys = trusted.keys.get(claims.issuer)
    if issuer_keys is None:
        return _invalid("unknown_issuer", claims, kid)
    public_key = issuer_keys.get(kid)
    if public_key is None:
        return _invalid("unknown_key", claims, kid)
    try:
        public_key.verify(signature, _sig_structure(protected, payload))
    except InvalidSignature:
        return _invalid("bad_signature", None, kid)
    if not now < claims.expires_at:
        return _invalid("expired", claims, kid)
    if is_revoked(claims.serial):
        return _invalid("revoked", claims, kid)
    return VerifyResult(valid=True, claims=claims, kid=kid)
