"""Households, children, entitlements (four eyes) and cards: the caseworkers' daily pages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_currency, format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from issuer.auth import require_roles
from youcard import keys, printing
from youcard.budget import BudgetRule
from youcard.clock import berlin_date
from youcard.config import load_settings
from youcard.enums import Category, EntitlementStatus, Role, RuleKind
from youcard.errors import DomainError
from youcard.models import Card, Child, Entitlement, Household, StaffUser
from youcard.operations import cards as card_ops
from youcard.operations import family as family_ops
from youcard.operations import households as households_ops
from youcard.operations.entitlements import (
    availability,
    decide_entitlement,
    record_entitlement,
    revoke_entitlement,
    usable_period,
)
from youcard.policy import ALL_STAFF, DECIDERS, RECORDERS
from youcard.web import db_session, now

bp = Blueprint("households", __name__)

CATEGORY_NAMES = {
    Category.PARTICIPATION: _l("Social and cultural participation"),
    Category.LUNCH: _l("School lunch"),
    Category.TUTORING: _l("Tutoring"),
    Category.TRIPS: _l("Trips and class trips"),
}
STATUS_NAMES = {
    EntitlementStatus.RECORDED: _l("awaiting approval"),
    EntitlementStatus.APPROVED: _l("approved"),
    EntitlementStatus.REJECTED: _l("rejected"),
    EntitlementStatus.REVOKED: _l("revoked"),
    EntitlementStatus.EXPIRED: _l("expired"),
}


class HouseholdForm(FlaskForm):  # type: ignore[misc]
    reference = StringField(_l("Reference number"), validators=[DataRequired(), Length(max=60)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=200)])


class ChildForm(FlaskForm):  # type: ignore[misc]
    given_name = StringField(_l("Given name"), validators=[DataRequired(), Length(max=200)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=200)])
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired()])


class EntitlementForm(FlaskForm):  # type: ignore[misc]
    category = SelectField(
        _l("Benefit"),
        choices=[SelectChoice(c.value, CATEGORY_NAMES[c]) for c in Category],
        validators=[DataRequired()],
    )
    valid_from = DateField(_l("Approved from"), validators=[DataRequired()])
    valid_until = DateField(_l("Approved until"), validators=[DataRequired()])
    amount_euros = DecimalField(
        _l("Approved amount in euros (trips only)"),
        places=2,
        validators=[Optional(), NumberRange(min=Decimal("0.01"), max=Decimal("100000"))],
    )


class ReasonForm(FlaskForm):  # type: ignore[misc]
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


@bp.app_template_filter("euro")
def _euro(cents: int | None) -> str:
    return "—" if cents is None else str(format_currency(Decimal(cents) / 100, "EUR"))


@bp.app_template_filter("day")
def _day(value: date | None) -> str:
    return "" if value is None else str(format_date(value, "medium"))


PARTNER_STATUS_NAMES = {
    "pending": _l("awaiting approval"),
    "active": _l("approved"),
    "suspended": _l("suspended"),
}


@bp.app_template_filter("category_name")
def _category_name(category: Category) -> str:
    return str(CATEGORY_NAMES[category])


@bp.app_template_filter("datetime_berlin")
def _datetime_berlin(value: datetime) -> str:
    return str(format_datetime(value, "short"))


@bp.app_context_processor
def _names() -> dict[str, Any]:
    return {
        "category_names": CATEGORY_NAMES,
        "status_names": STATUS_NAMES,
        "partner_status_names": PARTNER_STATUS_NAMES,
        "Role": Role,
        "RECORDERS": RECORDERS,  # what the page offers follows the policy
        "DECIDERS": DECIDERS,
    }


def _staff() -> StaffUser:
    user = db_session().get(StaffUser, current_user.id)
    if user is None:
        abort(403)
    return user


def _actor() -> str:
    return f"staff:{current_user.id}"


def _mine(model: Any, object_id: int) -> Any:
    """A row of the signed-in staff member's issuer, else 404 (never tell another issuer's)."""
    row = db_session().get(model, object_id)
    if row is None or row.issuer_id != current_user.issuer_id:
        abort(404)
    return row


def _kek() -> bytes:
    kek: bytes | None = current_app.extensions.get("youcard_kek")
    if kek is None:
        kek = keys.load_kek(load_settings())
        current_app.extensions["youcard_kek"] = kek
    return kek


REFUSALS = {
    "four_eyes": _l("you recorded this entitlement; a colleague has to decide on it."),
    "already_decided": _l("this entitlement was already decided."),
    "not_approved": _l("only an approved entitlement can be revoked."),
    "role_not_permitted": _l("your role does not allow this."),
    "reason_required": _l("please give a reason."),
    "reason_too_long": _l("the reason is too long."),
    "child_too_old": _l("the child is 18 before the period starts."),
    "invalid_period": _l("the period ends before it starts."),
    "overlapping_entitlement": _l(
        "the child already has this benefit for part of this period; a follow-up starts the "
        "day after the previous one ends."
    ),
    "invalid_birth_date": _l("the date of birth lies in the future."),
    "card_exists": _l("the child already has a valid card."),
    "nothing_approved": _l("the child has no current approved benefit."),
    "no_signing_key": _l("there is no signing key; an administrator has to make one."),
    "card_not_active": _l("this card is already blocked."),
    "nothing_to_print": _l("no card is waiting to be printed."),
    "reference_taken": _l("this reference number is already in use."),
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
}


def _refused(error: DomainError, *, rollback: bool = True) -> None:
    """Tell why the operation was refused (in the page's language); nothing of it stays written."""
    if rollback:
        db_session().rollback()
    reason = REFUSALS.get(error.code, error.message)
    flash(_("Not possible: %(reason)s", reason=reason), "error")


@bp.get("/households")
@require_roles(*ALL_STAFF)
def index() -> ResponseReturnValue:
    """Search families by reference number or name."""
    q = (request.args.get("q") or "").strip()[:100]
    query = select(Household).where(Household.issuer_id == current_user.issuer_id)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                Household.reference.ilike(like),
                Household.family_name.ilike(like),
                Household.id.in_(
                    select(Child.household_id).where(
                        or_(Child.given_name.ilike(like), Child.family_name.ilike(like))
                    )
                ),
            )
        )
    households = db_session().scalars(query.order_by(Household.reference).limit(100)).all()
    return render_template("households/index.html", households=households, q=q)


