"""Verifying YC1 in the scanner page (redeemer/static/yc1.js, WebCrypto Ed25519) in Debian's
Chromium, beside the server's verify (youcard/credentials/codec.py) on the same credentials
in the same run: the generated set of tests/browser/yc1_cases.py (valid, tampered, expired,
revoked, another issuer, non-canonical, junk) and the genuine ones alone, a few rounds.

Usage: .venv/bin/python bench/offline_verify.py [--rounds 5]
docs/targets.md's target: in the page, median under 5 ms a credential after the first.
(Chromium gives pages performance.now() in steps of 0.1 ms: the medians are in those steps.)
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import ARGS, CHROMIUM  # noqa: E402
from tests.browser.yc1_cases import PAGE_SCRIPT, generated, server_verdicts  # noqa: E402


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no line per request
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trust, cases = generated()
    expected = server_verdicts(trust, cases)
    genuine = [case for case, verdict in zip(cases, expected, strict=True) if verdict == "valid"]
    handler = functools.partial(Quiet, directory=str(ROOT / "redeemer" / "static"))
    http = ThreadingHTTPServer(("localhost", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = chromium.new_page()
        base = f"http://localhost:{http.server_port}"
        page.goto(base + "/style.css")  # any page of localhost: a secure context
        page.add_script_tag(url=base + "/yc1.js")
        for label, chosen in (("all", cases), ("genuine", genuine)):
            in_page, on_server = [], []
            for _ in range(args.rounds):
                answer = page.evaluate(PAGE_SCRIPT, [trust, chosen])
                assert (
                    answer["verdicts"]
                    == [v for c, v in zip(cases, expected, strict=True) if c in chosen]
                    or label == "genuine"
                )
                in_page.append(statistics.median(answer["times"][1:]))
                started = time.perf_counter()
                server_verdicts(trust, chosen)
                on_server.append((time.perf_counter() - started) / len(chosen) * 1000)
            page_ms, server_ms = statistics.median(in_page), statistics.median(on_server)
            print(
                f"{label:8} {len(chosen):4} credentials: in the page median {page_ms:.3f} ms "
                f"after the first, the server's verify {server_ms:.3f} ms on average "
                f"(page/server {page_ms / server_ms:.1f})   target: page under 5 ms"
            )
        chromium.close()
    http.shutdown()


if __name__ == "__main__":
    main()
