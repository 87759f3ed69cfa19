"""German is complete and the compiled catalog is the one the .po says."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("issuer", "redeemer")


def _messages(catalog):
    """What a catalog says, independent of how a Babel release lays out the .mo bytes."""
    return {
        (m.id if isinstance(m.id, str) else tuple(m.id)): (
            m.string if isinstance(m.string, str) else tuple(m.string)
        )
        for m in catalog
        if m.id and m.string and "fuzzy" not in m.flags
    }


def _compiled_matches(po_path: Path, locale: str) -> bool:
    with po_path.open("rb") as fh:
        source = read_po(fh, locale=locale)
    with po_path.with_suffix(".mo").open("rb") as fh:
        compiled = read_mo(fh)
    return _messages(source) == _messages(compiled)


def _de(service: str) -> Path:
    return ROOT / service / "translations" / "de" / "LC_MESSAGES"


@pytest.mark.parametrize("service", SERVICES)
def test_every_message_has_a_german_translation(service):
    with (_de(service) / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    missing = [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_compiled_catalog_matches_the_po_file(service):
    assert _compiled_matches(_de(service) / "messages.po", "de"), (
        f"run: pybabel compile -d {service}/translations"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_text_in_the_code_is_in_the_catalog(service):
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / service / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (_de(service) / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}  # plurals
    assert found - known == set(), (
        f"run pybabel extract/update/compile for {service} (README, Layout)"
    )


FAMILY_LANGUAGES = ("tr", "ar", "uk", "ru")


@pytest.mark.parametrize("lang", FAMILY_LANGUAGES)
def test_every_family_text_is_translated(lang):
    """What families read (their pages, the shared parts, the category names) exists in
    each of their languages; the staff pages need German only."""
    from babel.messages.extract import extract_from_dir

    family_sources = [
        ("issuer/family.py", "python"),
        ("issuer/letter_texts.py", "python"),
        ("issuer/templates/family/**.html", "jinja2"),
        ("issuer/templates/directory.html", "jinja2"),
        ("youcard/web/templates/youcard/languages.html", "jinja2"),
        ("youcard/web/templates/youcard/messages.html", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    needed = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(ROOT, family_sources, {}, keywords=keywords)
    }
    needed |= {
        "Social and cultural participation",
        "School lunch",
        "Tutoring",
        "Trips and class trips",
    }
    path = ROOT / "issuer" / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    assert needed - translated == set()
    assert _compiled_matches(path, lang), "run: pybabel compile -d issuer/translations"
