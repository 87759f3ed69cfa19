"""Administrators decide partners' applications: the list (waiting first, with the median
days from application to decision), one application with what looks like a duplicate,
approve (the partner and its first login; the one-time password shown once to print, and
on its way by e-mail) or refuse with a reason; and the city's terms, a new version at a
time."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.apply import LEGAL_FORM_NAMES
from issuer.auth import principal, require_roles
from issuer.kek import kek
from issuer.refusals import refused
from youcard.errors import DomainError
from youcard.operations import partner_applications as decisions
from youcard.policy import ADMINISTRATORS
from youcard.reads import partner_applications as applications
from youcard.web import db_session, now
from youcard.web.names import CATEGORY_NAMES

bp = Blueprint("applications", __name__, url_prefix="/admin")


@bp.get("/applications")
@require_roles(*ADMINISTRATORS)
def index() -> ResponseReturnValue:
    """Applications waiting and the last decided."""
    found = applications.applications(db_session(), by=principal())
    terms = decisions.current_terms(db_session(), principal().issuer_id)
    return render_template("admin/applications.html", found=found, terms=terms)


@bp.get("/applications/<int:application_id>")
@require_roles(*ADMINISTRATORS)
def show(application_id: int) -> ResponseReturnValue:
    """One application as written, and what looks like a duplicate."""
    try:
        application = applications.application(
            db_session(), by=principal(), application_id=application_id
        )
    except DomainError:
        abort(404)
    return render_template(
        "admin/application.html",
        application=application,
        offers=decisions.offers_of(application),
        duplicates=applications.duplicates(db_session(), by=principal(), of=application),
        legal_forms=LEGAL_FORM_NAMES,
        category_names=CATEGORY_NAMES,
    )


@bp.post("/applications/<int:application_id>/<any(approve, refuse):decision>")
@require_roles(*ADMINISTRATORS)
def decide(application_id: int, decision: str) -> ResponseReturnValue:
    """Approve (the one-time password shown once) or refuse with a reason."""
    back = redirect(url_for("applications.show", application_id=application_id)), 303
    try:
        if decision == "approve":
            made = decisions.approve_application(
                db_session(), by=principal(), application_id=application_id, now=now(), kek=kek()
            )
        else:
            decisions.refuse_application(
                db_session(),
                by=principal(),
                application_id=application_id,
                reason=request.form.get("reason") or "",
                now=now(),
            )
    except DomainError as error:
        if error.code == "application_not_found":
            abort(404)
        refused(error)
        return back
    if decision == "refuse":
        flash(_("The application is refused; the applicant is told why by e-mail."), "info")
        return back
    return render_template("admin/application_approved.html", made=made)


@bp.route("/terms", methods=["GET", "POST"])
@require_roles(*ADMINISTRATORS)
def terms() -> ResponseReturnValue:
    """The city's terms for partners: the current version, and a new one."""
    if request.method == "POST":
        try:
            published = decisions.publish_terms(
                db_session(), by=principal(), text=request.form.get("text") or "", now=now()
            )
        except DomainError as error:
            refused(error)
            return redirect(url_for("applications.terms")), 303
        flash(
            _("Version %(version)d of the terms is published.", version=published.version), "info"
        )
        return redirect(url_for("applications.terms")), 303
    current = decisions.current_terms(db_session(), principal().issuer_id)
    return render_template("admin/terms.html", terms=current, max_terms=decisions.MAX_TERMS)
