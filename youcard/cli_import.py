"""`youcard import approvals FILE --issuer ID [--dry-run] [--as USERNAME] [--report CSV]`,
`youcard import confirm|reject BATCH --issuer ID --as USERNAME` (four eyes)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from youcard.clock import berlin_date, utcnow
from youcard.config import load_settings
from youcard.db import make_engine, make_sessionmaker
from youcard.errors import DomainError
from youcard.imports.approvals_file import MAX_BYTES, read_approvals
from youcard.imports.batches import LinesRefused, confirm_import, record_import, reject_import
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
    refused with the reason; exit 1 when a line is refused (the file is taken all or
    nothing). Without --dry-run, record it as a batch (--as: the staff member who imports)
    for a second person to confirm with `youcard import confirm`."""
    if not dry_run and not username:
        raise click.UsageError("Recording an import needs --as USERNAME (four eyes).")
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
            data = file.read_bytes()
            lines, refusals = read_approvals(data)
            plans = plan_import(
                session, by=by, lines=lines, refusals=refusals, today=berlin_date(utcnow())
            )
            batch_id = None
            if not dry_run and not summary(plans)["refused"]:
                with session.begin_nested():
                    batch_id = record_import(
                        session, by=by, data=data, file_name=file.name, now=utcnow()
                    ).id
                session.commit()
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
    if batch_id is not None:
        click.echo(
            f"Recorded as import {batch_id}; a colleague confirms it with "
            f"`youcard import confirm {batch_id} --issuer {issuer_id} --as USERNAME`."
        )


def _decide(batch_id: int, issuer_id: str, username: str, confirm: bool) -> str:
    engine = make_engine(load_settings().database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            user = session.scalars(
                select(StaffUser).where(
                    StaffUser.username == username.lower(), StaffUser.issuer_id == issuer_id
                )
            ).first()
            if user is None:
                raise click.ClickException(f"No staff member {username} of {issuer_id}.")
            decide = confirm_import if confirm else reject_import
            batch = decide(session, by=Staff.of(user), batch_id=batch_id, now=utcnow())
            return batch.counts
    except LinesRefused as error:
        for plan in error.plans:
            if plan.outcome == "refused":
                click.echo(f"line {plan.number} ({plan.decision_ref}): {plan.code}: {plan.message}")
        raise click.ClickException(error.message) from error
    except DomainError as error:
        raise click.ClickException(error.message) from error
    finally:
        engine.dispose()


@import_group.command("confirm")
@click.argument("batch_id", type=int)
@click.option("--issuer", "issuer_id", required=True)
@click.option("--as", "username", required=True, help="Another staff member than who recorded it.")
def import_confirm(batch_id: int, issuer_id: str, username: str) -> None:
    """Confirm a recorded import: every line checked again, written and approved at once."""
    counts = _decide(batch_id, issuer_id, username, confirm=True)
    click.echo(f"Import {batch_id} confirmed: {counts}")


@import_group.command("reject")
@click.argument("batch_id", type=int)
@click.option("--issuer", "issuer_id", required=True)
@click.option("--as", "username", required=True)
def import_reject(batch_id: int, issuer_id: str, username: str) -> None:
    """Reject a recorded import: nothing of it is written."""
    _decide(batch_id, issuer_id, username, confirm=False)
    click.echo(f"Import {batch_id} rejected; nothing of it is written.")
