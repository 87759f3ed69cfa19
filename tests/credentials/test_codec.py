"""The YC1 codec against the independent test vectors, and fuzzed: verify never raises."""

from __future__ import annotations

import json
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from youcard.credentials import Claims, TrustedKeys, b45decode, encode, verify
from youcard.credentials import codec as credentials

# The vectors live in the shared folder beside the repository; a copy is committed so
# that a clone alone runs the suite, and a test below catches the copy going stale.
SHARED_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "yc1.json"
COPIED_VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "yc1.json"
VECTORS_PATH = SHARED_VECTORS if SHARED_VECTORS.exists() else COPIED_VECTORS
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
CASES = VECTORS["cases"]
TRUSTED = TrustedKeys.from_jwks(VECTORS["trust_list"])
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["signing_key_seed_hex"]))
GENUINE = CASES[0]["credential"]
NOW = CASES[0]["now"]


def test_the_committed_copy_of_the_vectors_is_current():
    if not SHARED_VECTORS.exists():
        pytest.skip("no shared/ folder beside this clone: running on the committed copy")
    assert json.loads(COPIED_VECTORS.read_text(encoding="utf-8")) == VECTORS


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_vector_gives_its_expected_result(case):
    revoked = {bytes.fromhex(s) for s in case.get("revoked_serials_hex", [])}
    result = verify(
        case["credential"], trusted=TRUSTED, now=case["now"], is_revoked=revoked.__contains__
    )
    assert ("valid" if result.valid else result.reason) == case["expect"]


@pytest.mark.parametrize("case", [c for c in CASES if "claims" in c], ids=lambda c: c["name"])
def test_valid_vectors_are_reproduced_byte_for_byte(case):
    c = case["claims"]
    claims = Claims(
        issuer=c["iss"],
        issued_at=c["iat"],
        expires_at=c["exp"],
        serial=bytes.fromhex(c["serial_hex"]),
        categories=tuple(c["categories"]),
        version=c["version"],
    )
    text = encode(claims, SIGNING_KEY)
    assert text == case["credential"]
    assert base45.b45decode(text[4:]).hex() == case["cose_hex"]
    result = verify(text, trusted=TRUSTED, now=case["now"])
    assert result.valid and result.claims == claims
    assert result.kid == credentials.kid_for(SIGNING_KEY.public_key())


def test_the_unlisted_key_is_unknown_and_a_trusted_copy_verifies():
    unlisted = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["unlisted_key_seed_hex"]))
    claims = Claims("DE-NW-HAMM", 1, NOW + 10, bytes(range(16)), (3,), 2)
    text = encode(claims, unlisted)
    assert verify(text, trusted=TRUSTED, now=NOW).reason == "unknown_key"
    trusted = TrustedKeys.from_jwks(VECTORS["trust_list"])
    trusted.add("DE-NW-HAMM", unlisted.public_key())
    assert verify(text, trusted=trusted, now=NOW).valid


def test_kid_is_the_first_8_bytes_of_sha256_of_the_raw_public_key():
    import hashlib

    raw = credentials.raw_public_key(SIGNING_KEY.public_key())
    assert credentials.kid_for(raw) == hashlib.sha256(raw).digest()[:8]
    assert credentials.b64url(credentials.kid_for(raw)) == VECTORS["trust_list"][0]["kid"]


def test_a_trust_list_entry_whose_kid_does_not_match_its_key_is_refused():
    entry = dict(VECTORS["trust_list"][0], kid="AAAAAAAAAAA")
    with pytest.raises(ValueError, match="does not match"):
        TrustedKeys.from_jwks([entry])


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        1.5,
        [],
        {},
        b"",
        GENUINE.encode(),
        bytearray(GENUINE.encode()),
        "YC1:",
        "YC1:" + "0" * 10_000,
        GENUINE + " ",
        GENUINE.lower(),
        "YC1:" + "Ä" * 10,
        "\x00" * 50,
        b"\xff\xfe",
    ],
)
def test_odd_inputs_get_a_typed_answer(value):
    result = verify(value, trusted=TRUSTED, now=NOW)
    assert isinstance(result, credentials.VerifyResult)
    if isinstance(value, bytes | bytearray) and bytes(value) == GENUINE.encode():
        assert result.valid
    else:
        assert not result.valid and result.reason == "malformed"


def test_over_long_input_is_refused_before_decoding(monkeypatch):
    # Proven by what runs, not by a stopwatch: the decoder is never reached.
    decoded: list[str] = []
    real = credentials.b45decode
    monkeypatch.setattr(credentials, "b45decode", lambda text: decoded.append(text) or real(text))
    huge = "YC1:" + "A" * 5_000_000
    assert verify(huge, trusted=TRUSTED, now=NOW).reason == "malformed"
    assert decoded == []
    assert verify(GENUINE, trusted=TRUSTED, now=NOW).valid and len(decoded) == 1


