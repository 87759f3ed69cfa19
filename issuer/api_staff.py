"""The staff API's staff accounts (administrators): list, create, change role, deactivate,
activate, unlock, reset. A one-time password appears in the answer that made it, only."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from issuer.api import authenticate, errors, principal, roles
from youcard.domain.enums import Role
from youcard.operations import staff_accounts as accounts
from youcard.policy import ADMINISTRATORS
from youcard.schemas.staff_api import RoleIn, StaffIn, StaffOut, staff_json
from youcard.web import db_session, now
from youcard.web.smorest import Blueprint

blp = Blueprint("staff_accounts_api", __name__, url_prefix="/api/v1", description="Staff accounts")
blp.before_request(authenticate)


@blp.route("/staff")
class StaffAccounts(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, StaffOut(many=True))
    @errors
    def get(self) -> list[dict[str, Any]]:
        """This issuer's staff accounts, active first."""
        entries = accounts.list_staff(db_session(), by=principal(), now=now())
        return [staff_json(e.user, waiting=e.waiting) for e in entries]

    @roles(*ADMINISTRATORS)
    @blp.arguments(StaffIn())
    @blp.response(201, StaffOut)
    @errors
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """A staff account with a one-time password (in this answer only), to be changed at
        the first sign-in."""
        made = accounts.create_staff_user(
            db_session(),
            by=principal(),
            username=body["username"],
            display_name=body["display_name"],
            role=Role(body["role"]),
            now=now(),
        )
        return {**staff_json(made.user), "one_time_password": made.one_time_password}


@blp.route("/staff/<int:user_id>/role")
class StaffRole(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.arguments(RoleIn())
    @blp.response(200, StaffOut)
    @errors
    def post(self, body: dict[str, Any], user_id: int) -> dict[str, Any]:
        """Another role (never for the last active administrator)."""
        user = accounts.set_staff_role(
            db_session(), by=principal(), user_id=user_id, role=Role(body["role"]), now=now()
        )
        return staff_json(user)


@blp.route("/staff/<int:user_id>/<any(deactivate, activate):change>")
class StaffActive(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, StaffOut)
    @errors
    def post(self, user_id: int, change: str) -> dict[str, Any]:
        """Deactivate (sessions and API tokens end at once) or activate again."""
        user = accounts.set_staff_active(
            db_session(), by=principal(), user_id=user_id, active=change == "activate", now=now()
        )
        return staff_json(user)


@blp.route("/staff/<int:user_id>/unlock")
class StaffUnlock(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, StaffOut)
    @errors
    def post(self, user_id: int) -> dict[str, Any]:
        """Lift the waits after failed sign-ins."""
        accounts.unlock_staff_user(db_session(), by=principal(), user_id=user_id, now=now())
        entry = accounts.staff_entry(db_session(), by=principal(), user_id=user_id, now=now())
        return staff_json(entry.user, waiting=entry.waiting)


@blp.route("/staff/<int:user_id>/reset-password")
class StaffReset(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, StaffOut)
    @errors
    def post(self, user_id: int) -> dict[str, Any]:
        """A new one-time password (in this answer only); the member's sessions end."""
        made = accounts.reset_staff_password(
            db_session(), by=principal(), user_id=user_id, now=now()
        )
        return {**staff_json(made.user), "one_time_password": made.one_time_password}
