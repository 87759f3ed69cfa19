"""A run's files: the CSVs add up, the SEPA file pays what the run says to the cent and
validates against the pain.001.001.09 XSD."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as etree

import pytest
import sepaxml
import xmlschema

from tests.domain.test_settlements import APRIL, JUNE_2, MARCH, _at, _book, _cancel, march
from youcard.documents import settlement_files
from youcard.domain.models import Issuer
from youcard.errors import DomainError
from youcard.operations.settlements import finalize, prepare
from youcard.policy import Staff

__all__ = ["march"]  # the fixture, shared with test_settlements

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _final(session, city, month=MARCH):
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=month, now=JUNE_2)
    return finalize(session, settlement_id=run.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2)


def test_the_csvs_add_up_to_the_run(session, march):
    city, ids = march
    run = _final(session, city)
    lines = _rows(settlement_files.lines_csv(session, run))
    assert {(r["partner_id"], r["category"], r["net_eur"]) for r in lines} == {
        (str(city.p1.id), "participation", "25,00"),
        (str(city.p1.id), "lunch", "7,00"),
        (str(city.p2.id), "participation", "12,00"),
    }
    bookings = _rows("".join(settlement_files.bookings_csv(session, run)))
    assert len(bookings) == run.bookings_count == 7
    cents = sum(int(Decimal(r["amount_eur"].replace(",", ".")) * 100) for r in bookings)
    assert cents == run.net_cents == 4400
    cancellation = next(r for r in bookings if r["kind"] == "cancellation")
    assert cancellation["cancels"] == str(ids["p2_20"]) and cancellation["amount_eur"] == "-20,00"
    assert str(ids["p1_april"]) not in {r["booking"] for r in bookings}
    payments = _rows(settlement_files.payments_csv(session, run))
    assert sorted(r["paid_eur"] for r in payments) == ["12,00", "32,00"]


def test_the_sepa_file_pays_the_run_to_the_cent_and_validates(session, march):
    city, _ = march
    issuer = session.get(Issuer, city.issuer_id)
    issuer.iban, issuer.bic = "DE02120300000000202051", "BYLADEM1001"
    city.p2.iban = "DE75512108001245126199"
    run = _final(session, city)
    xml = settlement_files.sepa_xml(session, run, execution_date=date(2026, 6, 5))
    xmlschema.XMLSchema(str(XSD)).validate(xml.decode())  # raises if the file is not valid
    tree = etree.fromstring(xml)  # noqa: S314 (the file we just made, not untrusted input)
    control = Decimal(tree.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS))
    amounts = [
        Decimal(a.text) for a in tree.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", namespaces=NS)
    ]
    assert control == sum(amounts) == Decimal(run.total_cents) / 100 == Decimal("44.00")
    creditors = {e.text for e in tree.iterfind(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=NS)}
    assert creditors == {city.p1.iban, city.p2.iban} and len(creditors) == len(amounts) == 2
    assert tree.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == issuer.iban
    assert run.reference in xml.decode()


def test_a_run_that_pays_nothing_to_a_partner_leaves_it_out(session, march):
    city, ids = march
    session.get(Issuer, city.issuer_id).iban = "DE02120300000000202051"
    _final(session, city)
    _cancel(session, city.p1, ids["p1_15"], _at(10, 4))
    _book(session, city, city.p2, 700, _at(11, 4))
    april = _final(session, city, APRIL)
    xml = settlement_files.sepa_xml(session, april, execution_date=date(2026, 6, 5)).decode()
    assert xml.count("<CdtTrfTxInf>") == 1 and '<InstdAmt Ccy="EUR">7.00</InstdAmt>' in xml


def test_no_payment_file_for_a_draft_or_without_the_citys_account(session, march):
    city, _ = march
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    with pytest.raises(DomainError) as draft:
        settlement_files.sepa_xml(session, run, execution_date=date(2026, 6, 5))
    assert draft.value.code == "not_finalized"
    finalize(session, settlement_id=run.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2)
    with pytest.raises(DomainError) as account:
        settlement_files.sepa_xml(session, run, execution_date=date(2026, 6, 5))
    assert account.value.code == "no_debtor_account"


def test_a_month_with_nothing_to_pay_has_no_sepa_file(session, march):
    """#14.4: was a 500 (sepaxml: PmtInf expected). Also when every partner is carried
    forward."""
    city, _ = march
    session.get(Issuer, city.issuer_id).iban = "DE02120300000000202051"
    _final(session, city)
    _final(session, city, APRIL)
    empty = _final(session, city, date(2026, 5, 1))  # no booking at all in May
    with pytest.raises(DomainError) as nothing:
        settlement_files.sepa_xml(session, empty, execution_date=date(2026, 6, 5))
    assert nothing.value.code == "nothing_to_pay"