@bp.route("/households/new", methods=["GET", "POST"])
@require_roles(*RECORDERS)
def new() -> ResponseReturnValue:
    """Record a family."""
    form = HouseholdForm()
    if form.validate_on_submit():
        store = db_session()
        try:
            household = households_ops.create_household(
                store,
                issuer_id=current_user.issuer_id,
                reference=form.reference.data,
                family_name=form.family_name.data,
                actor=_actor(),
                now=now(),
            )
        except DomainError as error:
            store.rollback()
            form.reference.errors.append(
                _("This reference number is already in use.")
                if error.code == "reference_taken"
                else error.message
            )
        else:
            store.commit()
            flash(_("Family recorded."), "info")
            return redirect(url_for("households.show", household_id=household.id))
    status = 422 if request.method == "POST" else 200
    return render_template("households/new.html", form=form), status


@bp.get("/households/<int:household_id>")
@require_roles(*ALL_STAFF)
def show(household_id: int) -> ResponseReturnValue:
    """A family with its children, their entitlements and cards."""
    household = _mine(Household, household_id)
    today = berlin_date(now())
    children = []
    for child in household.children:
        entitlements = (
            db_session()
            .scalars(
                select(Entitlement).where(Entitlement.child_id == child.id).order_by(Entitlement.id)
            )
            .all()
        )
        rows = []
        for e in entitlements:
            period = usable_period(e, child.birth_date)
            rows.append(
                {
                    "e": e,
                    "left": availability(e, child.birth_date, today),
                    "until": period.end if period else e.valid_until,
                }
            )
        cards = (
            db_session()
            .scalars(select(Card).where(Card.child_id == child.id).order_by(Card.id.desc()))
            .all()
        )
        children.append({"child": child, "entitlements": rows, "cards": cards})
    return render_template(
        "households/show.html",
        household=household,
        children=children,
        child_form=ChildForm(),
        entitlement_form=EntitlementForm(),
        reason_form=ReasonForm(),
    )


