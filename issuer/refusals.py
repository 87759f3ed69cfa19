"""Why an operation was refused, in the page's language: one table for every staff page."""

from __future__ import annotations

from flask import (
    flash,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from youcard.errors import DomainError
from youcard.web import undo_writes

REFUSALS = {
    "four_eyes": _l("you recorded this entitlement; a colleague has to decide on it."),
    "already_decided": _l("this entitlement was already decided."),
    "not_approved": _l("only an approved entitlement can be revoked."),
    "role_not_permitted": _l("your role does not allow this."),
    "reason_required": _l("please give a reason."),
    "reason_too_long": _l("the reason is too long."),
    "child_too_old": _l("the child is 18 before the period starts."),
    "invalid_period": _l("the period ends before it starts."),
    "rule_required": _l("trips need the approved amount."),
    "amount_not_for_category": _l("only trips are approved with an amount."),
    "overlapping_entitlement": _l(
        "the child already has this benefit for part of this period; a follow-up starts the "
        "day after the previous one ends."
    ),
    "invalid_birth_date": _l("the date of birth lies in the future."),
    "child_over_25": _l("with this date of birth the child would be older than 25."),
    "period_too_long": _l("an approval lasts at most 12 months; record a follow-up for the rest."),
    "period_starts_too_early": _l("an approval starts at most 12 months back."),
    "tutoring_beyond_school_year": _l(
        "tutoring is approved until the end of the school year (31 July) at most; record the "
        "next school year separately."
    ),
    "iban_four_eyes": _l("you entered this IBAN; a second administrator has to confirm it."),
    "nothing_to_confirm": _l("no new IBAN is waiting."),
    # Messages to families: sending one again
    "message_not_found": _l("there is no such message."),
    "not_failed": _l("only a message that was not delivered is sent again."),
    "address_undeliverable": _l(
        "the family or partner cannot be reached this way: enter another address first."
    ),
    "already_sent": _l("this message already went to that address."),
    "not_blocked": _l("only a blocked card that was not replaced yet gets a new one."),
    "card_exists": _l("the child already has a valid card."),
    "nothing_approved": _l("the child has no current approved benefit."),
    "no_signing_key": _l("there is no signing key; an administrator has to make one."),
    "card_not_active": _l("this card is already blocked."),
    "nothing_to_print": _l("no card is waiting to be printed."),
    "reference_taken": _l("this reference number is already in use."),
    "username_taken": _l("this username is already in use."),
    "invalid_username": _l("a username has 2 to 80 letters a-z, digits and . _ @ - and no spaces."),
    "last_administrator": _l(
        "this is the last active administrator; make another colleague administrator first."
    ),
    "staff_not_found": _l("there is no such staff account."),
    "wrong_password": _l("the current password is wrong."),
    "password_too_short": _l("the password needs at least 12 characters."),
    "password_too_long": _l("the password is too long."),
    "password_too_common": _l(
        "this password is among the most common ones or easy to guess; a few unusual words "
        "in a row are better."
    ),
    "invalid_email": _l("this e-mail address is not valid."),
    "invalid_url": _l("the web address must begin with https:// and name a host."),
    "invalid_phone": _l("a phone number has digits, spaces and + ( ) / - only."),
    "invalid_postal_code": _l("a German postal code has five digits."),
    "invalid_name": _l(
        "a name may not hold invisible control or text-direction characters, nor begin with "
        "= + - or @."
    ),
    "token_not_found": _l("there is no such token."),
    "invalid_text": _l("please write it on one line."),
    "invalid_characters": _l(
        "this holds an invisible control or text-direction character, or begins with = + - or @."
    ),
    # Partners' applications
    "terms_not_accepted": _l("please accept the terms."),
    "terms_changed": _l("the terms changed while you filled in the form: please read them again."),
    "no_terms": _l("this city takes no applications yet."),
    "invalid_legal_form": _l("please choose a legal form."),
    "invalid_category": _l("please choose each category once."),
    "offer_required": _l(
        "please choose at least one kind of benefit, each with your offer and its price."
    ),
    "application_not_found": _l("there is no such application."),
    "not_printable": _l(
        "it holds a character that letters and cards cannot print (an emoji, say); please "
        "leave it out."
    ),
    "field_too_long": _l("this is too long."),
    "unknown_language": _l("please choose one of the languages offered."),
    "household_not_found": _l("there is no such family."),
    "code_replaced": _l(
        "this access code was replaced by a newer one; print the letter with a new code."
    ),
    "password_unchanged": _l("the new password must differ from the current one."),
    "month_not_ended": _l("only a month that has ended can be settled."),
    "invalid_month": _l("please choose one of the months offered."),
    "earlier_month_open": _l("an earlier month is still a draft; finalize it first."),
    "later_month_finalized": _l("a later month is already finalized and holds these bookings."),
    "changed_since_review": _l(
        "bookings arrived since you reviewed this month; the numbers below are new."
    ),
    "not_finalized": _l("only a finalized month is paid."),
    "nothing_to_pay": _l("nothing is to be paid for this month, so there is no SEPA file."),
    "no_debtor_account": _l("the city's account for paying partners is not set yet."),
    "invalid_iban": _l("this IBAN is not valid."),
    "invalid_bic": _l("this BIC is not valid."),
    "birth_date_conflicts_with_bookings": _l(
        "with this date of birth more would have been booked than the budget allows."
    ),
    # Bookings (a mandate's last instalment): why one was refused
    "insufficient_budget": _l("not enough was left."),
    "outside_period": _l("the day lies outside the approval period."),
    "entitlement_inactive": _l("the benefit is not approved or was revoked."),
    "no_entitlement": _l("the child has no such benefit."),
    "partner_inactive": _l("the partner is suspended."),
    "category_not_permitted": _l("the partner may not book this benefit."),
    "mandate_not_found": _l("there is no such standing authorization."),
    # Imports: why a line or the whole file is refused (the CSV report keeps the
    # technical detail in English beside the code).
    "field_required": _l("a required field is empty."),
    "ref_too_long": _l("a reference is longer than 60 characters."),
    "unknown_category": _l("this is not one of the benefits."),
    "unknown_legal_basis": _l("this is not one of the legal bases."),
    "unknown_status": _l("the status is neither approved nor ended."),
    "invalid_date": _l("a date cannot be read."),
    "invalid_amount": _l("an amount in euros cannot be read."),
    "invalid_number": _l("a number cannot be read."),
    "child_conflict": _l(
        "this child is known with another name, date of birth or family; correct one side, "
        "nothing is overwritten."
    ),
    "decision_of_another_child": _l("this decision belongs to another child."),
    "not_live": _l("this decision was rejected or revoked in YouCard."),
    "category_changed": _l("a decision cannot change its benefit."),
    "below_booked": _l("more is booked, or booked outside the new period, than it allows."),
    "unknown_decision": _l("an ended line needs a decision YouCard already has."),
    "end_before_bookings": _l("it cannot end before what is already booked."),
    "field_not_for_category": _l(
        "an amount column is filled that this benefit does not use (trips and participation: "
        "amount_eur; lunch: unit_cap_eur and per_day; tutoring: unit_cap_eur and units)."
    ),
    "invalid_execution_date": _l(
        "the execution date must be a date between today and a year from now."
    ),
    "file_too_large": _l("the file is too large."),
    "file_not_text": _l("the file is not a text file."),
    "not_utf8": _l(
        "the file is not UTF-8 (Excel: save as 'CSV UTF-8 (comma delimited)') and upload it again."
    ),
    "file_empty": _l("the file is empty."),
    "no_lines": _l("the file has a header but no lines."),
    "bad_header": _l("the header does not fit the format (see the columns below)."),
    "bad_line": _l("a line cannot be read as CSV."),
    "duplicate_decision_ref": _l("a decision_ref appears twice in the file."),
    "import_waiting": _l("this file already waits to be checked or confirmed."),
    "import_not_waiting": _l("this import is not waiting for a decision."),
    "lines_refused": _l("lines are refused; nothing is written."),
    "changed_since_recorded": _l(
        "since it was recorded, lines became refused; nothing is written. Upload the file "
        "again to see why."
    ),
}


def refused(error: DomainError, *, undo: bool = True) -> None:
    """Tell why the operation was refused (in the page's language); nothing of the request
    stays written (the unit of work rolls it back at the end). `undo=False`: only the
    refused step is undone (a savepoint did it) and the others of the request stand."""
    if undo:
        undo_writes()
    reason = REFUSALS.get(error.code, error.message)
    flash(_("Not possible: %(reason)s", reason=reason) + _particulars(error), "error")


def _particulars(error: DomainError) -> str:
    """What the refusal names beyond its reason: the columns a file's header misses or does
    not know (names of the format, the same in every language), the line that cannot be read."""
    said = []
    if error.details.get("missing"):
        said.append(_("Missing columns: %(names)s.", names=", ".join(error.details["missing"])))
    if error.details.get("unknown"):
        said.append(_("Unknown columns: %(names)s.", names=", ".join(error.details["unknown"])))
    if error.details.get("line"):
        said.append(_("Line %(number)s.", number=error.details["line"]))
    return "".join(f" {part}" for part in said)
