"""The approval letter in words: German, and the household's language beside it.

Families read these texts: every one exists in each family language (the catalogs of
issuer/translations; tests/unit/test_translations.py checks it).
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from youcard.documents.letters import (
    ApprovedBenefit,
    ChildBenefits,
    Letter,
    LetterColumn,
    LetterFacts,
)
from youcard.domain.enums import RuleKind
from youcard.domain.languages import left_to_right, money
from youcard.web.names import CATEGORY_NAMES


def _day(day: date | None, language: str = "de") -> str:
    return "" if day is None else left_to_right(day.strftime("%d.%m.%Y"), language)


def amount_text(benefit: ApprovedBenefit, language: str) -> str:
    """What the budget rule means, in words a family understands."""
    rule = benefit.rule
    amount = money(rule.amount_cents, language)
    if rule.kind is RuleKind.MONTHLY:
        text = _("%(amount)s for every month", amount=amount)
    elif rule.kind is RuleKind.TOTAL:
        text = _("up to %(amount)s in total", amount=amount)
    elif rule.units_per_day:
        text = _("%(n)s a day, up to %(amount)s each", n=rule.units_per_day, amount=amount)
    elif rule.units_total:
        text = _("%(n)s times, up to %(amount)s each", n=rule.units_total, amount=amount)
    else:
        text = _("up to %(amount)s each time", amount=amount)
    return str(text)


def _child(child: ChildBenefits, language: str) -> str:
    lines = [
        _("%(name)s, born %(day)s:", name=child.given_name, day=_day(child.birth_date, language))
    ]
    for benefit in child.benefits:
        lines.append(
            "• "
            + _(
                "%(benefit)s: %(amount)s, from %(start)s to %(end)s",
                benefit=str(CATEGORY_NAMES[benefit.category]),
                amount=amount_text(benefit, language),
                start=_day(benefit.valid_from, language),
                end=_day(benefit.valid_until, language),
            )
        )
    return "\n".join(lines)


def _column(facts: LetterFacts, language: str, code: str | None) -> LetterColumn:
    office = facts.office
    office_name = office.name or facts.issuer_name
    paragraphs = [
        _("Dear %(name)s family,", name=facts.family_name),
        _("The following benefits for education and participation have been approved:")
        if facts.children
        else _("At the moment no benefit for education and participation is approved."),
        *(_child(child, language) for child in facts.children),
        _(
            "Your child shows the YouCard (its QR code) to the provider: the club, the music "
            "school, the tutor or the school canteen. The provider is paid from the benefit; "
            "you pay nothing for what was approved."
        ),
    ]
    if office.family_url:
        paragraphs.append(
            _(
                "In the family area you see your children's cards and what is left:\n%(url)s",
                url=left_to_right(office.family_url, language),
            )
        )
        paragraphs[-1] += "\n" + _(  # one paragraph with the family area: one page
            "Where the card is taken: %(url)s",
            url=left_to_right(office.directory_url or "", language),
        )
    if code:
        paragraphs.append(
            _(
                "Your access code: %(code)s\nYou sign in with it and a child's date of birth. "
                "Keep it safe; if you lose it, the office makes you a new one.",
                code=left_to_right(code, language),
            )
        )
    elif facts.code_made_at is not None:
        paragraphs.append(
            _(
                "Sign in with the access code we sent you on %(day)s and a child's date of "
                "birth. Lost it? The office makes you a new one.",
                day=_day(facts.code_made_at.date(), language),
            )
        )
    contact = [_("Questions? Please contact us: %(office)s", office=office_name)]
    if office.phone:
        contact.append(_("Phone: %(phone)s", phone=left_to_right(office.phone, language)))
    if office.hours:
        contact.append(_("Opening hours: %(hours)s", hours=left_to_right(office.hours, language)))
    paragraphs.append("\n".join(contact))
    paragraphs.append(_("Kind regards\n%(office)s", office=office_name))
    paragraphs.append(_("This letter was made by machine and is valid without a signature."))
    return LetterColumn(
        language=language,
        subject=_("Your benefits for education and participation: the YouCard"),
        paragraphs=tuple(paragraphs),
    )


def letter_of(facts: LetterFacts, code: str | None, today: date) -> Letter:
    """The letter: German, and beside it the household's language when that is not German."""
    office = facts.office
    office_name = office.name or facts.issuer_name
    place = " ".join(p for p in (office.postal_code, office.city) if p)
    with force_locale("de"):
        info = [office_name]
        info += [line for line in (office.street, place) if line]
        if office.phone:
            info.append(_("Phone: %(phone)s", phone=office.phone))
        if office.email:
            info.append(office.email)
        info += ["", _("Reference: %(ref)s", ref=facts.reference), _day(today)]
        follow = _(
            "Letter to the %(name)s family, reference %(ref)s, page",
            name=facts.family_name,
            ref=facts.reference,
        )
        columns = [_column(facts, "de", code)]
    if facts.language != "de":
        with force_locale(facts.language):
            columns.append(_column(facts, facts.language, code))
    return Letter(
        return_line=" · ".join(p for p in (office_name, office.street, place) if p),
        address=facts.address,
        info=tuple(info),
        columns=tuple(columns),
        follow_header=str(follow),
    )
