"""#27.5: the staff menu grouped by the office's tasks, from the core's permissions: each
role sees a short, stable menu, and every link in it opens for that role."""

from __future__ import annotations

import re

import pytest

from tests.issuer.test_households import _as
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Role

EXPECTED = {
    Role.CASEWORKER: (
        ["Übersicht", "Familien", "Briefe von heute", "Importe", "Nachrichten"],
        [],
    ),
    Role.APPROVER: (
        ["Übersicht", "Familien", "Bewilligungen", "Karten drucken", "Importe", "Nachrichten"],
        ["Geld"],
    ),
    Role.ADMINISTRATOR: (
        [
            "Übersicht",
            "Familien",
            "Bewilligungen",
            "Briefe von heute",
            "Karten drucken",
            "Importe",
            "Nachrichten",
        ],
        ["Geld", "Verwaltung"],
    ),
}


def _menu(page: str) -> str:
    return page.split('class="main-menu"')[1].split("</nav>")[0]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_tasks_and_every_link_opens(app, staff, role):
    username, _ = staff(role)
    client = _as(app, username)
    menu = _menu(client.get("/", base_url=HTTPS).get_data(as_text=True))
    daily, groups = EXPECTED[role]
    first = menu.split("<details")[0]
    assert re.findall(r">([^<>]+)</a>", first) == daily
    assert re.findall(r"<summary>([^<]+)</summary>", menu) == groups
    assert " open>" not in menu  # the other groups are closed on the overview
    for path in re.findall(r'href="([^"]+)"', menu):
        assert client.get(path, base_url=HTTPS).status_code == 200, (role, path)


def test_the_group_of_the_page_shown_is_open_and_its_entry_marked(app, staff):
    username, _ = staff(Role.ADMINISTRATOR)
    menu = _menu(
        _as(app, username).get("/admin/settlements", base_url=HTTPS).get_data(as_text=True)
    )
    money = menu.split("<summary>Geld</summary>")[0].rsplit("<details", 1)[1]
    assert " open" in money
    assert re.search(r'aria-current="page">Abrechnung<', menu)
