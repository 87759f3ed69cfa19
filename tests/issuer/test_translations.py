"""German is complete and the compiled catalog is the one the .po says."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DE = Path(__file__).resolve().parents[2] / "issuer" / "translations" / "de" / "LC_MESSAGES"


def test_every_message_has_a_german_translation():
    with (DE / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    missing = [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]
    assert missing == []


def test_the_compiled_catalog_matches_the_po_file():
    with (DE / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (DE / "messages.mo").read_bytes(), (
        "run: pybabel compile -d issuer/translations"
    )
