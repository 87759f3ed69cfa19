"""The dry run of an approvals file against what is stored: created, updated, unchanged,
ended, refused (conflicts, overlaps, ends before what is booked); nothing is written."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.factories import NOW, at_counter, read_approvals, trusted
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.domain.models import AuditEvent, Child, Entitlement, Household
from youcard.imports.plan import Planner, report_lines, summary
from youcard.operations.booking import book
from youcard.policy import Staff

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;units;unit_cap_eur;per_day;legal_basis;status"
)
TODAY = date(2026, 3, 16)


def _plan(session, issuer_id, *lines):
    read, refusals = read_approvals(("\r\n".join([HEADER, *lines]) + "\r\n").encode())
    return Planner(session, by=Staff.system(issuer_id, "t"), today=TODAY).plan(read, refusals)


def _counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(t))
        for t in (Household, Child, Entitlement, AuditEvent)
    )


def test_each_kind_of_line_against_what_is_stored(session, make):
    issuer = make.issuer()
    child = make.child(issuer, birth_date=date(2015, 3, 14))
    child.child_ref, child.given_name, child.family_name = "P-1", "Elif", "Yılmaz"
    trips = make.entitlement(
        child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 15_000),
        period=(date(2026, 1, 1), date(2026, 12, 31)),
    )  # fmt: skip
    trips.decision_ref = "D-TRIP"
    lunch = make.entitlement(child, Category.LUNCH, period=(date(2026, 1, 1), date(2026, 7, 31)))
    lunch.decision_ref = "D-LUNCH"
    card = make.card(child)
    book(
        session,
        by=at_counter(make.partner(issuer, {Category.LUNCH}).id),
        credential=card.credential,
        trusted=trusted(session, issuer.id),
        category=Category.LUNCH,
        amount_cents=450,
        idempotency_key="k1",
        units=1,
        now=NOW,
    )  # fmt: skip (a lunch on 16 March 2026)
    session.flush()
    before = _counts(session)
    row = (
        "{ref};HAM-1;{child};{family};{given};{born};{cat};{start};{end};{amount};;;;SGB2;{status}"
    )

    def line(ref, cat="trips", start="2026-01-01", end="2026-12-31", amount="150,00", **kw):
        cells = {"child": "P-1", "given": "Elif", "family": "Yılmaz", "born": "14.03.2015",
                 "status": ""} | kw  # fmt: skip
        return row.format(ref=ref, cat=cat, start=start, end=end, amount=amount, **cells)

    plans = _plan(
        session,
        issuer.id,
        line("D-TRIP"),  # unchanged
        line("D-TRIP2", start="2027-01-01", end="2027-06-30"),  # created: a follow-up
        line(
            "D-NEW", child="P-9", given="Can", born="02.09.2011", cat="participation", amount=""
        ),  # fmt: skip  (a new child and household)
        line(
            "D-LUNCH", cat="lunch", start="2026-01-01", end="2026-05-31", amount="", status="ended"
        ),
        line("D-LUNCH", cat="lunch", end="2026-03-01", amount="", status="ended")
        .replace("D-LUNCH", "D-LUNCH", 1)
        .replace("D-LUNCH", "D-LUNCHX", 1),  # unknown decision ended
        line("D-X", given="Eliff"),  # the child_ref with another name: conflict
        line("D-OVER", start="2026-06-01", end="2026-12-31"),  # shares days with D-TRIP
    )
    outcomes = [(p.decision_ref, p.outcome, p.code) for p in plans]
    assert outcomes == [
        ("D-TRIP", "unchanged", ""),
        ("D-TRIP2", "created", ""),
        ("D-NEW", "created", ""),
        ("D-LUNCH", "ended", ""),
        ("D-LUNCHX", "refused", "unknown_decision"),
        ("D-X", "refused", "child_conflict"),
        ("D-OVER", "refused", "overlapping_entitlement"),
    ]
    assert summary(plans) == {
        "created": 2, "updated": 0, "unchanged": 1, "ended": 1, "refused": 3,
    }  # fmt: skip
    assert _counts(session) == before  # a dry run writes nothing
    changed = _plan(session, issuer.id, line("D-TRIP", amount="200,00"))
    assert [(p.outcome, p.code) for p in changed] == [("updated", "")]
    ended = line("D-LUNCH", cat="lunch", end="2026-03-01", amount="", status="ended")
    below = _plan(session, issuer.id, ended)
    assert [(p.outcome, p.code) for p in below] == [("refused", "end_before_bookings")]
    assert "16.03.2026" in below[0].message


def test_implausible_lines_and_overlaps_within_the_file_are_refused(session, make):
    issuer = make.issuer()
    row = "{ref};H;P-{n};Muster;Kind;2015-03-14;{cat};{start};{end};;{units};;;;"
    plans = _plan(
        session,
        issuer.id,
        row.format(ref="A", n=1, cat="tutoring", start="2026-02-01", end="2026-08-31", units=5),
        row.format(ref="B", n=2, cat="lunch", start="2026-01-01", end="2026-07-31", units=""),
        row.format(ref="C", n=2, cat="lunch", start="2026-07-01", end="2026-12-31", units=""),
        "D;H;P-3;Muster;Alt;1990-01-01;lunch;2026-01-01;2026-07-31;;;;;;",
    )
    assert [(p.decision_ref, p.outcome, p.code) for p in plans] == [
        ("A", "refused", "tutoring_beyond_school_year"),
        ("B", "created", ""),
        ("C", "refused", "overlapping_entitlement"),
        ("D", "refused", "child_over_25"),
    ]


def test_the_report_csv_never_starts_a_cell_with_a_formula(session, make):
    issuer = make.issuer()
    plans = _plan(
        session, issuer.id, "=1+1;H;P;M;K;2015-03-14;school_bus;2026-01-01;2026-07-31;;;;;;"
    )
    text = "".join(report_lines(plans))
    assert text.splitlines()[1].startswith("2;'=1+1;refused;unknown_category;")


def test_an_updated_decision_may_not_move_onto_another_benefits_days(session, make):
    """A changed decision passes the same overlap rule as a new one (entitlement_rules):
    moving it onto the days of the child's other benefit in the category is refused, as
    is moving it onto a later line's new benefit; a change beside it is taken."""
    issuer = make.issuer()
    child = make.child(issuer, birth_date=date(2015, 3, 14))
    child.child_ref, child.given_name, child.family_name = "P-1", "Elif", "Yılmaz"
    first = make.entitlement(child, period=(date(2026, 1, 1), date(2026, 6, 30)))
    first.decision_ref = "D-A"
    later = make.entitlement(child, period=(date(2026, 7, 1), date(2026, 12, 31)))
    later.decision_ref = "D-B"
    session.flush()

    def line(ref, start, end):
        return f"{ref};HAM-1;P-1;Yılmaz;Elif;14.03.2015;participation;{start};{end};;;;;;"

    (onto,) = _plan(session, issuer.id, line("D-A", "2026-01-01", "2026-09-30"))
    assert (onto.outcome, onto.code) == ("refused", "overlapping_entitlement")
    (shorter,) = _plan(session, issuer.id, line("D-A", "2026-02-01", "2026-06-30"))
    assert (shorter.outcome, shorter.code, shorter.cap_cents) == ("updated", "", 5 * 1500)
    new, moved = _plan(
        session,
        issuer.id,
        line("D-C", "2027-01-01", "2027-06-30"),
        line("D-B", "2026-07-01", "2027-03-31"),
    )
    assert (new.outcome, moved.outcome, moved.code) == (
        "created",
        "refused",
        "overlapping_entitlement",
    )
