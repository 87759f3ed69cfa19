"""A generated set of YC1 texts for comparing the page's verdicts with the server's
(tests/browser/test_offline_browser.py, bench/offline_verify.py): valid, tampered, expired,
revoked, another issuer, an unknown key, non-canonical, and junk. Deterministic (a seed)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from youcard.credentials import Claims, TrustedKeys, b64url, encode, kid_for, raw_public_key
from youcard.credentials import codec as credentials

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "yc1.json").read_text())
NOW = 1_770_000_000
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _case(text: str, *, now: int = NOW, revoked: list[str] | None = None) -> dict[str, Any]:
    return {"credential": text, "now": now, "revoked": revoked or []}


def _key(rng: random.Random) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))


def _jwk(issuer: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    public = raw_public_key(key.public_key())
    return {
        "iss": issuer,
        "kid": b64url(kid_for(public)),
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public),
        "status": "active",
    }


def _claims(rng: random.Random, issuer: str, **changes: Any) -> Claims:
    values: dict[str, Any] = {
        "issuer": issuer,
        "issued_at": NOW - rng.randint(0, 10**7),
        "expires_at": NOW + rng.randint(1, 10**8),
        "serial": rng.randbytes(16),
        "categories": tuple(sorted(rng.sample([1, 2, 3, 4], rng.randint(0, 4)))),
        "version": rng.choice([1, 2, 255, 65_536, 2**40, 2**64 - 1]),
    }
    return Claims(**{**values, **changes})


def _envelope(text: str, change) -> str:
    raw = base45.b45decode(text[4:])
    return "YC1:" + base45.b45encode(change(raw)).decode()


def _signed_maps(key: Ed25519PrivateKey, header: dict, claims: dict, prefix: bytes = b"") -> str:
    protected, payload = cbor2.dumps(header), cbor2.dumps(claims)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload], canonical=True))
    message = prefix + cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return "YC1:" + base45.b45encode(message).decode()


def generated(seed: int = 20261208) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(trust list entries, cases): each case {credential, now, revoked (hex serials)}."""
    rng = random.Random(seed)
    hamm, koeln, other = _key(rng), _key(rng), _key(rng)
    hamm_old, unlisted = _key(rng), _key(rng)
    trust = [
        _jwk("DE-NW-HAMM", hamm),
        _jwk("DE-NW-HAMM", hamm_old),
        _jwk("DE-NW-KÖLN-Ümlaut", koeln),
        *VECTORS["trust_list"],
    ]
    cases: list[dict[str, Any]] = [
        {
            "credential": c["credential"],
            "now": c["now"],
            "revoked": c.get("revoked_serials_hex", []),
        }
        for c in VECTORS["cases"]
    ]
    valid: list[str] = []
    for n in range(24):
        issuer, key = [
            ("DE-NW-HAMM", hamm),
            ("DE-NW-HAMM", hamm_old),
            ("DE-NW-KÖLN-Ümlaut", koeln),
        ][n % 3]
        valid.append(encode(_claims(rng, issuer), key))
    cases += [_case(text) for text in valid]
    revoked = _claims(rng, "DE-NW-HAMM")
    cases.append(_case(encode(revoked, hamm), revoked=[revoked.serial.hex()]))
    cases.append(_case(encode(_claims(rng, "DE-NW-HAMM", expires_at=NOW), hamm)))
    cases.append(
        {
            "credential": encode(_claims(rng, "DE-NW-HAMM", expires_at=NOW - 1), hamm),
            "now": NOW,
            "revoked": [],
        }
    )
    cases.append(_case(encode(_claims(rng, "DE-BY-FREMD"), other)))
    cases.append(_case(encode(_claims(rng, "DE-NW-HAMM"), unlisted)))
    for exp in (credentials.MAX_TIME, credentials.MAX_TIME + 1, 2**64 - 1):
        cases.append(_case(encode(_claims(rng, "DE-NW-HAMM", expires_at=exp), hamm)))
    # tampered: a bit of the message flipped, a character of the text changed, cut short
    for text in valid[:12]:
        raw = base45.b45decode(text[4:])
        for _ in range(20):
            at, bit = rng.randrange(len(raw)), 1 << rng.randrange(8)
            flipped = raw[:at] + bytes([raw[at] ^ bit]) + raw[at + 1 :]
            cases.append(_case("YC1:" + base45.b45encode(flipped).decode()))
        for _ in range(6):
            at = rng.randrange(len(text))
            cases.append(_case(text[:at] + rng.choice(ALPHABET) + text[at + 1 :]))
        cases.append(_case(text[: rng.randrange(len(text))]))
    # non-canonical: the same card written another way
    good = valid[0]
    for change in (
        lambda raw: bytes.fromhex("d9d9f7") + raw,  # the self-describing tag in front
        lambda raw: raw + b"\x00",  # trailing bytes
        lambda raw: (
            raw[: raw.rindex(bytes([0x58, 0x40]))]
            + bytes([0x59, 0x00, 0x40])
            + raw[raw.rindex(bytes([0x58, 0x40])) + 2 :]
        ),  # a length in two bytes
        lambda raw: cbor2.dumps(
            cbor2.CBORTag(18, [cbor2.loads(raw).value[0], {99: 1}, *cbor2.loads(raw).value[2:]])
        ),  # an unprotected header
    ):
        cases.append(_case(_envelope(good, change)))
    claims = credentials.verify(good, trusted=TrustedKeys.from_jwks(trust), now=NOW).claims
    assert claims is not None
    kid = kid_for(hamm.public_key())
    card = {1: claims.serial, 2: list(claims.categories), 3: claims.version}
    plain = {1: claims.issuer, 4: claims.expires_at, 6: claims.issued_at, -65537: card}
    rest = {4: claims.expires_at, 6: claims.issued_at, -65537: card}
    for header, maps, prefix in (
        ({4: kid, 1: -8}, plain, b""),
        ({1: -8, 4: kid}, {-65537: card, 1: claims.issuer, **rest}, b""),
        ({1: -8, 4: kid}, {**plain, -65537: dict(reversed(card.items()))}, b""),
        ({1: -8, 4: kid}, plain, b"\xd9\xd9\xf7"),
        ({1: -8, 4: kid}, {True: claims.issuer, **rest}, b""),
        ({1: -8, 4: kid}, {1.0: claims.issuer, **rest}, b""),
        ({1: -8, 4: kid}, {**plain, 6: float(claims.issued_at)}, b""),
        ({1: -8, 4: kid}, {**plain, 7: 1}, b""),
        ({1: -8, 4: kid}, plain, b""),  # the canonical one: valid
    ):
        cases.append(_case(_signed_maps(hamm, header, maps, prefix)))
    # junk: random texts, random base45, random CBOR inside the prefix
    for _ in range(40):
        size = rng.randrange(0, 300)
        cases.append(_case("YC1:" + base45.b45encode(rng.randbytes(size)).decode()))
        cases.append(_case("".join(rng.choice(ALPHABET + "abcß€") for _ in range(size))))
    cases.append(_case("YC1:" + "A" * 700))
    cases.append(_case(""))
    return trust, cases


def server_verdicts(trust: list[dict[str, Any]], cases: list[dict[str, Any]]) -> list[str]:
    """The server's verdict on each case: `valid` or the reason."""
    trusted = TrustedKeys.from_jwks(trust)
    verdicts = []
    for case in cases:
        revoked = {bytes.fromhex(s) for s in case["revoked"]}
        result = credentials.verify(
            case["credential"], trusted=trusted, now=case["now"], is_revoked=revoked.__contains__
        )
        verdicts.append("valid" if result.valid else str(result.reason))
    return verdicts


# In the page: every case through YC1.verify, in order; the verdicts and each one's time.
PAGE_SCRIPT = """async ([trust, cases]) => {
  const keys = await YC1.trust({keys: trust});
  const verdicts = [], times = [];
  for (const c of cases) {
    const started = performance.now();
    const result = await YC1.verify(c.credential, keys, c.now, new Set(c.revoked));
    times.push(performance.now() - started);
    verdicts.push(result.valid ? "valid" : result.reason);
  }
  return {verdicts, times};
}"""
