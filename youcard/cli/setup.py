"""Setting a city up from the command line: issuers, signing keys, staff accounts and staff
API tokens (`youcard issuer|keys|staff|staff-token ...`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from youcard import credentials
from youcard.cli.context import Context, issuer_option, pass_context
from youcard.clock import berlin_date, utcnow
from youcard.credentials import keys, trust
from youcard.db import make_sessionmaker
from youcard.domain.enums import Role
from youcard.domain.models import StaffUser
from youcard.policy import Staff


@click.group("issuer")
def issuer_group() -> None:
    """Issuers: the cities (or offices) that approve benefits and sign cards."""


@issuer_group.command("create")
@click.argument("issuer_id")
@click.option(
    "--name", required=True, help='The name families and partners read, e.g. "Stadt Hamm".'
)
@pass_context
def issuer_create(ctx: Context, issuer_id: str, name: str) -> None:
    """Register the issuer ISSUER_ID (e.g. DE-NW-HAMM) with its first signing key."""
    from youcard.operations.issuers import create_issuer

    kek = keys.load_kek(ctx.settings)
    now = utcnow()
    with make_sessionmaker(ctx.engine).begin() as session:
        by = Staff.system(issuer_id, "cli")
        issuer = create_issuer(session, by=by, name=name, kek=kek, now=now)
        active = keys.active_key(session, issuer.id)
        assert active is not None  # create_issuer made it
        kid, made = credentials.b64url(active.kid), issuer.id
    click.echo(f"Issuer {made} ({name.strip()}) created, signing key {kid}.")
    click.echo(
        f"Next: youcard staff create USERNAME --role admin --name NAME --issuer {made}"
        " (the first administrator sets the office's details on the page)."
    )


@issuer_group.command("list")
@pass_context
def issuer_list(ctx: Context) -> None:
    """Every issuer with its active key and how many staff accounts it has."""
    from youcard.operations.issuers import list_issuers

    with make_sessionmaker(ctx.engine)() as session:
        entries = list_issuers(session)
    if not entries:
        click.echo("No issuers yet: `youcard issuer create ISSUER_ID --name NAME` makes one.")
    for entry in entries:
        kid = entry.active_kid or "no active key"
        click.echo(
            f"{entry.id:<14} {entry.name}  (key {kid}; {entry.administrators} administrator(s),"
            f" {entry.staff} staff account(s))"
        )


@click.group("keys")
def keys_group() -> None:
    """Signing keys (the issuer's; the private halves stay encrypted)."""


@keys_group.command("list")
@pass_context
def keys_list(ctx: Context) -> None:
    """Every key with its status and how long cards signed by it are valid."""
    with make_sessionmaker(ctx.engine)() as session:
        infos = trust.list_keys(session)
    if not infos:
        click.echo("No signing keys yet.")
    for info in infos:
        until = info.last_card_valid_until.isoformat() if info.last_card_valid_until else "-"
        click.echo(
            f"{info.issuer_id:<14} {info.kid:<12} {info.status.value:<10}"
            f" created {info.created_at:%Y-%m-%d}  cards valid until {until}"
        )


@keys_group.command("rotate")
@click.argument("issuer_id")
@pass_context
def keys_rotate(ctx: Context, issuer_id: str) -> None:
    """Make a new active key for ISSUER_ID; the old one is retired and still verifies."""
    kek = keys.load_kek(ctx.settings)
    with make_sessionmaker(ctx.engine).begin() as session:
        key = keys.rotate_key(session, by=Staff.system(issuer_id, "cli"), kek=kek, now=utcnow())
        kid = credentials.b64url(key.kid)
    click.echo(f"New active key {kid} for {issuer_id}.")


@keys_group.command("retire")
@click.argument("issuer_id")
@click.argument("kid")
@pass_context
def keys_retire(ctx: Context, issuer_id: str, kid: str) -> None:
    """Withdraw a retired key KID from the trust list once no valid card depends on it.

    A kid may begin with "-": write `youcard keys retire -- ISSUER_ID KID`.
    """
    now = utcnow()
    with make_sessionmaker(ctx.engine).begin() as session:
        keys.withdraw_key(
            session, by=Staff.system(issuer_id, "cli"), kid=kid, now=now, today=berlin_date(now)
        )
    click.echo(f"Key {kid} of {issuer_id} is withdrawn from the trust list.")


@click.group("staff-token")
def staff_token_group() -> None:
    """API tokens for the issuer's JSON API (the city's case-management system)."""


@staff_token_group.command("create")
@click.argument("username")
@click.argument("name")
@pass_context
def staff_token_create(ctx: Context, username: str, name: str) -> None:
    """A token acting as staff member USERNAME, labelled NAME; printed once, stored hashed."""
    from youcard.operations.staff_tokens import create_staff_token

    with make_sessionmaker(ctx.engine).begin() as session:
        issuer_id = session.scalar(
            select(StaffUser.issuer_id).where(StaffUser.username == username.strip().lower())
        )
        made = create_staff_token(
            session,
            by=Staff.system(issuer_id or "", "cli"),
            username=username,
            name=name,
            now=utcnow(),
        )
        token = made.token
    click.echo(token)


# docs/operations.md writes `admin`; the role's full name is accepted too.
ROLE_NAMES = {r.value: r for r in Role} | {"admin": Role.ADMINISTRATOR}


@click.group("staff")
def staff_group() -> None:
    """Staff accounts: caseworkers, approvers, administrators."""


@staff_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([*ROLE_NAMES]), required=True)
@click.option("--name", "display_name", required=True, help="The name the pages show.")
@issuer_option
@pass_context
def staff_create(ctx: Context, username: str, role: str, display_name: str, issuer_id: str) -> None:
    """Make a staff account; prints a one-time password, to be changed at first sign-in."""
    from youcard.operations.staff_accounts import create_staff_user

    with make_sessionmaker(ctx.engine).begin() as session:
        made = create_staff_user(
            session,
            by=Staff.system(issuer_id, "cli"),
            username=username,
            display_name=display_name,
            role=ROLE_NAMES[role],
            now=utcnow(),
        )
        name, secret = made.user.username, made.one_time_password
    click.echo(f"Staff account {name} ({ROLE_NAMES[role].value}) of {issuer_id} made.")
    click.echo(f"One-time password (shown once; to be changed at first sign-in): {secret}")


@staff_group.command("list")
@issuer_option
@pass_context
def staff_list(ctx: Context, issuer_id: str) -> None:
    """The issuer's staff accounts: username, role, name, state."""
    from youcard.operations.staff_accounts import list_staff

    with make_sessionmaker(ctx.engine)() as session:
        entries = list_staff(session, by=Staff.system(issuer_id, "cli"), now=utcnow())
        for entry in entries:
            user = entry.user
            state = "active" if user.active else "deactivated"
            if user.must_change_password:
                state += ", one-time password"
            if entry.waiting:
                state += ", sign-in waits"
            click.echo(f"{user.username:<24} {user.role.value:<14} {user.display_name}  ({state})")
    if not entries:
        click.echo(f"No staff accounts for {issuer_id}.")
