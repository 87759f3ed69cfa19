"""`youcard import approvals FILE --issuer ID --dry-run [--as USERNAME] [--report CSV]`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from youcard.clock import berlin_date, utcnow
from youcard.config import load_settings
from youcard.db import make_engine, make_sessionmaker
from youcard.errors import DomainError
from youcard.imports.approvals_file import MAX_BYTES, read_approvals
from youcard.imports.plan import plan_import, report_csv, summary
from youcard.models import Issuer, StaffUser
from youcard.policy import Staff


@click.group("import")
def import_group() -> None:
    """Approvals from the city's case-management system."""


@import_group.command("approvals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer", "issuer_id", required=True, help="The issuer (e.g. DE-NW-HAMM).")
@click.option("--dry-run", is_flag=True, help="Check every line; change nothing.")
@click.option("--as", "username", help="The staff member who imports (audit, four eyes).")
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), help="Write the report as CSV."
)
def import_approvals(
    file: Path, issuer_id: str, dry_run: bool, username: str | None, report: Path | None
) -> None:
    """Check FILE line by line against what is stored: created, updated, unchanged, ended or
    refused with the reason. Exit 1 when a line is refused (the file is taken all or
    nothing)."""
    if not dry_run:
        raise click.UsageError(
            "Only --dry-run so far: recording a batch for a second person's confirmation "
            "comes with the import pages."
        )
    if file.stat().st_size > MAX_BYTES:
        raise click.ClickException(f"The file is larger than {MAX_BYTES // 2**20} MB.")
    engine = make_engine(load_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            if session.get(Issuer, issuer_id) is None:
                raise click.ClickException(f"No such issuer: {issuer_id}.")
            by = Staff.system(issuer_id, "cli")
            if username:
                user = session.scalars(
                    select(StaffUser).where(
                        StaffUser.username == username.lower(), StaffUser.issuer_id == issuer_id
                    )
                ).first()
                if user is None:
                    raise click.ClickException(f"No staff member {username} of {issuer_id}.")
                by = Staff.of(user)
            lines, refusals = read_approvals(file.read_bytes())
            plans = plan_import(
                session, by=by, lines=lines, refusals=refusals, today=berlin_date(utcnow())
            )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    finally:
        engine.dispose()
    counts = summary(plans)
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()) + f" ({len(plans)} lines)")
    for plan in plans:
        if plan.outcome == "refused":
            click.echo(f"line {plan.number} ({plan.decision_ref}): {plan.code}: {plan.message}")
    if report:
        report.write_text(report_csv(plans), encoding="utf-8-sig")
        click.echo(f"Report written to {report}.")
    if counts["refused"]:
        raise SystemExit(1)
