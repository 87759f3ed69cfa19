"""The counter without signal, in headless Chromium: the page verifies YC1 itself (WebCrypto
Ed25519) with the server's verdict on every test vector and on a generated set — valid,
tampered, expired, revoked, another issuer, an unknown key, non-canonical, junk."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.browser.yc1_cases import PAGE_SCRIPT, generated, server_verdicts

pytestmark = pytest.mark.browser


def test_the_page_gives_the_servers_verdict_on_every_credential(browser, redeemer_server):
    trust, cases = generated()
    expected = server_verdicts(trust, cases)
    kinds = Counter(expected)
    assert kinds["valid"] >= 25 and kinds["malformed"] >= 100 and kinds["bad_signature"] >= 20
    assert {"unknown_issuer", "unknown_key", "expired", "revoked"} <= set(kinds)
    page = browser.new_page()
    page.goto(redeemer_server + "/login")  # localhost: a secure context, WebCrypto exists
    page.add_script_tag(url=redeemer_server + "/static/yc1.js")
    answer = page.evaluate(PAGE_SCRIPT, [trust, cases])
    differ = [
        (case["credential"][:60], mine, theirs)
        for case, mine, theirs in zip(cases, answer["verdicts"], expected, strict=True)
        if mine != theirs
    ]
    assert differ == [], differ
    times = sorted(answer["times"][1:])
    print(f"\nverify in the page: {len(cases)} credentials, median {times[len(times) // 2]:.2f} ms")
