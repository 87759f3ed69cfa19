"""The `youcard` command for operators: migrations, demo data, ledger and audit checks."""

from __future__ import annotations

import json
import os
import sys
import time

import click
from sqlalchemy import select

from youcard import (
    audit,
    credentials,
    demo,
    jobs,
    keys,
    ledger,
    migrate,
    trust,
)
from youcard.cli_context import Context, pass_context
from youcard.clock import berlin_date, utcnow
from youcard.db import make_sessionmaker
from youcard.enums import Role
from youcard.errors import DomainError
from youcard.models import Issuer, StaffUser
from youcard.policy import Staff


@click.group()
def main() -> None:
    """YouCard: benefits voucher cards (Bildungs- und Teilhabepaket)."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Migrate the database to the newest revision."""
    migrate.upgrade(ctx.settings.database_url)
    click.echo("Database is at the newest revision.")


@main.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_context
def demo_command(ctx: Context, as_json: bool) -> None:
    """Seed the demo data (idempotently) and print what a newcomer needs."""
    migrate.upgrade(ctx.settings.database_url)
    now = utcnow()
    sessions = make_sessionmaker(ctx.engine)
    with sessions.begin() as session:
        made = demo.seed(
            session,
            instance_path=ctx.settings.instance_path,
            now=now,
            kek=keys.load_kek(ctx.settings),
        )
        audit.seal(session, demo.ISSUER_ID)
    with sessions() as session:
        data = demo.describe(
            session,
            instance_path=ctx.settings.instance_path,
            now=now,
            issuer_url=os.environ.get("YOUCARD_ISSUER_URL", "http://localhost:5001"),
            redeemer_url=os.environ.get("YOUCARD_REDEEMER_URL", "http://localhost:5002"),
        )
    if as_json:
        click.echo(json.dumps(data.as_dict(), ensure_ascii=False, indent=2))
        return
    _print_demo(data, made=made)


def _euro(cents: int | None) -> str:
    if cents is None:
        return "—"
    return f"{cents // 100},{cents % 100:02d} €"


def _print_demo(data: demo.DemoData, *, made: bool) -> None:
    click.echo("Demo data " + ("created." if made else "already present; nothing changed."))
    click.echo(f"\nIssuer (staff):   {data.issuer_url}")
    click.echo(f"Redeemer (partners): {data.redeemer_url}")
    click.echo(f"Scanner page (partner staff): {data.redeemer_url}/scan")
    click.echo("\nStaff logins:")
    for user in data.staff:
        click.echo(f"  {user['username']:<12} {user['password'] or '(unknown)':<20} {user['role']}")
    click.echo("\nPartners: scanner-page login and device token (API):")
    for partner in data.partners:
        click.echo(f"  {partner['name']} ({', '.join(partner['categories'])})")
        click.echo(f"    login: {partner['login']} / {partner['password'] or '(unknown)'}")
        click.echo(f"    token: {partner['token'] or '(unknown)'}")
    click.echo(
        f"\nFamilies (sign in at {data.issuer_url}/family with a code and a child's birth date):"
    )
    for household in data.families:
        born = ", ".join(f"{c['given_name']} {c['birth_date']}" for c in household["children"])
        code = household["access_code"] or "(unknown)"
        click.echo(f"  {household['family_name']} ({household['reference']}): {code}")
        click.echo(f"    birth dates: {born}")
    click.echo("\nChildren and their cards (paste the credential into the scanner page):")
    for child in data.children:
        click.echo(f"  {child['given_name']} {child['family_name']}, card {child['card_serial']}")
        click.echo(f"    credential: {child['credential']}")
        for e in child["entitlements"]:
            units = f", {e['available_units']} units" if e["available_units"] is not None else ""
            click.echo(
                f"    {e['category']:<14} available {_euro(e['available_cents'])}{units}"
                f" until {e['valid_until']}"
            )


@main.group("ledger")
def ledger_group() -> None:
    """The booking ledger."""


@ledger_group.command("check")
@pass_context
def ledger_check(ctx: Context) -> None:
    """Recompute every budget from the bookings; exit 1 on any difference."""
    with make_sessionmaker(ctx.engine)() as session:
        differences = ledger.check(session)
    for difference in differences:
        click.echo(str(difference), err=True)
    if differences:
        click.echo(f"{len(differences)} difference(s) in the ledger.", err=True)
        sys.exit(1)
    click.echo("Ledger is consistent: every budget equals its bookings.")


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("seal")
@pass_context
def audit_seal(ctx: Context) -> None:
    """Chain every unsealed audit event (run after changes and from a timer)."""
    from sqlalchemy import select

    with make_sessionmaker(ctx.engine).begin() as session:
        total = sum(audit.seal(session, i) for i in session.scalars(select(Issuer.id)).all())
    click.echo(f"Sealed {total} event(s).")


