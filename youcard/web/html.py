"""What both services' HTML pages share: languages, CSRF, security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from youcard.domain.languages import (
    FAMILY_LANGUAGES,
    LANGUAGE_NAMES,
    RIGHT_TO_LEFT,
    STAFF_LANGUAGES,
)
from youcard.errors import DomainError
from youcard.web.followups import follow_up
from youcard.web.hotpath import is_api_request
from youcard.web.inputs import ControlCharacters
from youcard.web.problems import (
    RETRY_AFTER_UNAVAILABLE,
    domain_problem,
    drop_lost_transaction,
    http_problem,
    problem,
    status_of,
    unavailable_problem,
)
from youcard.web.smorest import ProblemApi

LANGUAGES = STAFF_LANGUAGES
# The pages families read, in the family area's six languages: its own, and the public
# directory of partners
FAMILY_BLUEPRINTS = frozenset({"family", "directory"})


def _languages() -> tuple[str, ...]:
    return FAMILY_LANGUAGES if request.blueprint in FAMILY_BLUEPRINTS else LANGUAGES


CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


_shared = Blueprint("youcard_web", __name__, template_folder="templates")


def select_locale() -> str:
    """German first; English when chosen (remembered in the session) or preferred by the browser."""
    languages = _languages()
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
    remembered = session.get("lang")
    if remembered in languages:
        return str(remembered)
    return request.accept_languages.best_match(languages, default="de") or "de"


def in_language(code: str) -> str:
    """This page's address in another language: its query kept (a page after an action, a
    filtered list), `lang` set."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return "?" + urlencode([*query, ("lang", code)])


def init_html(app: Flask) -> CSRFProtect:
    """German-first Babel, CSRF on every form, and the security headers of every page."""
    # A form's CSRF token lives as long as its session (it is that session's secret, and
    # sessions end on the server: sign-out, session generations). A fixed limit made an
    # all-day counter tablet fail its first booking after lunch (#14.18).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "de")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    # Signed-in sessions end after this long without a request (a working day and then some).
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", 12 * 3600)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["page_languages"] = lambda: [(c, LANGUAGE_NAMES[c]) for c in _languages()]
    app.jinja_env.globals["in_language"] = in_language
    app.jinja_env.globals["text_direction"] = lambda: (
        "rtl" if str(get_locale()) in RIGHT_TO_LEFT else "ltr"
    )
    csrf = CSRFProtect(app)
    app.register_blueprint(_shared)  # templates both services include (youcard/*.html)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return security_headers(response)

    return csrf


HSTS = "max-age=31536000; includeSubDomains"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
API_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", API_CSP),
)


def security_headers(response: Response) -> Response:
    """Every answer of both services: HSTS over HTTPS (directly, or behind the configured
    proxies that say so); the JSON APIs no sniffing, no framing and never cached (they carry
    personal data); pages their content policy, and no caching of a page or of anything of
    the family area (a shared phone's back button must not show another family's card)."""
    headers, asked = response.headers, request._get_current_object()  # type: ignore[attr-defined]
    if asked.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if is_api_request(asked):
        for name, value in API_HEADERS:
            if name not in headers:
                headers.add(name, value)
        return response
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html" or asked.path.startswith("/family"):
        headers.setdefault("Cache-Control", "no-store")
    return response


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    """The app's own `error.html` for a status; `message` says what was wrong, in words,
    where the status alone would mislead (a 400 is not always an expired form)."""
    return render_template("error.html", status=status, message=message), status


MIB = 1024 * 1024


def _what_was_wrong(error: HTTPException) -> str | None:
    """A sentence for a page's error where we know the cause: a control character in a
    field, a file above the form's limit (said in MB, as the form's label says it)."""
    if isinstance(error, ControlCharacters):
        return str(
            gettext(
                "A field of the form holds a control character (such as NUL), which cannot be "
                "saved. Please go back, remove it and send the form again."
            )
        )
    if error.code == 413:
        limit = request.max_content_length or MIB
        return str(
            gettext(
                "The file is larger than %(size)s MB, the most this form takes. Please split it "
                "and send the parts one by one.",
                size=max(1, limit // MIB),
            )
        )
    return None


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Problem+json under /api/, an HTML page elsewhere."""
    if is_api_request():
        return http_problem(error)
    return error_page(error.code or 500, _what_was_wrong(error))


class PagesApi(ProblemApi):
    """An Api in an app that also has pages: problem+json for the API, HTML for the pages."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Problem+json under /api/, an HTML page elsewhere."""
        return http_error(error)


def init_error_pages(app: Flask) -> None:
    """HTML error pages outside /api/ (register last: it overrides the problem handlers)."""

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> ResponseReturnValue:
        # The form outlived its session (signed out, or expired): say so, in JSON to a page's
        # script, which keeps what was typed and offers the sign-in.
        if request.accept_mimetypes.best == "application/json":
            return jsonify(
                error=gettext("Your sign-in has ended. Please sign in again."), signin=True
            ), 400
        return error_page(400)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        return http_error(error)

    @app.errorhandler(DomainError)
    def _refused(error: DomainError) -> ResponseReturnValue:
        # A page that lets an operation's refusal through (say, another issuer's family:
        # not found) shows the error page of its status; the API answers a problem.
        if is_api_request():
            return domain_problem(error)
        follow_up(error)
        return error_page(status_of(error))

    @app.errorhandler(OperationalError)
    def _unavailable(error: OperationalError) -> ResponseReturnValue:
        if is_api_request():
            return unavailable_problem(error)
        drop_lost_transaction(error)
        page, status = error_page(503)
        return page, status, {"Retry-After": RETRY_AFTER_UNAVAILABLE}

    @app.errorhandler(500)
    def _internal(_error: Exception) -> ResponseReturnValue:
        if is_api_request():
            return problem(500, "internal_error", "Internal error", "Something went wrong.")
        return error_page(500)
