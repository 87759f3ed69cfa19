"""Families and their children: search, record, correct, and the access code for the
family area. The caseworkers' daily pages; benefits in issuer.approvals, cards in
issuer.cards."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import mine, principal, require_roles
from issuer.forms import ChildForm, EntitlementForm, HouseholdForm, ReasonForm
from issuer.refusals import REFUSALS, refused
from youcard.clock import berlin_date
from youcard.domain.languages import LANGUAGE_NAMES
from youcard.domain.models import Child, Household
from youcard.errors import DomainError
from youcard.operations import family as family_ops
from youcard.operations import households as households_ops
from youcard.policy import ALL_STAFF, RECORDERS
from youcard.privacy.access_log import record_view
from youcard.privacy.subject_access import household_data, household_pdf
from youcard.privacy.subject_access import household_json as subject_json
from youcard.reads.actors import actor_names
from youcard.reads.household import household_view
from youcard.reads.household_search import household_page
from youcard.web import db_session, now
from youcard.web.names import MESSAGE_CHANNELS, MESSAGE_EVENTS, MESSAGE_STATES

bp = Blueprint("households", __name__)
PAGE = 100  # families per page, by reference


@bp.get("/households")
@require_roles(*ALL_STAFF)
def index() -> ResponseReturnValue:
    """Search families by reference number, name or a child's name, as typed."""
    q = (request.args.get("q") or "").strip()[:100]
    after = (request.args.get("after") or "")[:60] or None
    page = household_page(db_session(), by=principal(), q=q, limit=PAGE, after=after)
    return render_template("households/index.html", page=page, q=q, after=after)


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
                by=principal(),
                reference=form.reference.data,
                family_name=form.family_name.data,
                contact=form.contact(),
                now=now(),
            )
        except DomainError as error:  # answered 422: the unit of work rolls back
            _field_error(form, error)
        else:
            flash(_("Family recorded."), "info")
            return redirect(url_for("households.show", household_id=household.id))
    status = 422 if request.method == "POST" else 200
    return render_template("households/new.html", form=form), status


def _field_error(form: HouseholdForm, error: DomainError) -> None:
    """Show the refusal at the field it concerns (the reference number when unsaid)."""
    field = getattr(form, str(error.details.get("field", "")), None) or form.reference
    field.errors.append(REFUSALS.get(error.code, error.message))


@bp.get("/households/<int:household_id>")
@require_roles(*ALL_STAFF)
def show(household_id: int) -> ResponseReturnValue:
    """A family with its children, their entitlements and cards."""
    by = principal()
    seen = household_view(db_session(), by=by, household_id=household_id, today=berlin_date(now()))
    record_view(
        db_session(), by=by, object_type="household", object_id=household_id, via="page", now=now()
    )
    return render_template(
        "households/show.html",
        household=seen.household,
        code_made_by=seen.code_made_by,
        children=seen.children,
        messages=seen.messages,
        message_events=MESSAGE_EVENTS,
        message_channels=MESSAGE_CHANNELS,
        message_states=MESSAGE_STATES,
        language_names=LANGUAGE_NAMES,
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
    household = mine(Household, household_id)
    code = family_ops.new_access_code(
        db_session(),
        household_id=household.id,
        by=principal(),
        now=now(),
    )
    session[_CODE_TO_SHOW] = {"household": household.id, "code": code}
    return redirect(url_for("households.show_access_code", household_id=household.id), 303)


@bp.get("/households/<int:household_id>/access-code")
@require_roles(*RECORDERS)
def show_access_code(household_id: int) -> ResponseReturnValue:
    """The new code, shown once; afterwards only when it was made."""
    household = mine(Household, household_id)
    shown = session.pop(_CODE_TO_SHOW, None)
    code = (
        shown["code"]
        if isinstance(shown, dict) and shown.get("household") == household.id
        else None
    )
    made_by = household.access_code_set_by or ""
    return render_template(
        "households/access_code.html",
        household=household,
        code=code,
        made_by=actor_names(db_session(), [made_by]).get(made_by, "–"),
    )


@bp.post("/households/<int:household_id>/children")
@require_roles(*RECORDERS)
def add_child(household_id: int) -> ResponseReturnValue:
    """Add a child to a family."""
    household = mine(Household, household_id)
    form = ChildForm()
    if not form.validate_on_submit():
        flash(_("Please fill in given name, family name and a valid date of birth."), "error")
        return redirect(url_for("households.show", household_id=household.id)), 303
    try:
        households_ops.add_child(
            db_session(),
            by=principal(),
            household_id=household.id,
            given_name=form.given_name.data,
            family_name=form.family_name.data,
            birth_date=form.birth_date.data,
            now=now(),
        )
    except DomainError as error:
        refused(error)
    else:
        flash(_("Child added."), "info")
    return redirect(url_for("households.show", household_id=household.id)), 303


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@require_roles(*RECORDERS)
def edit(household_id: int) -> ResponseReturnValue:
    """Correct a family's reference number or name."""
    household = mine(Household, household_id)
    form = HouseholdForm(obj=household)
    if form.validate_on_submit():
        try:
            households_ops.update_household(
                db_session(),
                by=principal(),
                household_id=household.id,
                reference=form.reference.data,
                family_name=form.family_name.data,
                contact=form.contact(),
                now=now(),
            )
        except DomainError as error:  # answered 422: the unit of work rolls back
            _field_error(form, error)
        else:
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
    child = mine(Child, child_id)
    form = ChildForm(obj=child)
    if form.validate_on_submit():
        try:
            households_ops.update_child(
                db_session(),
                by=principal(),
                child_id=child.id,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                birth_date=form.birth_date.data,
                now=now(),
            )
        except DomainError as error:  # answered 422: the unit of work rolls back
            form.birth_date.errors.append(REFUSALS.get(error.code, error.message))
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("households.show", household_id=child.household_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "households/edit.html",
        form=form,
        title=_("Edit child"),
        back=url_for("households.show", household_id=child.household_id),
    ), status


@bp.get("/households/<int:household_id>/data.<any(json, pdf):kind>")
@require_roles(*ALL_STAFF)
def subject_access(household_id: int, kind: str) -> ResponseReturnValue:
    """Everything YouCard holds about the family (GDPR Art. 15), as JSON or PDF."""
    household = mine(Household, household_id)
    data = household_data(db_session(), by=principal(), household_id=household.id)
    return _data_file(data, kind, household.reference)


def _data_file(data: dict[str, object], kind: str, reference: str) -> Response:
    body: str | bytes
    if kind == "json":
        body, mimetype = subject_json(data), "application/json"
    else:
        body, mimetype = household_pdf(data), "application/pdf"
    response = Response(body, mimetype=mimetype)
    name = f"youcard-auskunft-{reference}.{kind}".replace(" ", "_").replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