_CODE_TO_SHOW = "access_code_to_show"


@bp.post("/households/<int:household_id>/access-code")
@require_roles(*RECORDERS)
def access_code(household_id: int) -> ResponseReturnValue:
    """A new access code for the family's letter, then off to the page that shows it once
    (post, redirect, get: reloading that page never makes another code)."""
    household = _mine(Household, household_id)
    code = family_ops.new_access_code(
        db_session(),
        household_id=household.id,
        issuer_id=household.issuer_id,
        actor=_actor(),
        now=now(),
    )
    session[_CODE_TO_SHOW] = {"household": household.id, "code": code}
    return redirect(url_for("households.show_access_code", household_id=household.id), 303)


@bp.get("/households/<int:household_id>/access-code")
@require_roles(*RECORDERS)
def show_access_code(household_id: int) -> ResponseReturnValue:
    """The new code, shown once; afterwards only when it was made."""
    household = _mine(Household, household_id)
    shown = session.pop(_CODE_TO_SHOW, None)
    code = (
        shown["code"]
        if isinstance(shown, dict) and shown.get("household") == household.id
        else None
    )
    return render_template("households/access_code.html", household=household, code=code)


@bp.post("/households/<int:household_id>/children")
@require_roles(*RECORDERS)
def add_child(household_id: int) -> ResponseReturnValue:
    """Add a child to a family."""
    household = _mine(Household, household_id)
    form = ChildForm()
    if not form.validate_on_submit():
        flash(_("Please fill in given name, family name and a valid date of birth."), "error")
        return redirect(url_for("households.show", household_id=household.id)), 303
    try:
        households_ops.add_child(
            db_session(),
            household_id=household.id,
            given_name=form.given_name.data,
            family_name=form.family_name.data,
            birth_date=form.birth_date.data,
            actor=_actor(),
            now=now(),
        )
    except DomainError as error:
        _refused(error)
    else:
        db_session().commit()
        flash(_("Child added."), "info")
    return redirect(url_for("households.show", household_id=household.id)), 303


@bp.post("/children/<int:child_id>/entitlements")
@require_roles(*RECORDERS)
def record(child_id: int) -> ResponseReturnValue:
    """Record an entitlement (another person approves it)."""
    child = _mine(Child, child_id)
    form = EntitlementForm()
    back = redirect(url_for("households.show", household_id=child.household_id)), 303
    if not form.validate_on_submit():
        flash(_("Please choose a benefit and give valid dates."), "error")
        return back
    category = Category(form.category.data)
    rule = None
    if category is Category.TRIPS:
        if form.amount_euros.data is None:
            flash(_("Trips need the approved amount."), "error")
            return back
        rule = BudgetRule(RuleKind.TOTAL, int(form.amount_euros.data * 100))
    try:
        record_entitlement(
            db_session(),
            child_id=child.id,
            category=category,
            valid_from=form.valid_from.data,
            valid_until=form.valid_until.data,
            recorded_by=_staff(),
            now=now(),
            rule=rule,
        )
    except DomainError as error:
        _refused(error)
    else:
        db_session().commit()
        flash(_("Entitlement recorded; it now awaits approval by a colleague."), "info")
    return back


