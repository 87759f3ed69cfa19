"""Benefits: record one for a child, and the four-eyes decisions (approve, reject, revoke)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import mine, principal, require_roles
from issuer.forms import EntitlementForm, ReasonForm, what_is_wrong
from issuer.kek import kek
from issuer.refusals import refused
from youcard.domain.entitlement_rules import rule_from_amount
from youcard.domain.enums import Category
from youcard.domain.models import Child, Entitlement
from youcard.errors import DomainError
from youcard.operations.entitlements import (
    decide_entitlement,
    record_entitlement,
    revoke_entitlement,
)
from youcard.policy import DECIDERS, RECORDERS, staff_actor
from youcard.reads.actors import actor_names
from youcard.reads.approval_queue import approval_queue
from youcard.web import db_session, now

bp = Blueprint("approvals", __name__)
QUEUE_PAGE = 100  # the oldest first


@bp.post("/children/<int:child_id>/entitlements")
@require_roles(*RECORDERS)
def record(child_id: int) -> ResponseReturnValue:
    """Record an entitlement (another person approves it)."""
    child = mine(Child, child_id)
    form = EntitlementForm()
    back = redirect(url_for("households.show", household_id=child.household_id)), 303
    if not form.validate_on_submit():
        flash(_("Please check: %(problems)s", problems=what_is_wrong(form)), "error")
        return back
    category = Category(form.category.data)
    amount = form.amount_euros.data
    try:
        rule = rule_from_amount(category, None if amount is None else int(amount * 100))
        record_entitlement(
            db_session(),
            child_id=child.id,
            category=category,
            valid_from=form.valid_from.data,
            valid_until=form.valid_until.data,
            by=principal(),
            now=now(),
            rule=rule,
        )
    except DomainError as error:
        refused(error)
    else:
        flash(_("Entitlement recorded; it now awaits approval by a colleague."), "info")
    return back


@bp.get("/approvals")
@require_roles(*DECIDERS)
def approvals() -> ResponseReturnValue:
    """Entitlements awaiting a decision, except those the signed-in person recorded, oldest
    first, a page at a time."""
    after = request.args.get("after", "")
    if after and (not after.isdigit() or len(after) > 18):
        abort(422)
    page = approval_queue(
        db_session(), by=principal(), limit=QUEUE_PAGE, after=int(after) if after else None
    )
    recorders = actor_names(
        db_session(), {staff_actor(e.recorded_by_id) for e, _c, _h in page.rows}
    )
    return render_template(
        "households/approvals.html",
        rows=page.rows,
        page=page,
        after=after,
        recorders=recorders,
        reason_form=ReasonForm(),
    )


@bp.post("/approvals")
@require_roles(*DECIDERS)
def approve_many() -> ResponseReturnValue:
    """Approve the ticked entitlements at once (each one four-eyes checked)."""
    ids = [int(v) for v in request.form.getlist("entitlement_id") if v.isdigit()]
    approved = 0
    for entitlement_id in ids:
        mine(Entitlement, entitlement_id)
        try:
            with db_session().begin_nested():
                decide_entitlement(
                    db_session(),
                    entitlement_id=entitlement_id,
                    approve=True,
                    by=principal(),
                    now=now(),
                    kek=kek(),
                )
            approved += 1
        except DomainError as error:
            refused(error, undo=False)  # the savepoint already undid this one
    flash(_("%(n)d entitlement(s) approved.", n=approved), "info")
    return redirect(url_for("approvals.approvals")), 303


@bp.post("/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>")
@require_roles(*DECIDERS)
def decide(entitlement_id: int, action: str) -> ResponseReturnValue:
    """Approve, reject (with a reason) or revoke (with a reason) one entitlement."""
    entitlement = mine(Entitlement, entitlement_id)
    reason = (request.form.get("reason") or "").strip() or None
    try:
        if action == "revoke":
            revoke_entitlement(
                db_session(),
                entitlement_id=entitlement.id,
                by=principal(),
                reason=reason or "",
                now=now(),
            )
        else:
            decide_entitlement(
                db_session(),
                entitlement_id=entitlement.id,
                approve=action == "approve",
                by=principal(),
                now=now(),
                kek=kek(),
                reason=reason,
            )
    except DomainError as error:
        refused(error)
    else:
        flash(_("Done."), "info")
    child = mine(Child, entitlement.child_id)
    target = request.form.get("back")
    if target == "approvals":
        return redirect(url_for("approvals.approvals")), 303
    return redirect(url_for("households.show", household_id=child.household_id)), 303
