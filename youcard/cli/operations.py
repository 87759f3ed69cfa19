"""The operators' commands: `youcard export`, `youcard backup`, `youcard restore-drill`,
`youcard retention`, `youcard drill failover`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import click

from youcard.cli import drill
from youcard.cli.context import Context, issuer_option, pass_context
from youcard.clock import DateOutOfRange, berlin_date, parse_month, utcnow
from youcard.db import make_sessionmaker
from youcard.documents import exports
from youcard.domain.models import Issuer
from youcard.drills import failover
from youcard.policy import Staff
from youcard.privacy.retention import (
    due_households,
    erase_after_years,
    erase_due_households,
    forget_old_money,
    keep_money_years,
    old_money,
)


@click.command("export")
@click.argument("kind", type=click.Choice(exports.KINDS))
@issuer_option
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout)."
)
@pass_context
def export_command(ctx: Context, kind: str, issuer_id: str, month: str, output: str | None) -> None:
    """CSV for the case-management system and the city's statistics: `balances` (per child
    and benefit: approved, booked net, left at the month's end) or `bookings` (net bookings
    per child and benefit in the month, with the legal basis). UTF-8 with BOM, semicolons."""
    try:
        first = parse_month(month)
    except DateOutOfRange as error:
        raise click.BadParameter(str(error), param_hint="--month") from None
    with make_sessionmaker(ctx.engine)() as session:
        if session.get(Issuer, issuer_id) is None:
            raise click.ClickException(f"No such issuer: {issuer_id}.")
        make = exports.balances if kind == "balances" else exports.bookings
        lines = make(session, by=Staff.system(issuer_id, "cli"), month=first)
        if output:
            with open(output, "w", encoding="utf-8-sig", newline="") as out:
                out.writelines(lines)
        else:
            sys.stdout.write("\ufeff")
            sys.stdout.writelines(lines)


@click.command("restore-drill")
@click.option("--keep", is_flag=True, help="Keep the restored copy (default: dropped).")
@pass_context
def restore_drill_command(ctx: Context, keep: bool) -> None:
    """Dump the PostgreSQL database (pg_dump), restore it into a new one beside it
    (pg_restore), and check the copy: every table's rows as at the dump's moment, the ledger
    check and the audit chains. Exit 1 when anything differs."""
    target = f"youcard_restore_drill_{utcnow():%Y%m%d%H%M%S}"
    try:
        result = drill.restore_drill(ctx.settings.database_url, target=target, keep=keep)
    except (ValueError, subprocess.CalledProcessError) as error:
        raise click.ClickException(f"The drill could not run: {error}") from None
    for table, (source, copy) in result.counts.items():
        mark = "" if source == copy else "   DIFFERS"
        click.echo(f"{table:<28} {source:>10,} {copy:>10,}{mark}")
    for line in result.ledger + result.audit:
        click.echo(line, err=True)
    if not result.ok:
        raise SystemExit(1)
    kept = f"; the copy is kept as {result.target}" if keep else ""
    click.echo(f"Restored and checked: every table complete, ledger and audit clean{kept}.")


@click.command("backup")
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder of the dumps (deploy/youcard-backup.service: /var/lib/youcard/backups).",
)
@click.option("--keep-days", default=14, show_default=True, type=click.IntRange(1, 3650))
@pass_context
def backup_command(ctx: Context, into: Path, keep_days: int) -> None:
    """Dump the database (pg_dump, custom format) into a new file in INTO and delete the
    dumps there older than --keep-days; `youcard restore-drill` proves a dump restores."""
    try:
        made, deleted = drill.backup(
            ctx.settings.database_url, into=into, now=utcnow(), keep_days=keep_days
        )
    except ValueError as error:
        raise click.ClickException(f"No backup: {error}.") from None
    except subprocess.CalledProcessError as error:
        said = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise click.ClickException(
            f"No backup: pg_dump said {said[-1] if said else error}"
        ) from None
    click.echo(
        f"Backup {made} ({made.stat().st_size:,} bytes); {len(deleted)} older dump(s) deleted."
    )


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Only list the households that would be erased.")
@click.option("--issuer", "issuer_id", help="Only this issuer's households (the list).")
@pass_context
def retention_command(ctx: Context, dry_run: bool, issuer_id: str | None) -> None:
    """Erase the names, birth dates, address and contacts of every household whose last
    entitlement ended YOUCARD_ERASE_AFTER_YEARS (default 3) ago; bookings, settlements and
    the audit chain stay, pseudonymous. The `retention` job does the same every run;
    `--dry-run` lists what would go (ids and references, no names)."""
    years = erase_after_years()
    sessions = make_sessionmaker(ctx.engine)
    with sessions() as session:
        due = due_households(
            session, today=berlin_date(utcnow()), years=years, issuer_id=issuer_id, limit=100_000
        )
    for household in due:
        ended = household.last_ended.isoformat() if household.last_ended else "none"
        click.echo(
            f"{household.issuer_id:<12} {household.household_id:>10} "
            f"{household.reference:<24} last entitlement ended: {ended}"
        )
    money_years = keep_money_years()
    if dry_run:
        with sessions() as session:
            benefits = old_money(session, today=berlin_date(utcnow()), years=money_years)
        click.echo(
            f"{len(due):,} households would be erased ({years} years after their last "
            "entitlement ended); nothing was changed."
        )
        click.echo(
            f"{benefits:,} benefits' bookings and settlements would be forgotten "
            f"({money_years} years after they ended)."
        )
        return
    erased = erase_due_households(sessions, utcnow, years=years)
    forgotten = forget_old_money(sessions, utcnow, years=money_years)
    click.echo(f"{erased:,} households erased; {forgotten:,} benefits' money records forgotten.")


@click.group("drill")
def drill_group() -> None:
    """Drills that prove what the operators' guide promises, on clusters of their own."""


@drill_group.command("failover")
@click.option(
    "--kill",
    type=click.Choice(["primary", "standby"]),
    default="primary",
    show_default=True,
    help="Which server's host dies.",
)
@click.option("--seconds", default=5.0, show_default=True, help="Booking after the kill.")
def failover_command(kill: str, seconds: float) -> None:
    """Start a primary and a synchronous standby (two PostgreSQL clusters of its own, never
    the configured database), the redeemer under gunicorn on their multi-host URL and six
    clients booking; kill every process of one server (SIGKILL); with the primary killed,
    promote the standby as a watcher would. Then check: every booking a client saw
    answered 201 is there, none twice, ledger and audit chain clean. Exit 1 otherwise."""
    with tempfile.TemporaryDirectory(prefix="youcard-failover-") as workdir:
        try:
            result = failover.run(Path(workdir), kill=kill, seconds_after=seconds, say=click.echo)
        except RuntimeError as error:
            raise click.ClickException(f"The drill could not run: {error}") from None
    click.echo(
        f"answers {result.statuses} (0: cut); {result.answered:,} bookings answered 201: "
        f"{result.missing} missing, {result.duplicated} twice, {result.stored_more} more stored "
        f"whose answer was cut; Retry-After {sorted(result.retry_after) or '-'}"
    )
    for name, value in result.figures.items():
        click.echo(f"  {name:<32} {value:6.2f} s")
    for problem in [*result.ledger, *result.audit]:
        click.echo(str(problem), err=True)
    if not result.ok:
        raise SystemExit(1)
    click.echo("Nothing a client saw booked was lost; ledger and audit chain clean.")
