"""The scanner page's standing authorizations and lists: made right after a scan (with the
partner's member number), listed with the last instalment, ended; a lunch list uploaded as
CSV booked line by line, the result shown and as CSV; another partner sees nothing."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from tests.redeemer.test_scanner import HTTPS, SAME_ORIGIN, _check, _csrf, _form, _login, _post
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.domain.models import Booking, Mandate


def _mandate_form(client, credential, **fields):
    html = _check(client, credential).get_data(as_text=True)
    hidden = _form(html)
    return _post(client, "/mandates", {"csrf_token": hidden["csrf_token"],
                                       "credential": credential, **fields})  # fmt: skip


def test_a_mandate_after_a_scan_is_listed_and_ended(client, world, counter_user, committed):
    w = world(partner_categories={Category.PARTICIPATION})
    username, _user_id = counter_user(w.partner_id)
    assert _login(client, username).status_code == 302
    page = _check(client, w.credential).get_data(as_text=True)
    assert "Dauerauftrag anlegen" in page and 'name="mandate_reference"' in page
    fields = {"mandate_reference": "M-0815", "monthly_amount": "12,50", "day_of_month": "31"}
    made = _mandate_form(client, w.credential, category="participation", **fields)
    assert made.status_code == 303, made.get_data(as_text=True)
    listed = client.get("/mandates", base_url=HTTPS).get_data(as_text=True)
    assert "M-0815" in listed and "12,50" in listed and "am 31." in listed
    twice = _mandate_form(client, w.credential, category="participation",
                          mandate_reference="M-0815")  # fmt: skip
    assert twice.status_code == 409
    assert "schon einen Dauerauftrag mit dieser Nummer" in twice.get_data(as_text=True)
    for bad, message in (({"monthly_amount": "zwölf"}, "Betrag in Euro"),
                         ({"day_of_month": "x"}, "Tag im Monat")):  # fmt: skip
        r = _mandate_form(client, w.credential, category="participation",
                          mandate_reference="M-2", **bad)  # fmt: skip
        assert r.status_code == 422 and message in r.get_data(as_text=True)
    with committed() as session:
        mandate = session.scalars(select(Mandate).where(Mandate.partner_id == w.partner_id)).one()
    ended = _post(client, f"/mandates/{mandate.id}/end", {"csrf_token": _csrf(client, "/mandates")})
    assert ended.status_code == 303
    with committed() as session:
        assert session.get(Mandate, mandate.id).status == "ended"


def _canteen(client, world, counter_user):
    """A canteen (lunch, one meal a day) whose staff member is signed in on `client`."""
    w = world(
        categories=(Category.LUNCH,),
        partner_categories={Category.LUNCH},
        rules={Category.LUNCH: BudgetRule(RuleKind.UNITS, 500, units_per_day=1)},
    )
    username, _user_id = counter_user(w.partner_id)
    assert _login(client, username).status_code == 302
    return w


def test_a_lunch_list_is_booked_line_by_line_and_again_books_nothing(
    app, client, world, counter_user, committed
):
    w = _canteen(client, world, counter_user)
    made = client.post(
        "/api/v1/mandates", headers=w.auth,
        json={"credential": w.credential, "category": "lunch", "reference": "S-17",
              "valid_from": "2026-03-01"},
    )  # fmt: skip
    assert made.status_code == 201
    text = (
        "reference;service_date;units;amount_cents;line_id\r\n"
        "S-17;09.03.2026;1;450;mo-17\r\n"
        "S-17;2026-03-10;1;450;di-17\r\n"
        "S-99;2026-03-10;1;450;di-99\r\n"
        "S-17;2026-02-30;1;450;bad-date\r\n"
        '"=HYPERLINK(""x"")";2026-03-11;1;450;formula\r\n'
        "S-17;09.03.2026;1;450;mo-17-second\r\n"  # one lunch a day: not "today" (#27.5)
    )

    def upload(as_csv=False):
        data = {"csrf_token": _csrf(client, "/lists"),
                "file": (io.BytesIO(text.encode()), "essen.csv")}  # fmt: skip
        if as_csv:
            data["as_csv"] = "1"
        return client.post("/lists", data=data, base_url=HTTPS, headers=SAME_ORIGIN,
                           content_type="multipart/form-data")  # fmt: skip

    first = upload()
    page = first.get_data(as_text=True)
    said = "6 Zeilen: 2 jetzt gebucht, 0 schon vorher gebucht (nichts doppelt), 4 abgelehnt."
    assert first.status_code == 200 and said in page
    assert "Kein Dauerauftrag hat diese Nummer." in page and "nicht lesbar" in page
    main = page.split("<main", 1)[1]  # (the offline status's words, in the header, say "heute")
    assert "an diesem Tag schon alles bekommen" in main and "heute" not in main
    repeated = upload().get_data(as_text=True)  # #27.5: it said "2 von 5 Zeilen gebucht"
    said = "6 Zeilen: 0 jetzt gebucht, 2 schon vorher gebucht (nichts doppelt), 4 abgelehnt."
    assert said in repeated
    again = upload(as_csv=True)
    assert again.mimetype == "text/csv"
    rows = again.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0] == "line_id;status;booking_id;code;detail"
    assert rows[1].startswith("mo-17;booked;") and rows[3].startswith("di-99;refused;;")
    assert rows[5].startswith("formula;refused;;unknown_reference")
    with committed() as session:
        lunches = (
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        )
        assert session.scalar(lunches) == 2  # the same list again booked nothing
    empty = client.post(
        "/lists", data={"csrf_token": _csrf(client, "/lists"), "file": (io.BytesIO(b""), "x.csv")},
        base_url=HTTPS, headers=SAME_ORIGIN, content_type="multipart/form-data",
    )  # fmt: skip
    assert empty.status_code == 422


def test_a_canteen_starts_a_mandate_on_the_first_of_the_month(
    client, world, counter_user, committed
):
    """#27.5: the form had no start date, so the month's first days could not be booked."""
    w = _canteen(client, world, counter_user)
    page = _check(client, w.credential).get_data(as_text=True)
    assert 'name="valid_from" type="date"' in page
    for bad in ("2026-02-28", "01.03.2026x", "2026-02-30"):  # before this month; not a date
        r = _mandate_form(
            client, w.credential, category="lunch", mandate_reference="E-1", valid_from=bad
        )
        assert r.status_code == 422 and "Bitte die Daten prüfen." in r.get_data(as_text=True)
    made = _mandate_form(
        client, w.credential, category="lunch", mandate_reference="E-1", valid_from="2026-03-01"
    )
    assert made.status_code == 303
    with committed() as session:
        mandate = session.scalars(select(Mandate).where(Mandate.partner_id == w.partner_id)).one()
        assert str(mandate.valid_from) == "2026-03-01"
