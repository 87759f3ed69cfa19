"""The family area: no staff login; the access code from the approval letter and a child's
date of birth. Each child's card (QR), what is left, the bookings, the card as PDF, and
"card lost". Guessing is slowed per address (rate limit) and stopped per household
(lockout, audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from youcard.documents import printing
from youcard.domain.contacts import OfficeDetails
from youcard.domain.languages import FAMILY_LANGUAGES, LANGUAGE_NAMES
from youcard.domain.models import Child, Household, Issuer
from youcard.errors import DomainError
from youcard.operations import card_printing
from youcard.operations import cards as card_ops
from youcard.operations import family as family_ops
from youcard.operations import mandates as mandates_ops
from youcard.operations.family import children_of, family_sign_in, report_card_lost
from youcard.operations.staff import AccountLocked, LoginFailed
from youcard.policy import Family
from youcard.privacy.subject_access import household_data, household_pdf
from youcard.privacy.subject_access import household_json as subject_json
from youcard.tenancy import own_child
from youcard.web import db_session, keep_writes, now, undo_writes

bp = Blueprint("family", __name__, url_prefix="/family")
F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "family_household"
GENERATION_KEY = "family_generation"
MAX_CODE = 40


def _household_id() -> int | None:
    value = session.get(SESSION_KEY)
    return value if isinstance(value, int) else None


def family_only(view: F) -> F:
    """The page needs a signed-in family."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        household_id = _household_id()
        household = None if household_id is None else db_session().get(Household, household_id)
        if household is None or session.get(GENERATION_KEY) != household.session_generation:
            # signed out, or staff made a new access code: this session is over
            session.pop(SESSION_KEY, None)
            flash(_("Please sign in."), "info")
            return redirect(url_for("family.login"))
        g.family = Family(household.id, household.issuer_id)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _birth_date(text: str) -> date | None:
    """A date as the date field sends it (2015-03-14) or as typed (14.03.2015)."""
    text = text.strip()
    parts = text.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        text = f"{parts[2]:0>4}-{parts[1]:0>2}-{parts[0]:0>2}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@bp.get("/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    """The web app manifest: the family area installs like an app, in the chosen language."""
    data = {
        "name": _("YouCard – your cards"),
        "short_name": "YouCard",
        "lang": str(get_locale()),
        "dir": "rtl" if str(get_locale()) == "ar" else "ltr",
        "start_url": url_for("family.home"),
        "scope": url_for("family.home"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#005493",
        "icons": [
            {"src": "/static/family/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/family/icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, served under /family so that its scope is the family area."""
    response = send_from_directory(Path(bp.root_path) / "static" / "family", "sw.js")
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    # its scope is /family (the card page itself), one level above the script's own path
    response.headers["Service-Worker-Allowed"] = "/family"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in with the code from the letter and a child's date of birth."""
    status = 200
    if request.method == "POST":
        code = (request.form.get("code") or "")[:MAX_CODE]
        born = _birth_date((request.form.get("birth_date") or "")[:20])
        store = db_session()
        try:
            if not code.strip() or born is None:
                raise LoginFailed("incomplete")
            household = family_sign_in(store, code=code, birth_date=born, now=now())
        except AccountLocked as locked:
            keep_writes()  # the attempt counts, although the answer is an error
            flash(_("Too many wrong tries. Please wait 15 minutes, then try again."), "error")
            wait = str(locked.details["retry_after"])
            return render_template("family/login.html"), 429, {"Retry-After": wait}
        except LoginFailed:
            keep_writes()
            flash(_("The code or the date of birth is not right. Please check both."), "error")
            status = 401
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation
            if lang:
                session["lang"] = lang
            session[SESSION_KEY] = household.id
            session[GENERATION_KEY] = household.session_generation
            return redirect(url_for("family.home"))
    return render_template("family/login.html"), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: ends the family's sessions on the server (every phone signs in anew)."""
    household_id = _household_id()
    household = None if household_id is None else db_session().get(Household, household_id)
    if household is not None and session.get(GENERATION_KEY) == household.session_generation:
        household.session_generation += 1
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("family.login"))


@bp.get("")
@family_only
def home() -> ResponseReturnValue:
    """Every child: the card to show, what is left, the bookings."""
    household_id = _household_id()
    assert household_id is not None
    children = children_of(db_session(), household_id=household_id, now=now())
    qr = {
        child.id: Markup(printing.qr_svg(child.credential))  # noqa: S704 (our own SVG)
        for child in children
        if child.credential
    }
    household = db_session().get(Household, household_id)
    reminders_on = household is not None and household.reminders_off_at is None
    return render_template(
        "family/home.html",
        children=children,
        qr=qr,
        updated=now(),
        reminders_on=reminders_on,
        household=household,
        languages=[(code, LANGUAGE_NAMES[code]) for code in FAMILY_LANGUAGES],
    )


def _family() -> Family:
    """The signed-in family (set by `family_only`): the principal of its operations."""
    family: Family = g.family
    return family


def _own_child(child_id: int) -> Child:
    try:
        return own_child(db_session(), _family(), child_id)
    except DomainError:
        abort(404)  # another family's child: not found


@bp.get("/children/<int:child_id>/card.pdf")
@family_only
def card_pdf(child_id: int) -> ResponseReturnValue:
    """The child's card to print at home."""
    child = _own_child(child_id)
    card = card_ops.active_card(db_session(), child.id)
    if card is None:
        abort(404)
    body = printing.card_pdf(card_printing.printed_card(db_session(), card))
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="youcard.pdf"'
    return response


@bp.route("/children/<int:child_id>/lost", methods=["GET", "POST"])
@family_only
def lost(child_id: int) -> ResponseReturnValue:
    """Card lost: ask first, then block the card at once. The page after blocking is a GET
    of its own (switching the language reloads it: it says the card is blocked, and never
    offers to block it again)."""
    child = _own_child(child_id)
    if request.method == "POST":
        try:
            report_card_lost(db_session(), by=_family(), child_id=child.id, now=now())
        except DomainError:
            undo_writes()
            flash(_("This card is already blocked."), "info")
            return redirect(url_for("family.home"))
        return redirect(url_for("family.lost", child_id=child.id, blocked=1), 303)
    issuer = db_session().get(Issuer, child.issuer_id)
    assert issuer is not None
    in_use = card_ops.active_card(db_session(), child.id) is not None
    if not in_use and request.args.get("blocked") != "1":
        return redirect(url_for("family.home"))  # nothing to block (and nothing just blocked)
    return render_template(
        "family/lost.html", child=child, done=not in_use, office=OfficeDetails.of(issuer)
    )


@bp.route("/mandates/<int:mandate_id>/end", methods=["GET", "POST"])
@family_only
def end_mandate(mandate_id: int) -> ResponseReturnValue:
    """End a partner's standing authorization: ask first, then end it at once."""
    store, family = db_session(), _family()
    try:
        asked = mandates_ops.family_mandate_to_end(store, by=family, mandate_id=mandate_id)
    except DomainError:
        abort(404)  # another family's, or ended already
    if request.method == "GET":
        return render_template("family/end_mandate.html", partner=asked.partner, child=asked.child)
    mandates_ops.end_mandate(store, by=family, mandate_id=mandate_id, now=now())
    flash(_("The standing authorization is ended."), "info")
    return redirect(url_for("family.home"))


@bp.post("/reminders")
@family_only
def reminders() -> ResponseReturnValue:
    """Reminders on or off (the family's own choice)."""
    on = request.form.get("on") == "1"
    family_ops.set_reminders(db_session(), by=_family(), on=on, now=now())
    flash(_("We will remind you.") if on else _("We will not remind you any more."), "info")
    return redirect(url_for("family.home") + "#reminders")


@bp.post("/messages")
@family_only
def message_choices() -> ResponseReturnValue:
    """The family's language for letters and messages, and the way messages reach it."""
    try:
        family_ops.set_message_choices(
            db_session(),
            by=_family(),
            language=request.form.get("language", ""),
            channel=request.form.get("channel", ""),
            now=now(),
        )
    except DomainError:
        abort(400)  # only the form's own choices are offered
    flash(_("Saved."), "info")
    return redirect(url_for("family.home") + "#messages")


@bp.get("/data.<any(json, pdf):kind>")
@family_only
def own_data(kind: str) -> ResponseReturnValue:
    """Everything YouCard holds about this family (GDPR Art. 15), as JSON or PDF."""
    family = _family()
    data = household_data(db_session(), by=family, household_id=family.household_id)
    body = subject_json(data) if kind == "json" else household_pdf(data)
    response = Response(body, mimetype="application/json" if kind == "json" else "application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="youcard-daten.{kind}"'
    return response
