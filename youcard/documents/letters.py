"""The approval letter: what it says (a read model of the household's approved benefits)
and how it is laid out (A4, DIN 5008 form B, the address in a window envelope's field).

The words come from the caller in the household's language (and German beside it); this
module only places them. Arabic is set right to left with text shaping (HarfBuzz).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import select

from youcard.db import Session
from youcard.documents.pdf_text import ShapingPDF
from youcard.domain.budget import BudgetRule
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import Category, EntitlementStatus
from youcard.domain.languages import RIGHT_TO_LEFT
from youcard.domain.models import Child, Entitlement, Household, Issuer
from youcard.policy import RECORDERS, Staff, require_role
from youcard.tenancy import owned

# DIN 5008 form B, millimetres from the page's top left.
LEFT, RIGHT = 25.0, 20.0
ADDRESS_X, ADDRESS_Y, ADDRESS_W = 20.0, 45.0, 85.0  # the window: 85 x 45 mm
RETURN_LINE_H = 17.7  # the return address zone, above the recipient's lines
INFO_X, INFO_Y, INFO_W = 125.0, 50.0, 75.0
TEXT_Y = 103.4  # the subject line
FOLD_MARKS = (105.0, 210.0)
HOLE_MARK = 148.5
COLUMN_GAP = 6.0


@dataclass(frozen=True)
class ApprovedBenefit:
    """One approved benefit as the letter states it."""

    category: Category
    valid_from: date
    valid_until: date
    rule: BudgetRule


@dataclass(frozen=True)
class ChildBenefits:
    """A child and what was approved for them."""

    given_name: str
    family_name: str
    birth_date: date | None  # None: erased (youcard.privacy.retention)
    benefits: tuple[ApprovedBenefit, ...]


@dataclass(frozen=True)
class LetterFacts:
    """Everything an approval letter says, before it is put into words."""

    household_id: int
    reference: str
    family_name: str
    address: tuple[str, ...]  # the recipient's lines, as on the envelope
    language: str
    issuer_name: str
    office: OfficeDetails
    children: tuple[ChildBenefits, ...]
    code_made_at: datetime | None  # the current access code's day, when the letter has none


def letter_facts(session: Session, *, by: Staff, household_id: int, today: date) -> LetterFacts:
    """What the household's approval letter says: its address and, per child, the approved
    benefits that have not ended (caseworkers and administrators of the household's issuer)."""
    require_role(by, RECORDERS, "make letters")
    household = owned(session, by, Household, household_id, "household")
    issuer = session.get(Issuer, household.issuer_id)
    assert issuer is not None
    rows = session.execute(
        select(Child, Entitlement)
        .join(Entitlement, Entitlement.child_id == Child.id)
        .where(
            Child.household_id == household.id,
            Entitlement.status == EntitlementStatus.APPROVED,
            Entitlement.valid_until >= today,
        )
        .order_by(Child.birth_date, Child.id, Entitlement.category, Entitlement.valid_from)
    ).all()
    children: dict[int, ChildBenefits] = {}
    for child, entitlement in rows:
        benefit = ApprovedBenefit(
            entitlement.category,
            entitlement.valid_from,
            entitlement.valid_until,
            entitlement.budget_rule,
        )
        known = children.get(child.id)
        children[child.id] = ChildBenefits(
            child.given_name,
            child.family_name,
            child.birth_date,
            (*known.benefits, benefit) if known else (benefit,),
        )
    address = [f"Familie {household.family_name}"]
    if household.street:
        address.append(household.street)
    if household.postal_code or household.city:
        address.append(" ".join(p for p in (household.postal_code, household.city) if p))
    return LetterFacts(
        household_id=household.id,
        reference=household.reference,
        family_name=household.family_name,
        address=tuple(address),
        language=household.language,
        issuer_name=issuer.name,
        office=OfficeDetails.of(issuer),
        children=tuple(children.values()),
        code_made_at=household.access_code_set_at,
    )


@dataclass(frozen=True)
class LetterColumn:
    """The letter's text in one language."""

    language: str
    subject: str
    paragraphs: tuple[str, ...]  # lines within a paragraph are separated by "\n"


@dataclass(frozen=True)
class Letter:
    """A letter ready to lay out: German first; a second column in the household's language."""

    return_line: str  # the sender in one small line above the address
    address: tuple[str, ...]
    info: tuple[str, ...]  # the information block beside the address: office, phone, date
    columns: tuple[LetterColumn, ...]
    follow_header: str = ""  # atop a second page: whose letter it is ("… – page 2")


class _LetterPDF(ShapingPDF):
    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        self.set_margins(LEFT, 20, RIGHT)
        self.set_auto_page_break(True, margin=20)
        self.set_title("YouCard")

    def marks(self) -> None:
        """Fold marks and the hole mark at the left edge (DIN 5008)."""
        self.set_draw_color(150, 150, 150)
        self.set_line_width(0.2)
        for y in FOLD_MARKS:
            self.line(3, y, 8, y)
        self.line(3, HOLE_MARK, 10, HOLE_MARK)

    def return_line(self, text: str) -> None:
        """The sender's line above the address, within the window's width: a long office
        name is set smaller (down to 5.5 pt), then cut; it never runs into the info block."""
        width, size = ADDRESS_W - 5, 7.0
        self.set_font("DejaVu", "", size)
        while size > 5.5 and self.get_string_width(text) > width - 2 * self.c_margin:
            size -= 0.5
            self.set_font("DejaVu", "", size)
        self.set_xy(ADDRESS_X + 5, ADDRESS_Y + RETURN_LINE_H - 5)
        self.cell(width, 4, self.fitted(text, width))

    def write_lines(self, lines: Sequence[str], x: float, y: float, w: float, size: float) -> None:
        self.set_font("DejaVu", "", size)
        self.set_xy(x, y)
        for line in lines:
            self.set_x(x)
            self.multi_cell(w, size * 0.45, line, new_x="LMARGIN", new_y="NEXT")

    def block(
        self,
        text: str,
        language: str,
        x: float,
        w: float,
        *,
        bold: bool = False,
        dry_run: bool = False,
    ) -> float:
        """One paragraph at (x, current y); its height."""
        rtl = self.right_to_left = language in RIGHT_TO_LEFT
        self.set_font("DejaVu", "B" if bold else "", 10.5 if bold else 9.5)
        height = 5.0 if bold else 4.6
        if dry_run:
            lines = cast(list[str], self.multi_cell(w, height, text, dry_run=True, output="LINES"))
            return float(len(lines) * height)
        top = self.get_y()
        self.set_x(x)
        self.multi_cell(w, height, text, align="R" if rtl else "L", new_x="LEFT", new_y="NEXT")
        return self.get_y() - top


def _rows(letter: Letter) -> list[tuple[bool, list[tuple[str, str]]]]:
    """The letter's rows: (bold, [(language, text) per column]); a paragraph beside its
    translation, so both languages go on together across a page break."""
    rows = [(True, [(c.language, c.subject) for c in letter.columns])]
    for i in range(len(letter.columns[0].paragraphs)):
        rows.append((False, [(c.language, c.paragraphs[i]) for c in letter.columns]))
    return rows


PARAGRAPH_GAP = 1.6  # mm between paragraphs: a one-child letter in two languages fits a page


def letters_pdf(letters: Sequence[Letter]) -> bytes:
    """One PDF of `letters`, each starting on a new page, in the order given."""
    pdf = _LetterPDF()
    for letter in letters:
        pdf.add_page()
        pdf.right_to_left = False
        pdf.marks()
        pdf.return_line(letter.return_line)
        pdf.write_lines(letter.address, ADDRESS_X + 5, ADDRESS_Y + RETURN_LINE_H, ADDRESS_W - 5, 10)
        pdf.write_lines(letter.info, INFO_X, INFO_Y, INFO_W, 8.5)
        width = 210 - LEFT - RIGHT
        count = len(letter.columns)
        column_w = (width - COLUMN_GAP * (count - 1)) / count
        pdf.set_y(TEXT_Y)
        page = 1
        for bold, cells in _rows(letter):
            tallest = max(
                pdf.block(text, lang, LEFT, column_w, bold=bold, dry_run=True)
                for lang, text in cells
            )
            if pdf.get_y() + tallest > pdf.page_break_trigger:
                pdf.add_page()
                page += 1
                pdf.right_to_left = False
                pdf.set_font("DejaVu", "", 8)
                pdf.set_xy(LEFT, 12)
                pdf.cell(width, 4, f"{letter.follow_header} – {page}")
                pdf.set_y(22)
            top = pdf.get_y()
            for index, (lang, text) in enumerate(cells):
                pdf.set_y(top)
                pdf.block(text, lang, LEFT + index * (column_w + COLUMN_GAP), column_w, bold=bold)
            pdf.set_y(top + tallest + (3.0 if bold else PARAGRAPH_GAP))
    return bytes(pdf.output())
