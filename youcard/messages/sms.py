"""SMS through apprise: YOUCARD_SMS_URL is an apprise URL of the city's SMS service with
`{to}` where the family's number goes (`twilio://SID:TOKEN@+4923811700/{to}`, say).
Unset: no SMS is sent; the messages wait. apprise says only whether a message went: a
failure is tried again (sending.MAX_ATTEMPTS); a number no service can dial is refused."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import apprise

from youcard.messages.email import Permanent, Temporary

MIN_DIGITS, MAX_DIGITS = 6, 15  # E.164 allows 15 digits


def international(number: str) -> str | None:
    """`number` as +CC... (a German one, "0521 51-0", as +49...), or None if it is none."""
    digits = re.sub(r"[^0-9+]", "", number)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+49" + digits[1:]
    elif not digits.startswith("+"):
        return None
    if "+" in digits[1:] or not MIN_DIGITS <= len(digits) - 1 <= MAX_DIGITS:
        return None
    return digits


@dataclass(frozen=True)
class Texter:
    """The SMS service to send through."""

    url: str  # with {to}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Texter | None:
        """The service the environment configures, or None."""
        url = env.get("YOUCARD_SMS_URL", "").strip()
        if not url:
            return None
        if "{to}" not in url:
            raise ValueError("YOUCARD_SMS_URL needs {to} where the family's number goes")
        return cls(url)

    def send(self, number: str, text: str) -> Exception | None:
        """Send `text` to `number`: None (sent), Permanent (no number) or Temporary."""
        to = international(number)
        if to is None:
            return Permanent("not a phone number an SMS can reach")
        service = apprise.Apprise()
        if not service.add(self.url.replace("{to}", quote(to, safe="+"))):
            return Temporary("YOUCARD_SMS_URL is not an apprise URL")
        return None if service.notify(body=text, title="") else Temporary("the service refused")
