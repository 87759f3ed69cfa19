"""Checked values the setup operations share: required texts, passwords, IBANs."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from schwifty import IBAN
from zxcvbn import zxcvbn

from youcard import security
from youcard.documents.spreadsheets import FORMULA_START
from youcard.domain.search import fold
from youcard.errors import InvalidRequest


def clean_text(value: str, field: str, max_length: int) -> str:
    """`value` without surrounding spaces; InvalidRequest when empty or too long."""
    value = value.strip()
    if not value:
        raise InvalidRequest(f"{field} is required.", code="field_required", field=field)
    if len(value) > max_length:
        raise InvalidRequest(f"{field} is too long.", code="field_too_long", field=field)
    return value


# What no name of a person or a place holds: control characters (Cc), format characters (Cf:
# the bidi overrides and isolates that make "Anna\u202eKaya" print as something else, zero
# widths), surrogates, private-use and unassigned code points, line and paragraph separators.
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# ...except the joiners that Persian, Kurdish and Indic spellings need between letters.
_JOINERS = frozenset({"\u200c", "\u200d"})


def clean_name(value: str, field: str, max_length: int = 200) -> str:
    """A person's or a place's name (a family, a child, a partner, a staff member, a city):
    `clean_text`, and InvalidRequest (`invalid_name`) when it holds a control, format or
    direction-override character, or begins like a spreadsheet formula. The one rule for
    names on pages, the APIs and the import."""
    return _shown_as_written(clean_text(value, field, max_length), field, "invalid_name", _JOINERS)


# A free text of several lines (a partner's offer, its opening hours): line breaks and tabs,
# nothing else of the kinds no name holds.
_LINE_BREAKS = frozenset({"\n", "\t"})


def _shown_as_written(value: str, field: str, code: str, allowed: frozenset[str]) -> str:
    """`value`, or InvalidRequest (`code`) when it holds a character of a kind no name holds
    (but those `allowed`) or begins like a spreadsheet formula."""
    if any(unicodedata.category(ch) in _NOT_IN_NAMES and ch not in allowed for ch in value):
        raise InvalidRequest(
            f"{field} holds an invisible control or text-direction character.",
            code=code,
            field=field,
        )
    if value.startswith(FORMULA_START):
        raise InvalidRequest(f"{field} may not begin with = + - or @.", code=code, field=field)
    return value


def clean_free_text(value: str | None, field: str, max_length: int) -> str | None:
    """A text people write in several lines, shown as written (the directory): surrounding
    spaces dropped, empty is None, InvalidRequest when too long, or when it holds a control,
    format or direction-override character (line breaks and tabs excepted), or begins like
    a spreadsheet formula."""
    value = (value or "").replace("\r\n", "\n").strip()
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidRequest(f"{field} is too long.", code="field_too_long", field=field)
    return _shown_as_written(value, field, "invalid_characters", _JOINERS | _LINE_BREAKS)


# The password rule of every account (staff, partner staff), after NIST SP 800-63B: a
# minimum length and no password that is common or easy to guess; no composition rules.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's estimate (0-4) matches the password against the most common passwords (30,000),
# names, words, keyboard patterns, dates and the account's own name; 3 and up is "safely
# unguessable" against an online attack.
MIN_PASSWORD_SCORE = 3


def password_hash_of(password: str, *, context: Sequence[str] = ()) -> str:
    """The argon2id hash of a new password; InvalidRequest when it is too short, too long,
    common or easy to guess (`context`: the account's username and name, which it must not
    be built on)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            "The password needs at least 12 characters.", code="password_too_short"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest("The password is too long.", code="password_too_long")
    words = [*name_parts(context), "youcard", "passwort", "password", "kennwort"]
    if zxcvbn(password, user_inputs=words)["score"] < MIN_PASSWORD_SCORE:
        raise InvalidRequest(
            "This password is among the most common ones or easy to guess.",
            code="password_too_common",
        )
    if _built_on(password, words):
        raise InvalidRequest(
            "The password may not be built on your name or username.",
            code="password_too_common",
        )
    return security.hash_password(password)


def name_parts(context: Sequence[str]) -> list[str]:
    """The words a password must not be built on: each name and username whole and in its
    parts (split at spaces, dots, hyphens and the like), folded, of three letters or more."""
    parts: set[str] = set()
    for text in context:
        folded = fold(text or "")
        words = [w for w in "".join(c if c.isalnum() else " " for c in folded).split() if w]
        parts.update(w for w in [*words, "".join(words)] if len(w) >= 3)
    return sorted(parts, key=len, reverse=True)


def _built_on(password: str, words: Sequence[str]) -> bool:
    """Whether the password is little more than the words (a name, a username) with digits
    or punctuation around them: what is left once they are taken out scores below the rule
    on its own, or is shorter than half the password."""
    rest = fold(password)
    found = False
    for word in words:
        if word in rest:
            found = True
            rest = rest.replace(word, " ")
    if not found:
        return False
    rest = "".join(rest.split())
    return len(rest) < MIN_PASSWORD_LENGTH / 2 or zxcvbn(rest)["score"] < MIN_PASSWORD_SCORE


def valid_iban(text: str) -> str:
    """The IBAN in compact form, checked (country format and check digits) by schwifty."""
    try:
        return str(IBAN(text).compact)
    except ValueError:
        raise InvalidRequest("This IBAN is not valid.", code="invalid_iban", field="iban") from None
