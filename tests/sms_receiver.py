"""A local HTTP receiver standing in for an SMS service (the `sms` fixture,
tests/conftest.py): apprise's json:// target posts each SMS to it as JSON; the number
travels as the payload's `to` (YOUCARD_SMS_URL's {to}). `failing` makes it answer 500."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """The SMS the service took, in order."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False


def sms_receiver() -> Iterator[tuple[Received, dict[str, str]]]:
    received = Received()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if received.failing:
                self.send_response(500)
            else:
                received.messages.append(json.loads(body))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        yield received, {"YOUCARD_SMS_URL": f"json://127.0.0.1:{port}/sms?:to={{to}}"}
    finally:
        server.shutdown()
        server.server_close()
