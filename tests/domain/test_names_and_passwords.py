"""One rule for names on every path (pages, APIs, import: `clean_name`) and a password rule
that refuses passwords built on one's own name (issue 27)."""

from __future__ import annotations

import pytest

from tests.domain.test_import_plan import _plan
from tests.factories import NOW
from youcard.domain.enums import Category, Role
from youcard.errors import InvalidRequest
from youcard.operations.households import add_child, create_household
from youcard.operations.partners import create_partner
from youcard.operations.staff_accounts import create_staff_user
from youcard.operations.values import clean_name, password_hash_of
from youcard.policy import Staff

BAD_NAMES = [
    "Anna\u202eKaya",  # right-to-left override: prints as something else
    "Kaya\u2066x",  # an isolate
    "Nowak\u200b",  # a zero-width space
    '=HYPERLINK("http://evil.example","klick")',
    "+cmd|calc",
    "-2+3",
    "@SUM(A1)",
    "Tab\there",
]
GOOD_NAMES = ["Müller-Lüdenscheidt", "محمد العلي", "Ольга", "Yılmaz", "O'Brien", "می\u200cخواهم"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_with_a_control_or_format_character_or_a_formula_is_refused(name):
    with pytest.raises(InvalidRequest) as refused:
        clean_name(name, "family_name")
    assert refused.value.code in ("invalid_name",) and "family_name" in refused.value.message


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_in_any_script_pass(name):
    assert clean_name(f"  {name} ", "given_name") == name


def test_every_operation_that_stores_a_name_uses_the_rule(session, make, refused):
    issuer = make.issuer()
    by = Staff.system(issuer.id, "test")
    for bad in ("Anna\u202eKaya", "=1+1"):
        assert refused(create_household, by=by, reference="R", family_name=bad, now=NOW).code == (
            "invalid_name"
        )
        household = make.household(issuer)
        error = refused(
            add_child, by=by, household_id=household.id, given_name=bad, family_name="Kaya",
            birth_date=NOW.date().replace(year=2015), now=NOW,
        )  # fmt: skip
        assert error.code == "invalid_name"
        error = refused(
            create_partner, by=by, name=bad, iban="DE89370400440532013000",
            permissions={issuer.id: {Category.LUNCH}}, now=NOW,
        )  # fmt: skip
        assert error.code == "invalid_name"
        error = refused(
            create_staff_user, by=by, username="neu", display_name=bad, role=Role.CASEWORKER,
            now=NOW,
        )  # fmt: skip
        assert error.code == "invalid_name"


def test_the_import_refuses_the_names_the_pages_refuse(session, make):
    issuer = make.issuer()
    row = "{ref};H-{ref};P-{ref};{family};Kind;2015-03-14;lunch;2026-02-01;2026-07-31;;;;;;"
    plans = _plan(
        session,
        issuer.id,
        row.format(ref="A", family='=HYPERLINK("http://evil.example","klick")'),
        row.format(ref="B", family="+cmd|calc"),
        row.format(ref="C", family="Anna\u202eKaya"),
        row.format(ref="D", family="Yılmaz"),
    )
    assert [(p.decision_ref, p.outcome, p.code) for p in plans] == [
        ("A", "refused", "invalid_name"),
        ("B", "refused", "invalid_name"),
        ("C", "refused", "invalid_name"),
        ("D", "created", ""),
    ]


@pytest.mark.parametrize(
    ("password", "context"),
    [
        ("SabineBecker2026", ["sbecker", "Sabine Becker"]),
        ("TarikKaya2026", ["tkaya", "Tarık Kaya"]),
        ("sbecker-sbecker", ["sbecker", "Sabine Becker"]),
        ("Becker.Sabine.1985", ["sbecker", "Sabine Becker"]),
        ("OLGA-PETRENKO-2026", ["opetrenko", "Olga Petrenko"]),
    ],
)
def test_a_password_built_on_ones_own_name_is_refused(password, context):
    with pytest.raises(InvalidRequest) as refused:
        password_hash_of(password, context=context)
    assert refused.value.code == "password_too_common"


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "Becker fährt gern Fahrrad im Regen", "k7mq-2vx9-plwa-3nre"],
)
def test_a_good_password_passes_even_beside_the_name(password):
    assert password_hash_of(password, context=["sbecker", "Sabine Becker"]).startswith("$argon2id$")
