"""Reading the approvals file as case systems and Excel write it, and refusing what is not
such a file (nothing read from it)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import read_approvals
from youcard.domain.enums import Category, RuleKind
from youcard.imports.approvals_file import FileRefused

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;units;unit_cap_eur;per_day;legal_basis;status"
)


def _file(*lines: str, header: str = HEADER, newline: str = "\r\n", bom: bool = True) -> bytes:
    text = newline.join([header, *lines]) + newline
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def test_excel_csv_with_bom_semicolons_crlf_german_dates_and_decimal_commas():
    data = _file(
        ' D-1 ;HAM-1;P-1;"Yılmaz";Elif;14.03.2015;trips;01.08.2026;31.07.2027;"1.234,50";;;;SGB2;',
        "D-2;HAM-1;P-1;Yılmaz;Elif;2015-03-14;lunch;2026-08-01;2027-07-31;;;4,50;1;BKGG;approved",
        "D-3;HAM-1;P-2;Yılmaz;Can;02.09.2011;participation;01.08.2026;31.07.2027;;;;;;",
        ";;;;;;;;;;;;;;",  # an empty line of separators is skipped
    )
    lines, refusals = read_approvals(data)
    assert refusals == []
    trip, lunch, club = lines
    assert (trip.decision_ref, trip.number, trip.birth_date) == ("D-1", 2, date(2015, 3, 14))
    assert (trip.rule.kind, trip.rule.amount_cents, trip.legal_basis) == (
        RuleKind.TOTAL,
        123450,
        "SGB2",
    )
    assert (lunch.rule.amount_cents, lunch.rule.units_per_day) == (450, 1)
    assert club.category is Category.PARTICIPATION and club.rule.amount_cents == 1500
    assert club.status == "approved"


def test_commas_plain_utf8_and_lf_work_too():
    header = HEADER.replace(";", ",")
    data = _file("D-9,H,P,Nowak,Lena,2009-01-30,tutoring,2026-08-01,2027-07-31,,20,25.00,,,",
                 header=header, newline="\n", bom=False)  # fmt: skip
    (line,), refusals = read_approvals(data)
    assert refusals == [] and (line.rule.units_total, line.rule.amount_cents) == (20, 2500)


@pytest.mark.parametrize(
    ("cells", "code"),
    [
        ("D-1;H;P;Y;E;31.02.2015;lunch;2026-08-01;2027-07-31;;;;;;", "invalid_date"),
        ("D-1;H;P;Y;E;2015-03-14;school_bus;2026-08-01;2027-07-31;;;;;;", "unknown_category"),
        ("D-1;H;P;Y;E;2015-03-14;trips;2026-08-01;2027-07-31;;;;;;", "rule_required"),
        ("D-1;H;P;Y;E;2015-03-14;trips;2026-08-01;2027-07-31;12a;;;;;", "invalid_amount"),
        ("D-1;H;P;Y;E;2015-03-14;trips;2026-08-01;2027-07-31;-5;;;;;", "invalid_amount"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;0;;", "invalid_number"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;SGB3;", "unknown_legal_basis"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;paused", "unknown_status"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;2027-08-01;2026-07-31;;;;;;", "invalid_period"),
        ("D-1;H;;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;", "field_required"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;01.01.9999;2027-07-31;;;;;;", "invalid_date"),
        # a column the benefit does not read is refused, never dropped (#27.4)
        ("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;20;;;;", "field_not_for_category"),
        ("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;50;;;;;", "field_not_for_category"),
        ("D-1;H;P;Y;E;2015-03-14;trips;2026-08-01;2027-07-31;50;;9;;;", "field_not_for_category"),
        (
            "D-1;H;P;Y;E;2015-03-14;participation;2026-08-01;2027-07-31;;;;2;;",
            "field_not_for_category",
        ),
        (
            "D-1;H;P;Y;E;2015-03-14;tutoring;2026-08-01;2027-07-31;;20;;1;;",
            "field_not_for_category",
        ),
    ],
)
def test_a_bad_line_is_refused_with_its_reason(cells, code):
    lines, (refusal,) = read_approvals(_file(cells))
    assert lines == [] and (refusal.number, refusal.decision_ref, refusal.code) == (2, "D-1", code)


def test_a_formula_as_a_name_is_refused_by_the_pages_rule_and_other_cells_stay_text():
    lines, (refusal,) = read_approvals(
        _file('D-1;H;P;"=HYPERLINK(""http://x"")";E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;')
    )
    assert lines == [] and refusal.code == "invalid_name"  # as on the pages (clean_name)
    (line,), _ = read_approvals(
        _file("D-1;=H;P;Yilmaz;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;")
    )
    assert line.case_ref == "=H"  # a reference is the case system's, kept as text


def test_an_invisible_character_refuses_its_line_and_a_control_character_the_file():
    lines, (refusal,) = read_approvals(
        _file("D-1;H\u202e;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;")
    )
    assert lines == [] and refusal.code == "invalid_text" and "case_ref" in refusal.message
    with pytest.raises(FileRefused):
        read_approvals(_file("D-1;H\u0007;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;"))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "file_empty"),
        ("\ufeff".encode(), "file_empty"),
        (_file(), "no_lines"),
        (_file(header=HEADER + ";colour"), "bad_header"),
        (_file(header=HEADER.replace("child_ref;", "")), "bad_header"),
        (_file(header=HEADER + ";status"), "bad_header"),
        ("decision_ref;family_name\nD-1;Müller\n".encode("cp1252"), "not_utf8"),
        (_file("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;\x00"), "file_not_text"),
        (_file("D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31" + ";x" * 10_000), "bad_line"),
        (
            _file(
                "D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;",
                "D-1;H;P;Y;F;2016-03-14;lunch;2026-08-01;2027-07-31;;;;;;",
            ),
            "duplicate_decision_ref",
        ),
        (
            _file("D-1;H;P;" + "Y" * 201 + ";E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;"),
            "bad_line",
        ),
        (_file('D-1;H;P;"Y\x07";E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;'), "bad_line"),
        (_file('D-1;H;P;"unclosed;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;'), "bad_line"),
    ],
)
def test_a_file_that_is_not_an_approvals_file_is_refused_whole(data, code):
    with pytest.raises(FileRefused) as caught:
        read_approvals(data)
    assert caught.value.code == code and caught.value.message


def test_mixed_line_endings_are_read_as_lines_and_a_broken_quote_is_said_in_words():
    """#27.4: files pasted together from Windows, Unix and old Mac programs; Python's csv
    message ("new-line character seen in unquoted field") was shown before."""
    line = "D-{n};H;P-{n};Yılmaz;Elif;14.03.2015;lunch;01.08.2026;31.07.2027;;;;;;"
    endings = ["\n", "\r", "\r\n", ""]
    data = ("\ufeff" + HEADER + "\r\n").encode()
    data += "".join(line.format(n=n + 1) + end for n, end in enumerate(endings)).encode()
    lines, refusals = read_approvals(data)
    assert refusals == [] and [x.decision_ref for x in lines] == ["D-1", "D-2", "D-3", "D-4"]
    assert [x.number for x in lines] == [2, 3, 4, 5]
    with pytest.raises(FileRefused) as caught:
        read_approvals(_file(line.format(n=1), 'D-2;H;P;"Y;E;2015-03-14;lunch;;;;;;;;'))
    assert caught.value.details["line"] == 3 and "quotation mark" in caught.value.message
    assert "new-line" not in caught.value.message and "Error" not in caught.value.message


def test_a_header_that_does_not_fit_names_the_columns():
    with pytest.raises(FileRefused) as caught:
        read_approvals(_file(header=HEADER.replace("child_ref;", "kind;")))
    assert caught.value.details == {"missing": ["child_ref"], "unknown": ["kind"]}


def test_a_200_mb_file_is_refused_before_it_is_read(monkeypatch):
    import youcard.imports.approvals_file as module

    monkeypatch.setattr(module, "MAX_BYTES", 1000)
    with pytest.raises(FileRefused) as caught:
        read_approvals(_file(*["D-1;H;P;Y;E;2015-03-14;lunch;2026-08-01;2027-07-31;;;;;;"] * 30))
    assert caught.value.code == "file_too_large"
