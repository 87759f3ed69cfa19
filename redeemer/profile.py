"""The partner's own profile on the scanner side (its staff, signed in): what the city's
directory shows of it and whether it is listed, and new bank details for the city to
confirm. Routes of the scanner's blueprint (`redeemer.scanner.bp`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from redeemer.scanner import bp
from redeemer.staff_auth import current_counter, signed_in
from redeemer.wording import REFUSALS
from youcard.domain.enums import Category
from youcard.errors import DomainError
from youcard.operations import partner_profile
from youcard.reads.partners import own_profile
from youcard.web import db_session, now, undo_writes
from youcard.web.names import CATEGORY_NAMES


def _page(
    status: int = 200, refusal: str | None = None, field: str | None = None
) -> ResponseReturnValue:
    counter = current_counter()
    return (
        render_template(
            "profile.html",
            profile=own_profile(db_session(), by=counter),
            categories=[c for c in Category if any(c == cat for _, cat in counter.permissions)],
            category_names=CATEGORY_NAMES,
            values=request.form if request.method == "POST" else None,
            refusal=refusal,
            refused_field=field,
        ),
        status,
    )


@bp.get("/profile")
@signed_in
def profile() -> ResponseReturnValue:
    """The partner's profile as the directory shows it, to change."""
    return _page()


@bp.post("/profile")
@signed_in
def save_profile() -> ResponseReturnValue:
    """Save the profile: refused whole, in words, when a value breaks a rule."""
    form = request.form
    offers = {
        c.value: (form.get(f"offer_{c.value}", "")[:600], form.get(f"price_{c.value}", "")[:200])
        for c in Category
        if f"offer_{c.value}" in form or f"price_{c.value}" in form
    }
    texts = {
        name: (form.get(name) or "")[:600]
        for name in partner_profile.PROFILE_FIELDS
        if name not in ("listed", "contact_public")
    }
    asked = partner_profile.Profile(
        **texts,
        listed=form.get("listed") == "1",
        contact_public=form.get("contact_public") == "1",
        offers=offers,
    )
    try:
        partner_profile.update_profile(db_session(), by=current_counter(), profile=asked, now=now())
    except DomainError as error:
        undo_writes()
        reason = str(REFUSALS.get(error.code, error.message))
        return _page(422, reason, error.details.get("field"))
    flash(_("Your profile is saved."), "info")
    return redirect(url_for("scanner.profile")), 303


@bp.post("/profile/iban")
@signed_in
def new_iban() -> ResponseReturnValue:
    """New bank details: they wait for the city's confirmation."""
    try:
        partner_profile.ask_for_new_iban(
            db_session(), by=current_counter(), iban=request.form.get("iban") or "", now=now()
        )
    except DomainError as error:
        undo_writes()
        flash(str(REFUSALS.get(error.code, error.message)), "error")
        return redirect(url_for("scanner.profile")), 303
    flash(_("The new bank details wait for the city's confirmation."), "info")
    return redirect(url_for("scanner.profile")), 303