def _mutations(text: str):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    return st.one_of(
        st.tuples(st.integers(0, len(text) - 1), st.sampled_from(alphabet)).map(
            lambda m: text[: m[0]] + m[1] + text[m[0] + 1 :]
        ),
        st.integers(0, len(text)).map(lambda n: text[:n]),
        st.tuples(st.integers(0, len(text)), st.text(alphabet, max_size=20)).map(
            lambda m: text[: m[0]] + m[1] + text[m[0] :]
        ),
    )


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(st.text(max_size=700), st.binary(max_size=700), _mutations(GENUINE)))
def test_fuzzed_input_never_raises_and_never_passes_unless_untouched(value):
    result = verify(value, trusted=TRUSTED, now=NOW)
    assert result.reason in (None, *credentials.REASONS)
    if result.valid:
        assert result.claims is not None
        assert value in (GENUINE, GENUINE.encode())


@settings(max_examples=2000, deadline=None)
@given(payload=st.binary(max_size=300))
def test_fuzzed_cbor_inside_a_valid_envelope_is_malformed_or_unknown(payload):
    text = "YC1:" + base45.b45encode(payload).decode()
    result = verify(text, trusted=TRUSTED, now=NOW)
    assert not result.valid


@settings(max_examples=2000, deadline=None)
@given(data=st.binary(max_size=200))
def test_b45decode_agrees_with_the_base45_package_on_valid_text(data):
    text = base45.b45encode(data).decode()
    assert b45decode(text) == data


@settings(max_examples=3000, deadline=None)
@given(text=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abc~ÄGW", max_size=40))
def test_b45decode_refuses_what_the_base45_package_refuses(text):
    try:
        expected = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        got = b45decode(text)
    except ValueError:
        got = None
    assert got == expected


def test_trailing_bytes_after_the_message_are_malformed():
    # Found by the fuzz test: a decoder that reads one CBOR item ignored what followed.
    assert verify(GENUINE, trusted=TRUSTED, now=NOW).valid
    assert verify(GENUINE + "00000000", trusted=TRUSTED, now=NOW).reason == "malformed"


# -- canonical bytes only (#14.3) -------------------------------------------------------------


def _reencode(credential: str, mutate) -> str:
    """The credential's CBOR bytes changed by `mutate(bytes) -> bytes`, as YC1 text again."""
    raw = base45.b45decode(credential[len(credentials.PREFIX) :])
    return credentials.PREFIX + base45.b45encode(mutate(raw)).decode("ascii")


def _signed_claims(**overrides):
    base = {
        "issuer": "DE-NW-HAMM",
        "issued_at": 1767225600,
        "expires_at": 1785456000,
        "serial": bytes(range(16)),
        "categories": (1, 2),
        "version": 1,
    }
    return credentials.Claims(**{**base, **overrides})


def _trusted_and_key():
    key = Ed25519PrivateKey.generate()
    trusted = credentials.TrustedKeys()
    trusted.add("DE-NW-HAMM", key.public_key())
    return trusted, key


def test_a_non_canonical_text_for_a_genuine_card_is_malformed():
    import cbor2

    trusted, key = _trusted_and_key()
    good = credentials.encode(_signed_claims(), key)
    assert credentials.verify(good, trusted=trusted, now=1770000000).valid

    def self_describe(raw: bytes) -> bytes:  # tag 55799 in front: the same message
        return bytes.fromhex("d9d9f7") + raw

    def unprotected_header(raw: bytes) -> bytes:
        message = cbor2.loads(raw)
        protected, _unprotected, payload, signature = message.value
        return cbor2.dumps(cbor2.CBORTag(18, [protected, {99: 1}, payload, signature]))

    def long_length(raw: bytes) -> bytes:  # the signature's length in 2 bytes instead of 1
        index = raw.rindex(bytes([0x58, 0x40]))
        return raw[:index] + bytes([0x59, 0x00, 0x40]) + raw[index + 2 :]

    def trailing(raw: bytes) -> bytes:
        return raw + b"\x00"

    for mutate in (self_describe, unprotected_header, long_length, trailing):
        text = _reencode(good, mutate)
        assert text != good
        assert credentials.verify(text, trusted=trusted, now=1770000000).reason == "malformed", (
            mutate.__name__
        )


def test_a_non_minimal_payload_signed_by_the_key_is_still_malformed():
    """Even the key holder cannot make a second encoding of the claims."""
    import cbor2

    trusted, key = _trusted_and_key()
    good = credentials.encode(_signed_claims(), key)
    raw = cbor2.loads(base45_decode(good))
    protected, _u, payload, _s = raw.value
    index = payload.index(bytes([0x50]))  # the serial: bstr of 16, length in the head
    loose = payload[:index] + bytes([0x58, 0x10]) + payload[index + 1 :]
    assert cbor2.loads(loose) == cbor2.loads(payload)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", loose], canonical=True))
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, loose, signature]), canonical=True)
    text = credentials.PREFIX + base45.b45encode(message).decode("ascii")
    assert credentials.verify(text, trusted=trusted, now=1770000000).reason == "malformed"


