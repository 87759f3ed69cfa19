"""The partner API's and the scanner page's glue to the core's counter reads: the trust list
cached per process, and a credit note as a download."""

from __future__ import annotations

import time

from flask import Response, current_app

from youcard import credentials
from youcard.credentials import trust
from youcard.db import Session
from youcard.documents.credit_notes import credit_note, credit_note_pdf
from youcard.documents.credit_notes import filename as credit_note_filename

TRUST_CACHE_SECONDS = 10


def trusted(session: Session) -> credentials.TrustedKeys:
    """The trust list, cached a few seconds per process (card revocation is checked live)."""
    cache = current_app.extensions.setdefault("youcard_trust_cache", {})
    if cache.get("until", 0) < time.monotonic():
        cache["keys"] = trust.trusted_keys(session)
        cache["until"] = time.monotonic() + TRUST_CACHE_SECONDS
    keys: credentials.TrustedKeys = cache["keys"]
    return keys


def credit_note_download(session: Session, partner_id: int, payment_id: int) -> Response:
    """One of the partner's credit notes as a PDF download (NotFound for another's)."""
    note = credit_note(session, partner_id=partner_id, payment_id=payment_id)
    response = Response(credit_note_pdf(session, note), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{credit_note_filename(note)}"'
    return response
