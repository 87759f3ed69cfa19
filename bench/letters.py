"""Approval letters: milliseconds per letter (German alone, German beside Turkish, German
beside Arabic), against a baseline in the same run: fpdf2 setting the German text alone on
an A4 page with plain multi_cell calls (no columns, no shaping).

Usage: .venv/bin/python bench/letters.py [--letters 100]
A day's batch is printed in parts of issuer.letters.PART letters: a part must stay well
inside a request's time (gunicorn's default timeout is 30 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fpdf import FPDF  # noqa: E402

import issuer  # noqa: E402
from issuer.letter_texts import letter_of  # noqa: E402
from issuer.letters import PART  # noqa: E402
from youcard.documents.letters import ApprovedBenefit, ChildBenefits, LetterFacts, letters_pdf  # noqa: E402
from youcard.documents.pdf_text import FONTS  # noqa: E402
from youcard.domain.budget import BudgetRule  # noqa: E402
from youcard.domain.contacts import OfficeDetails  # noqa: E402
from youcard.domain.enums import Category, RuleKind  # noqa: E402

PERIOD = (date(2026, 1, 1), date(2026, 12, 31))


def facts(language: str) -> LetterFacts:
    benefits = (
        ApprovedBenefit(Category.PARTICIPATION, *PERIOD, BudgetRule(RuleKind.MONTHLY, 1500)),
        ApprovedBenefit(Category.LUNCH, *PERIOD, BudgetRule(RuleKind.UNITS, 500, units_per_day=1)),
    )
    return LetterFacts(
        household_id=1,
        reference="HAM-2026-0001",
        family_name="Yılmaz",
        address=("Familie Yılmaz", "Ostring 5", "59065 Hamm"),
        language=language,
        issuer_name="Stadt Hamm",
        office=OfficeDetails(
            name="Stadt Hamm", phone="02381 17-0", hours="Mo–Fr 8–12", family_url="https://x.de"
        ),
        children=(
            ChildBenefits("Elif", "Yılmaz", date(2015, 3, 14), benefits),
            ChildBenefits("Can", "Yılmaz", date(2011, 9, 2), benefits),
        ),
        code_made_at=None,
    )


def plain(letters: int, text: list[str]) -> float:
    start = time.perf_counter()
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.set_font("DejaVu", "", 9.5)
    for _ in range(letters):
        pdf.add_page()
        for paragraph in text:
            pdf.multi_cell(165, 4.6, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.output()
    return (time.perf_counter() - start) * 1000 / letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=100)
    args = parser.parse_args()
    app = issuer.create_app({"DATABASE_URL": "sqlite://", "TESTING": True})
    with app.test_request_context():
        german = letter_of(facts("de"), "ABCD-EFGH-JKLM-NPQR", date(2026, 3, 16))
        base = plain(args.letters, list(german.columns[0].paragraphs))
        print(f"baseline  {base:6.1f} ms per page (plain fpdf2, the German text alone)")
        for language in ("de", "tr", "ar"):
            letter = letter_of(facts(language), "ABCD-EFGH-JKLM-NPQR", date(2026, 3, 16))
            start = time.perf_counter()
            letters_pdf([letter] * args.letters)
            ms = (time.perf_counter() - start) * 1000 / args.letters
            print(
                f"letter {language}  {ms:6.1f} ms per letter = {ms / base:4.1f} x baseline;"
                f" a part of {PART}: {ms * PART / 1000:4.1f} s"
            )


if __name__ == "__main__":
    main()
