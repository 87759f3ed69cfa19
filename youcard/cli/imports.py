"""`youcard import approvals FILE --issuer ID [--dry-run] [--as USERNAME] [--report CSV]`,
`youcard import confirm|reject BATCH --issuer ID --as USERNAME` (four eyes)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click
from sqlalchemy import select

from youcard.cli.context import issuer_option
from youcard.clock import berlin_date, utcnow
from youcard.config import load_settings
from youcard.db import Session, make_engine, make_sessionmaker
from youcard.domain.models import ImportBatch, Issuer, StaffUser
from youcard.errors import DomainError
from youcard.imports.approvals_file import MAX_BYTES, FileRefused, count_lines, in_chunks
from youcard.imports.batches import LinesRefused, check_batch, queue_import, stored_plans
from youcard.imports.confirmation import confirm_import, reject_import
from youcard.imports.plan import OUTCOMES, LinePlan, Planner, report_lines
from youcard.policy import Staff


@click.group("import")
def import_group() -> None:
    """Approvals from the city's case-management system."""


class _Progress:
    """A progress bar on a terminal (lines, lines per second, time left); nothing elsewhere
    (a timer's log or a pipe gets the summary only)."""

    def __init__(self, total: int) -> None:
        self.started = time.monotonic()
        self.done = 0
        self.bar = (
            click.progressbar(
                length=max(total, 1),
                label="Checking",
                show_eta=True,
                show_percent=True,
                item_show_func=lambda rate: rate,
                file=sys.stderr,
            )
            if sys.stderr.isatty()
            else None
        )

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def advance(self, lines: int) -> None:
        self.done += lines
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        if self.bar is not None:
            self.bar.update(lines, f"{rate:,.0f} lines/s")


@import_group.command("approvals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@issuer_option
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
    data = file.read_bytes()
    engine = make_engine(load_settings().database_url)
    counts = dict.fromkeys(OUTCOMES, 0)
    refused: list[LinePlan] = []
    batch_id = None
    out = report.open("w", encoding="utf-8-sig", newline="") if report else None
    try:
        with make_sessionmaker(engine)() as session, _Progress(count_lines(data)) as progress:
            if session.get(Issuer, issuer_id) is None:
                raise click.ClickException(f"No such issuer: {issuer_id}.")
            by = _staff(session, issuer_id, username) if username else None

            def note(plans: Sequence[LinePlan]) -> None:
                for plan in plans:
                    counts[plan.outcome] += 1
                refused.extend(plan for plan in plans if plan.outcome == "refused")
                progress.advance(len(plans))

            if dry_run:  # nothing stored: later lines are checked against earlier ones in memory
                planner = Planner(
                    session, by=by or Staff.system(issuer_id, "cli"), today=berlin_date(utcnow())
                )
                if out:
                    out.write("".join(report_lines([])))
                for lines, refusals in in_chunks(data):
                    plans = planner.plan(lines, refusals)
                    note(plans)
                    if out:
                        out.write("".join(report_lines(plans, header=False)))
            else:
                assert by is not None
                batch = queue_import(session, by=by, data=data, file_name=file.name, now=utcnow())
                done = 0

                def advanced(checked: ImportBatch, final: bool) -> None:
                    nonlocal done
                    progress.advance(checked.lines_done - done)
                    done = checked.lines_done

                check_batch(session, batch, now=utcnow(), checkpoint=advanced)
                if batch.problem_code:
                    raise FileRefused(batch.problem or "", code=batch.problem_code)
                counts.update(json.loads(batch.counts))
                refused = list(stored_plans(session, batch.id, outcome="refused"))
                if out:
                    for text in report_lines(stored_plans(session, batch.id)):
                        out.write(text)
                if counts["refused"]:
                    session.rollback()
                else:
                    batch_id = batch.id
                    session.commit()
    except DomainError as error:
        raise click.ClickException(error.message) from error
    finally:
        engine.dispose()
        if out:
            out.close()
    total = sum(counts.values())
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()) + f" ({total} lines)")
    for plan in refused:
        click.echo(f"line {plan.number} ({plan.decision_ref}): {plan.code}: {plan.message}")
    if report:
        click.echo(f"Report written to {report}.")
    if counts["refused"]:
        raise SystemExit(1)
    if batch_id is not None:
        click.echo(
            f"Recorded as import {batch_id}; a colleague confirms it with "
            f"`youcard import confirm {batch_id} --issuer {issuer_id} --as USERNAME`."
        )


def _staff(session: Session, issuer_id: str, username: str) -> Staff:
    user = session.scalars(
        select(StaffUser).where(
            StaffUser.username == username.lower(), StaffUser.issuer_id == issuer_id
        )
    ).first()
    if user is None:
        raise click.ClickException(f"No staff member {username} of {issuer_id}.")
    return Staff.of(user)


def _decide(batch_id: int, issuer_id: str, username: str, confirm: bool) -> str:
    engine = make_engine(load_settings().database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            decide = confirm_import if confirm else reject_import
            by = _staff(session, issuer_id, username)
            batch = decide(session, by=by, batch_id=batch_id, now=utcnow())
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
@issuer_option
@click.option("--as", "username", required=True, help="Another staff member than who recorded it.")
def import_confirm(batch_id: int, issuer_id: str, username: str) -> None:
    """Confirm a recorded import: every line checked again, written and approved at once."""
    counts = json.loads(_decide(batch_id, issuer_id, username, confirm=True))
    said = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "no lines"
    click.echo(f"Import {batch_id} confirmed: {said}. The jobs issue the new children's cards.")


@import_group.command("reject")
@click.argument("batch_id", type=int)
@issuer_option
@click.option("--as", "username", required=True)
def import_reject(batch_id: int, issuer_id: str, username: str) -> None:
    """Reject a recorded import: nothing of it is written."""
    _decide(batch_id, issuer_id, username, confirm=False)
    click.echo(f"Import {batch_id} rejected; nothing of it is written.")
