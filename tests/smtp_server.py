"""A real SMTP server (aiosmtpd) on a loopback port for the messages tests (the `smtp`
fixture, tests/conftest.py): what it received, decoded; addresses at refused.example are
refused for good (550), at busy.example for now (451)."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    """What the server accepted, in order."""

    mails: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such mailbox"
        if address.endswith("@busy.example"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.mails.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def ids(self) -> list[str]:
        with self.lock:
            return [mail["Message-ID"] for mail in self.mails]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smtp_server() -> Iterator[tuple[Inbox, dict[str, str]]]:
    """The inbox, and the environment that sends to it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        "YOUCARD_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "YOUCARD_MAIL_FROM": "Stadt Hamm <youcard@hamm.example>",
    }
    try:
        yield inbox, env
    finally:
        controller.stop()
