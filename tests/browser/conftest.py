"""Headless Chromium (Debian's) and an issuer served on localhost for the browser tests."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

import issuer
from tests.factories import KEK
from youcard.credentials import b64url

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("YOUCARD_REQUIRE_BROWSER") == "1":
            pytest.fail("YOUCARD_REQUIRE_BROWSER=1 but Chromium is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    app = issuer.create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False})
    http = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{http.server_port}"
    http.shutdown()