@bp.get("/approvals")
@require_roles(*DECIDERS)
def approvals() -> ResponseReturnValue:
    """Entitlements awaiting a decision, except those the signed-in person recorded."""
    rows = (
        db_session()
        .execute(
            select(Entitlement, Child, Household)
            .join(Child, Child.id == Entitlement.child_id)
            .join(Household, Household.id == Child.household_id)
            .where(
                Entitlement.issuer_id == current_user.issuer_id,
                Entitlement.status == EntitlementStatus.RECORDED,
                Entitlement.recorded_by_id != current_user.id,
            )
            .order_by(Entitlement.recorded_at)
        )
        .all()
    )
    return render_template("households/approvals.html", rows=rows, reason_form=ReasonForm())


@bp.post("/approvals")
@require_roles(*DECIDERS)
def approve_many() -> ResponseReturnValue:
    """Approve the ticked entitlements at once (each one four-eyes checked)."""
    ids = [int(v) for v in request.form.getlist("entitlement_id") if v.isdigit()]
    approved = 0
    for entitlement_id in ids:
        _mine(Entitlement, entitlement_id)
        try:
            with db_session().begin_nested():
                decide_entitlement(
                    db_session(),
                    entitlement_id=entitlement_id,
                    approve=True,
                    decided_by=_staff(),
                    now=now(),
                )
            approved += 1
        except DomainError as error:
            _refused(error, rollback=False)  # the savepoint already undid this one
    db_session().commit()
    flash(_("%(n)d entitlement(s) approved.", n=approved), "info")
    return redirect(url_for("households.approvals")), 303


@bp.post("/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>")
@require_roles(*DECIDERS)
def decide(entitlement_id: int, action: str) -> ResponseReturnValue:
    """Approve, reject (with a reason) or revoke (with a reason) one entitlement."""
    entitlement = _mine(Entitlement, entitlement_id)
    reason = (request.form.get("reason") or "").strip() or None
    try:
        if action == "revoke":
            revoke_entitlement(
                db_session(),
                entitlement_id=entitlement.id,
                revoked_by=_staff(),
                reason=reason or "",
                now=now(),
            )
        else:
            decide_entitlement(
                db_session(),
                entitlement_id=entitlement.id,
                approve=action == "approve",
                decided_by=_staff(),
                now=now(),
                reason=reason,
            )
    except DomainError as error:
        _refused(error)
    else:
        db_session().commit()
        flash(_("Done."), "info")
    child = _mine(Child, entitlement.child_id)
    target = request.form.get("back")
    if target == "approvals":
        return redirect(url_for("households.approvals")), 303
    return redirect(url_for("households.show", household_id=child.household_id)), 303


@bp.post("/children/<int:child_id>/card")
@require_roles(*DECIDERS)
def issue(child_id: int) -> ResponseReturnValue:
    """Issue the child's card once an entitlement is approved."""
    child = _mine(Child, child_id)
    try:
        card_ops.issue_card(
            db_session(),
            child_id=child.id,
            issuer_id=child.issuer_id,
            actor=_actor(),
            now=now(),
            kek=_kek(),
        )
    except DomainError as error:
        _refused(error)
    else:
        db_session().commit()
        flash(_("Card issued."), "info")
    return redirect(url_for("households.show", household_id=child.household_id)), 303


@bp.post("/cards/<int:card_id>/<any(revoke, replace):action>")
@require_roles(*DECIDERS)
def block(card_id: int, action: str) -> ResponseReturnValue:
    """Block a card, or replace a lost one (a new serial; the budget carries over)."""
    card = _mine(Card, card_id)
    reason = (request.form.get("reason") or "").strip()
    try:
        if action == "revoke":
            card_ops.revoke_card(
                db_session(),
                card_id=card.id,
                issuer_id=card.issuer_id,
                reason=reason,
                actor=_actor(),
                now=now(),
            )
        else:
            card_ops.replace_card(
                db_session(),
                card_id=card.id,
                issuer_id=card.issuer_id,
                reason=reason,
                actor=_actor(),
                now=now(),
                kek=_kek(),
            )
    except DomainError as error:
        _refused(error)
    else:
        db_session().commit()
        flash(_("Card blocked.") if action == "revoke" else _("New card issued."), "info")
    child = _mine(Child, card.child_id)
    return redirect(url_for("households.show", household_id=child.household_id)), 303


