"""Scheduled work (docs/operations.md "Scheduled work"): idempotent jobs run by `youcard jobs run
[--once] [JOB ...]`, from a systemd timer (or cron) every minute in production, on any
number of nodes at the same time. Each job takes its work so that two runners never do the
same piece twice (PostgreSQL: row locks with SKIP LOCKED, or the lock of a chain's head),
commits piece by piece, and leaves nothing half-done when it stops: the next run goes on.

A job is `job(sessions, now) -> pieces of work done`; one failing job does not stop the
others (it is logged, and the command's exit code says so).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from youcard import audit
from youcard.clock import utcnow
from youcard.config import load_settings
from youcard.credentials import keys
from youcard.db import Session, make_engine, make_sessionmaker, upsert
from youcard.domain.models import Issuer, JobRun
from youcard.jobs.imports import check_waiting_imports, issue_import_cards
from youcard.messages.reminders import queue_reminders
from youcard.messages.sending import send_messages
from youcard.operations.instalments import book_due_instalments
from youcard.operations.staff import forget_old_throttles
from youcard.privacy.access_log import forget_old_views
from youcard.privacy.retention import (
    erase_due_households,
    forget_decided_applications,
    forget_old_allowances,
    forget_old_import_files,
    forget_old_money,
)

Job = Callable[[sessionmaker[Session], Callable[[], datetime]], int]
log = logging.getLogger("youcard.jobs.runner")


def erase_due(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """Retention (youcard.privacy.retention): households due for erasure, old approvals files,
    partners' applications decided long ago, and money records past the budget law's years."""
    erased = erase_due_households(sessions, now) + forget_decided_applications(sessions, now)
    erased += forget_old_allowances(sessions, now)
    return erased + forget_old_import_files(sessions, now) + forget_old_money(sessions, now)


def seal_audit_chains(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """Chain every issuer's unsealed audit events (bookings are not sealed as they happen:
    they never wait for the chain's lock). The chain's head row is locked per issuer."""
    with sessions() as session:
        issuers = session.scalars(select(Issuer.id).order_by(Issuer.id)).all()
    sealed = 0
    for issuer_id in issuers:
        with sessions.begin() as session:
            sealed += audit.seal(session, issuer_id)
    return sealed


def import_cards(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """The cards of confirmed imports' children (signed with the issuer's key: the KEK)."""
    return issue_import_cards(sessions, now, kek=lambda: keys.load_kek(load_settings()))


def forget_sign_in_throttles(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """Old sign-in throttles go (a day without a try), a batch per transaction."""
    gone = 0
    while True:
        with sessions.begin() as session:
            batch = forget_old_throttles(session, now=now())
        gone += batch
        if batch == 0:
            return gone


def forget_old_access_events(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """The access log's retention: views older than YOUCARD_ACCESS_LOG_YEARS go."""
    gone = 0
    while True:
        with sessions.begin() as session:
            batch = forget_old_views(session, now=now())
        gone += batch
        if batch == 0:
            return gone


JOBS: dict[str, Job] = {
    "imports": check_waiting_imports,  # approvals files uploaded on the page or the API
    "import-cards": import_cards,
    "mandates": book_due_instalments,  # monthly instalments due by today
    "reminders": queue_reminders,  # money expiring or unused: told once each
    "messages": send_messages,  # the outbox, by e-mail and SMS (YOUCARD_SMTP_URL, _SMS_URL)
    "audit-seal": seal_audit_chains,
    "sign-in-throttles": forget_sign_in_throttles,
    "access-log": forget_old_access_events,
    "retention": erase_due,  # personal data after its years; paid money records after theirs
}


def _record_run(
    sessions: sessionmaker[Session], name: str, started: datetime, seconds: float, done: int | None
) -> None:
    """Add the run to the job's row in `job_runs` (one statement; made on the first run)."""
    runs = JobRun.__table__
    failed = done is None
    with sessions.begin() as session:
        insert = upsert(session, runs).values(
            job=name,
            runs=1,
            failures=int(failed),
            done=done or 0,
            last_started_at=started,
            last_ok_at=None if failed else started,
            last_failed_at=started if failed else None,
            last_seconds=seconds,
        )
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[runs.c.job],
                set_={
                    "runs": runs.c.runs + 1,
                    "failures": runs.c.failures + int(failed),
                    "done": runs.c.done + (done or 0),
                    "last_started_at": started,
                    "last_ok_at": runs.c.last_ok_at if failed else started,
                    "last_failed_at": started if failed else runs.c.last_failed_at,
                    "last_seconds": seconds,
                },
            )
        )


def run_jobs(
    sessions: sessionmaker[Session], names: Iterable[str], now: Callable[[], datetime]
) -> dict[str, int | None]:
    """Run the named jobs once each, in order: what each did (None: it failed, logged)."""
    done: dict[str, int | None] = {}
    for name in names:
        started, clock = now(), time.perf_counter()
        try:
            done[name] = JOBS[name](sessions, now)
        except Exception:  # one job's failure must not stop the others; the next run retries
            log.exception("job %s failed", name)
            done[name] = None
        try:
            _record_run(sessions, name, started, time.perf_counter() - clock, done[name])
        except Exception:  # the record is for the metrics: it never fails the job
            log.exception("job %s: its run was not recorded", name)
    return done


def run_in_process(url: str, names: Iterable[str]) -> dict[str, int | None]:
    """The jobs once, in this process, on their own engine."""
    engine = make_engine(url)
    try:
        return run_jobs(make_sessionmaker(engine), list(names), utcnow)
    finally:
        engine.dispose()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """End this process when the one that started it ends, also by kill -9 (Linux's
    PR_SET_PDEATHSIG: a worker must not go on booking instalments for a runner that is
    gone, while the next run starts its own). Elsewhere the unit's KillMode=control-group
    does it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent ended before the line above took effect
        os._exit(1)


def _in_worker(parent: int, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    die_with_parent(parent)
    target(*args)


def start_workers(
    target: Callable[..., Any], args: tuple[Any, ...], workers: int
) -> list[multiprocessing.process.BaseProcess]:
    """`workers` fresh interpreters running `target(*args)`, each ending with this process."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no shared engine
    processes: list[multiprocessing.process.BaseProcess] = [
        context.Process(target=_in_worker, args=(os.getpid(), target, args)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    return processes


def _worker(url: str, names: list[str], results: Any) -> None:
    results.put(run_in_process(url, names))


def run_in_processes(url: str, names: Iterable[str], workers: int) -> dict[str, int | None]:
    """The jobs once in `workers` processes side by side (each takes other pieces of work:
    row locks with SKIP LOCKED); what they did, summed (None: a job failed in one)."""
    results = multiprocessing.get_context("spawn").Queue()
    chosen = list(names)
    processes = start_workers(_worker, (url, chosen, results), workers)
    done: dict[str, int | None] = dict.fromkeys(chosen, 0)
    for process in processes:
        process.join()
    while not results.empty():
        for name, count in results.get().items():
            previous = done.get(name)
            done[name] = None if previous is None or count is None else previous + count
    if any(process.exitcode != 0 for process in processes):
        log.error("a jobs process ended with an error")
        done = {name: None for name in done}
    return done