def base45_decode(text: str) -> bytes:
    return base45.b45decode(text[len(credentials.PREFIX) :])


def test_times_beyond_the_year_9999_are_malformed_and_never_raise():
    trusted, key = _trusted_and_key()
    for exp in (2**63, 2**64 - 1, credentials.MAX_TIME + 1):
        text = credentials.encode(_signed_claims(expires_at=exp), key)
        assert credentials.verify(text, trusted=trusted, now=1770000000).reason == "malformed"
    at_limit = credentials.encode(_signed_claims(expires_at=credentials.MAX_TIME), key)
    assert credentials.verify(at_limit, trusted=trusted, now=1770000000).valid


def _signed(header: dict, claims: dict, *, tag_prefix: bool = False) -> tuple[str, bool]:
    """A credential whose maps are written in the given key order (plain cbor2), properly
    signed: only its canonicality can be wrong. Returns (text, whether it is canonical)."""
    protected, payload = cbor2.dumps(header), cbor2.dumps(claims)
    signature = SIGNING_KEY.sign(credentials._sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    if tag_prefix:
        message = b"\xd9\xd9\xf7" + message  # the self-describing tag 55799 in front
    canonical = (
        not tag_prefix
        and protected == cbor2.dumps(header, canonical=True)
        and payload == cbor2.dumps(claims, canonical=True)
    )
    return "YC1:" + base45.b45encode(message).decode(), canonical


@settings(max_examples=300, deadline=None)
@given(
    header_keys=st.permutations([1, 4]),
    claim_keys=st.permutations([1, 4, 6, -65537]),
    card_keys=st.permutations([1, 2, 3]),
    tag_prefix=st.booleans(),
)
def test_only_the_canonical_key_order_passes(header_keys, claim_keys, card_keys, tag_prefix):
    """The verifier's shortcut (plain encoding + each map's canonical key order) accepts
    exactly what a full canonical re-encoding accepts, for every order of every map."""
    genuine = credentials.verify(GENUINE, trusted=TRUSTED, now=NOW).claims
    kid = credentials.kid_for(SIGNING_KEY.public_key())
    header_values = {1: -8, 4: kid}
    card_values = {1: genuine.serial, 2: list(genuine.categories), 3: genuine.version}
    claim_values = {1: genuine.issuer, 4: genuine.expires_at, 6: genuine.issued_at,
                    -65537: {k: card_values[k] for k in card_keys}}  # fmt: skip
    text, canonical = _signed(
        {k: header_values[k] for k in header_keys},
        {k: claim_values[k] for k in claim_keys},
        tag_prefix=tag_prefix,
    )
    result = verify(text, trusted=TRUSTED, now=NOW)
    assert result.valid is canonical
    if not canonical:
        assert result.reason == "malformed"
    else:
        assert result.claims == genuine


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=1_000))
@example(data=bytes(23))
@example(data=bytes(24))
@example(data=bytes(255))
@example(data=bytes(256))
@example(data=bytes(65_535))
@example(data=bytes(65_536))
def test_the_envelopes_byte_strings_are_written_as_cbor2_writes_them(data):
    assert credentials._bstr(data) == cbor2.dumps(data)


@pytest.mark.parametrize("key", [True, 1.0], ids=["true", "float"])
def test_a_key_that_only_equals_an_integer_is_malformed_even_when_signed(key):
    """{True: iss} and {1.0: iss} compare equal to {1: iss}: a second encoding of the card."""
    kid = credentials.kid_for(SIGNING_KEY.public_key())
    genuine = credentials.verify(GENUINE, trusted=TRUSTED, now=NOW).claims
    card = {1: genuine.serial, 2: list(genuine.categories), 3: genuine.version}
    claims = {key: genuine.issuer, 4: genuine.expires_at, 6: genuine.issued_at, -65537: card}
    text, _ = _signed({1: -8, 4: kid}, claims)
    assert verify(text, trusted=TRUSTED, now=NOW).reason == "malformed"
