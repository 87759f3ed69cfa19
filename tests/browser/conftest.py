"""Headless Chromium (Debian's) and an issuer served on localhost for the browser tests."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import issuer
import redeemer
from tests.factories import KEK, NOW
from youcard.credentials import b64url
from youcard.documents.printing import qr_matrix

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_chromium() -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("YOUCARD_REQUIRE_BROWSER") == "1":
            pytest.fail("YOUCARD_REQUIRE_BROWSER=1 but Chromium is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")


@pytest.fixture
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


class OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: the test server closes every connection after its answer. With keep-alive,
    Chromium now and then sent a navigation on a connection the threaded dev server was
    closing, and waited 30 s for an answer that never came (1 run in about 10)."""

    protocol_version = "HTTP/1.0"


@pytest.fixture
def server(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    app = issuer.create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False})
    http = make_server("localhost", 0, app, threaded=True, request_handler=OneRequestPerConnection)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{http.server_port}"
    http.shutdown()


@pytest.fixture
def redeemer_server(database_url, tmp_path, monkeypatch):
    """The redeemer (API and scanner page) on localhost, at the tests' fixed time, no KEK."""
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("YOUCARD_KEK", raising=False)
    app = redeemer.create_app(
        {
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,
            "CLOCK": lambda: NOW,
            "REQUEST_LOG": "0",
        }
    )
    http = make_server("localhost", 0, app, threaded=True, request_handler=OneRequestPerConnection)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{http.server_port}"
    http.shutdown()


def write_y4m(path: Path, text: str, *, width: int = 640, height: int = 480) -> Path:
    """A short 4:2:0 Y4M video of `text` as a QR code (7 px a module, centred on white,
    quiet zone included): Chromium's fake camera plays it in a loop."""
    matrix = qr_matrix(text)
    box, quiet = 7, 0
    size = (len(matrix) + 2 * quiet) * box
    assert size <= min(width, height), "the QR code does not fit the frame"
    luma = bytearray(b"\xff" * (width * height))
    left, top = (width - size) // 2, (height - size) // 2
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(box):
                    start = (top + (quiet + y) * box + dy) * width + left + (quiet + x) * box
                    luma[start : start + box] = b"\x00" * box
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)
    frame = b"FRAME\n" + bytes(luma) + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode() + frame * 3)
    return path


@pytest.fixture
def camera_browser(tmp_path):
    """A Chromium whose camera shows `text` as a QR code: camera_browser(text) -> browser."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    launched = []

    def launch(text: str):
        video = write_y4m(tmp_path / f"camera-{len(launched)}.y4m", text)
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                *ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        launched.append(chromium)
        return chromium

    with sync_playwright() as playwright:
        yield launch
        for chromium in launched:
            chromium.close()
