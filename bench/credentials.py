"""Credential speed: YC1 verifies/s beside raw Ed25519 verifies/s, QR renders/s, PDF cards/s.

Usage: .venv/bin/python bench/credentials.py [--seconds 3]

All on one core, in one run: the ratio verify / raw Ed25519 is the figure
docs/targets.md targets (>= 0.8). QR renders are uncached (distinct credentials);
the PDF figure is cards per second into one 1,000-card A4 sheet document.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from youcard.credentials import codec as credentials
from youcard.documents import printing

NOW = 1_770_000_000


def rate(seconds: float, step) -> float:
    """Calls of step() per second over about `seconds`."""
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(200):
            step()
        done += 200
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def raw_ed25519_rate(seconds: float, key: Ed25519PrivateKey | None = None) -> float:
    """Raw Ed25519 verifies per second on one core: docs/targets.md's yardstick for a machine
    (about 15,900/s where its targets were set). The message has the length of a
    credential's Sig_structure."""
    key = key or Ed25519PrivateKey.generate()
    message = credentials._sig_structure(b"\xa2\x01'\x04H" + bytes(8), bytes(85))
    signature = key.sign(message)
    public = key.public_key()
    return rate(seconds, lambda: public.verify(signature, message))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    trusted = credentials.TrustedKeys()
    trusted.add("DE-NW-HAMM", key.public_key())
    claims = credentials.Claims("DE-NW-HAMM", NOW - 100, NOW + 10**7, bytes(range(16)), (1, 2), 1)
    text = credentials.encode(claims, key)

    raw = raw_ed25519_rate(args.seconds, key)
    yc1 = rate(args.seconds, lambda: credentials.verify(text, trusted=trusted, now=NOW))
    assert credentials.verify(text, trusted=trusted, now=NOW).valid
    print(f"raw Ed25519 verify     {raw:>9,.0f} /s")
    print(f"YC1 verify             {yc1:>9,.0f} /s   ratio {yc1 / raw:.2f} (target >= 0.80)")

    texts = [
        credentials.encode(
            credentials.Claims("DE-NW-HAMM", NOW, NOW + 10**7, i.to_bytes(16, "big"), (1, 2), 1),
            key,
        )
        for i in range(2000)
    ]
    pending = iter(texts)
    qr = rate(min(args.seconds, 2.0), lambda: printing.qr_png(next(pending)))
    print(
        f"QR PNG render          {qr:>9,.0f} /s   ({1000 / qr:.1f} ms each; cached per card after)"
    )

    cards = [
        printing.PrintedCard("Stadt Hamm", f"Kind {i}", "Muster", date(2027, 8, 31), t, f"{i:08d}")
        for i, t in enumerate(texts[:1000])
    ]
    printing.qr_matrix.cache_clear()
    started = time.perf_counter()
    pdf = printing.sheet_pdf(cards)
    took = time.perf_counter() - started
    size_mb = len(pdf) / 1e6
    per_second = len(cards) / took
    print(f"1,000-card PDF         {per_second:>9,.0f} cards/s ({took:.1f} s, {size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