@audit_group.command("verify")
@pass_context
def audit_verify(ctx: Context) -> None:
    """Check the audit log's hash chains; exit 1 when an event was edited or deleted."""
    with make_sessionmaker(ctx.engine)() as session:
        problems = audit.verify(session)
        unsealed = audit.unsealed_count(session)
    for problem in problems:
        click.echo(f"{problem.issuer_id} #{problem.seq}: {problem.problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"Audit chains intact ({unsealed} event(s) not sealed yet).")


@main.group("keys")
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
    try:
        with make_sessionmaker(ctx.engine).begin() as session:
            key = keys.rotate_key(session, by=Staff.system(issuer_id, "cli"), kek=kek, now=utcnow())
            kid = credentials.b64url(key.kid)
    except DomainError as error:
        raise click.ClickException(error.message) from error
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
    try:
        with make_sessionmaker(ctx.engine).begin() as session:
            keys.withdraw_key(
                session, by=Staff.system(issuer_id, "cli"), kid=kid, now=now, today=berlin_date(now)
            )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Key {kid} of {issuer_id} is withdrawn from the trust list.")


SERVICES = {"issuer": 5001, "redeemer": 5002}


@main.command("serve")
@click.argument("service", type=click.Choice(sorted(SERVICES)))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: issuer 5001, redeemer 5002")
def serve(service: str, host: str, port: int | None) -> None:
    """Development server for SERVICE (production: gunicorn "SERVICE:create_app()")."""
    import importlib

    from werkzeug.serving import run_simple

    # Imported by name: the core never imports an app module (import-linter contract).
    app = importlib.import_module(service).create_app()
    run_simple(host, port or SERVICES[service], app, threaded=True, use_reloader=False)


@main.group("staff-token")
def staff_token_group() -> None:
    """API tokens for the issuer's JSON API (the city's case-management system)."""


@staff_token_group.command("create")
@click.argument("username")
@click.argument("name")
@pass_context
def staff_token_create(ctx: Context, username: str, name: str) -> None:
    """A token acting as staff member USERNAME, labelled NAME; printed once, stored hashed."""
    from youcard.operations.staff_tokens import create_staff_token

    try:
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
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(token)


# DESIGN.md writes `admin`; the role's full name is accepted too.
ROLE_NAMES = {r.value: r for r in Role} | {"admin": Role.ADMINISTRATOR}


@main.group("staff")
def staff_group() -> None:
    """Staff accounts: caseworkers, approvers, administrators."""


@staff_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([*ROLE_NAMES]), required=True)
@click.option("--name", "display_name", required=True, help="The name the pages show.")
@click.option("--issuer", "issuer_id", required=True, help="The issuer (e.g. DE-HAM).")
@pass_context
def staff_create(ctx: Context, username: str, role: str, display_name: str, issuer_id: str) -> None:
    """Make a staff account; prints a one-time password, to be changed at first sign-in."""
    from youcard.operations.staff_accounts import create_staff_user

    try:
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
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Staff account {name} ({ROLE_NAMES[role].value}) of {issuer_id} made.")
    click.echo(f"One-time password (shown once; to be changed at first sign-in): {secret}")


@staff_group.command("list")
@click.option("--issuer", "issuer_id", required=True, help="The issuer (e.g. DE-HAM).")
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


from youcard.cli_import import import_group  # noqa: E402 - its own module, one command group

main.add_command(import_group)


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled work: import checks, the audit chain (and more to come)."""


@jobs_group.command("run")
@click.argument("names", metavar="[JOB]...", nargs=-1, type=click.Choice(sorted(jobs.JOBS)))
@click.option("--once", is_flag=True, help="Run each job once and stop (systemd timer, cron).")
@click.option(
    "--interval", default=60.0, show_default=True, help="Seconds between runs without --once."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Processes running the jobs side by side (each piece of work is done once).",
)
@pass_context
def jobs_run(
    ctx: Context, names: tuple[str, ...], once: bool, interval: float, workers: int
) -> None:
    """Run the jobs (all without JOB): safe on several nodes, and with --workers in several
    processes, at the same time; exit 1 when a job failed (with --once)."""
    chosen = names or tuple(jobs.JOBS)
    url = ctx.settings.database_url
    while True:
        if workers == 1:
            done = jobs.run_in_process(url, chosen)
        else:
            done = jobs.run_in_processes(url, chosen, workers)
        worked = {name: n for name, n in done.items() if n}
        if worked:
            click.echo(", ".join(f"{name}: {n}" for name, n in worked.items()))
        if once:
            if None in done.values():
                raise SystemExit(1)
            return
        time.sleep(interval)


from youcard.cli_operations import export_command, restore_drill_command, retention_command  # noqa: E402

main.add_command(export_command)
main.add_command(restore_drill_command)
main.add_command(retention_command)
