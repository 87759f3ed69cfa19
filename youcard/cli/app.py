"""The `youcard` command for operators: migrations, demo data, ledger and audit checks."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click
from sqlalchemy import select

from youcard import audit, migrate
from youcard.cli import demo
from youcard.cli.context import Context, OneLineErrors, pass_context
from youcard.clock import utcnow
from youcard.credentials import keys
from youcard.db import make_sessionmaker
from youcard.domain.models import Issuer
from youcard.jobs import runner as jobs
from youcard.reads import ledger


@click.group(cls=OneLineErrors)
def main() -> None:
    """YouCard: benefits voucher cards (Bildungs- und Teilhabepaket).

    A new city: `youcard db upgrade`, `youcard issuer create ISSUER_ID --name NAME`, then
    `youcard staff create USERNAME --role admin --name NAME --issuer ISSUER_ID`.
    """


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


def _left(entitlement: dict[str, Any]) -> str:
    """What a demo child's benefit allows now, in words: money left, units left, or (lunch:
    no sum, units counted per day) how many a day at what price at most."""
    said = []
    if entitlement["available_cents"] is not None:
        said.append(f"{_euro(entitlement['available_cents'])} left")
    if entitlement["available_units"] is not None:
        said.append(f"{entitlement['available_units']} units left")
    if entitlement["units_per_day"] is not None:
        said.append(f"{entitlement['units_per_day']} a day")
    if entitlement["unit_cap_cents"] is not None:
        said.append(f"at most {_euro(entitlement['unit_cap_cents'])} each")
    return ", ".join(said)


def _euro(cents: int | None) -> str:
    if cents is None:
        return "—"
    return f"{cents // 100},{cents % 100:02d} €"


def _print_demo(data: demo.DemoData, *, made: bool) -> None:
    click.echo("Demo data " + ("created." if made else "already present; nothing changed."))
    click.echo(f"\nIssuer id: {demo.ISSUER_ID} (the commands' --issuer; `youcard issuer list`)")
    click.echo(f"Issuer (staff):   {data.issuer_url}")
    click.echo(f"Redeemer (partners): {data.redeemer_url}")
    click.echo(f"Scanner page (partner staff): {data.redeemer_url}/scan")
    click.echo(f"Directory of partners (public): {data.issuer_url}/directory")
    click.echo(f"Partners apply (public): {data.issuer_url}/partners/apply")
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
            click.echo(f"    {e['category']:<14} {_left(e)} until {e['valid_until']}")


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


from youcard.cli.setup import issuer_group, keys_group, staff_group, staff_token_group  # noqa: E402

for _group in (issuer_group, keys_group, staff_group, staff_token_group):
    main.add_command(_group)

from youcard.cli.imports import import_group  # noqa: E402 - its own module, one command group

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
        failed = [name for name, n in done.items() if n is None]
        if worked:
            click.echo(", ".join(f"{name}: {n}" for name, n in worked.items()))
        elif once and not failed:
            click.echo(f"Nothing to do ({len(done)} job(s) looked).")
        if failed:
            click.echo("Failed (see the log): " + ", ".join(failed) + ".", err=True)
        if once:
            if None in done.values():
                raise SystemExit(1)
            return
        time.sleep(interval)


from youcard.cli.operations import (  # noqa: E402
    backup_command,
    drill_group,
    export_command,
    restore_drill_command,
    retention_command,
)

main.add_command(backup_command)
main.add_command(drill_group)
main.add_command(export_command)
main.add_command(restore_drill_command)
main.add_command(retention_command)