@bp.get("/cards/<int:card_id>.<any(png, svg, pdf):kind>")
@require_roles(*ALL_STAFF)
def download(card_id: int, kind: str) -> ResponseReturnValue:
    """The card's QR as PNG or SVG, or the printable card as PDF."""
    card = _mine(Card, card_id)
    if card.credential is None:
        abort(404)
    if kind == "png":
        body, mimetype = printing.qr_png(card.credential), "image/png"
    elif kind == "svg":
        body, mimetype = printing.qr_svg(card.credential).encode(), "image/svg+xml"
    else:
        body = printing.card_pdf(card_ops.printed_card(db_session(), card))
        mimetype = "application/pdf"
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    if kind == "pdf":
        response.headers["Content-Disposition"] = f'attachment; filename="youcard-{card.id}.pdf"'
    return response


@bp.get("/cards/print")
@require_roles(*DECIDERS)
def print_queue() -> ResponseReturnValue:
    """Cards issued but not printed yet."""
    cards = card_ops.pending_print(db_session(), issuer_id=current_user.issuer_id)
    children = {c.id: db_session().get(Child, c.child_id) for c in cards}
    return render_template("households/print.html", cards=cards, children=children)


@bp.post("/cards/print.pdf")
@require_roles(*DECIDERS)
def print_pending() -> ResponseReturnValue:
    """All pending cards on A4 sheets (ten a page, backs mirrored for duplex), marked printed."""
    try:
        pdf, count = card_ops.print_sheet(
            db_session(), issuer_id=current_user.issuer_id, actor=_actor(), now=now()
        )
    except DomainError as error:
        _refused(error)
        return redirect(url_for("households.print_queue")), 303
    db_session().commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="youcard-cards-{count}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@require_roles(*RECORDERS)
def edit(household_id: int) -> ResponseReturnValue:
    """Correct a family's reference number or name."""
    household = _mine(Household, household_id)
    form = HouseholdForm(obj=household)
    if form.validate_on_submit():
        try:
            households_ops.update_household(
                db_session(),
                household_id=household.id,
                issuer_id=household.issuer_id,
                reference=form.reference.data,
                family_name=form.family_name.data,
                actor=_actor(),
                now=now(),
            )
        except DomainError as error:
            db_session().rollback()
            form.reference.errors.append(REFUSALS.get(error.code, error.message))
        else:
            db_session().commit()
            flash(_("Saved."), "info")
            return redirect(url_for("households.show", household_id=household_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "households/edit.html",
        form=form,
        title=_("Edit family"),
        back=url_for("households.show", household_id=household_id),
    ), status


@bp.route("/children/<int:child_id>/edit", methods=["GET", "POST"])
@require_roles(*RECORDERS)
def edit_child(child_id: int) -> ResponseReturnValue:
    """Correct a child's name or date of birth (budgets that depend on the age follow)."""
    child = _mine(Child, child_id)
    form = ChildForm(obj=child)
    if form.validate_on_submit():
        try:
            households_ops.update_child(
                db_session(),
                child_id=child.id,
                issuer_id=child.issuer_id,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                birth_date=form.birth_date.data,
                actor=_actor(),
                now=now(),
            )
        except DomainError as error:
            db_session().rollback()
            form.birth_date.errors.append(REFUSALS.get(error.code, error.message))
        else:
            db_session().commit()
            flash(_("Saved."), "info")
            return redirect(url_for("households.show", household_id=child.household_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "households/edit.html",
        form=form,
        title=_("Edit child"),
        back=url_for("households.show", household_id=child.household_id),
    ), status
