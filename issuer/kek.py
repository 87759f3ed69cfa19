"""The key-encryption key of the signing keys: only the issuer loads it, once per process."""

from __future__ import annotations

from flask import (
    current_app,
)

from youcard.config import load_settings
from youcard.credentials import keys


def kek() -> bytes:
    """The KEK from the settings, loaded on first use."""
    loaded: bytes | None = current_app.extensions.get("youcard_kek")
    if loaded is None:
        loaded = keys.load_kek(load_settings())
        current_app.extensions["youcard_kek"] = loaded
    return loaded
