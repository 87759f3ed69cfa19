"""The `youcard` command: db upgrade, demo (idempotent), ledger check, audit verify."""

from __future__ import annotations

import json
import re
import stat
import time
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from tests.conftest import create_postgres_database, drop_postgres_database
from youcard.cli import main
from youcard.clock import utcnow
from youcard.credentials import trust, verify
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.models import AuditEvent, Booking, Entitlement
from youcard.operations.family import family_sign_in
from youcard.operations.staff import sign_in_partner_user


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path, monkeypatch):
    """A fresh instance folder and database for the command."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("YOUCARD_SECRET_KEY", raising=False)
    if request.param == "sqlite":
        monkeypatch.delenv("YOUCARD_DATABASE_URL", raising=False)
        yield {"instance": instance, "url": f"sqlite:///{instance / 'youcard.sqlite3'}"}
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url = create_postgres_database(admin_url)
    monkeypatch.setenv("YOUCARD_DATABASE_URL", url)
    monkeypatch.setenv("YOUCARD_KEK", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
    yield {"instance": instance, "url": url}
    drop_postgres_database(admin_url, url)


def _run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def _counts(url):
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return tuple(
                session.scalar(select(func.count()).select_from(t))
                for t in (Entitlement, Booking, AuditEvent)
            )
    finally:
        engine.dispose()


def test_demo_seeds_once_and_prints_the_design_keys(env):
    assert _run("db", "upgrade").exit_code == 0
    first = _run("demo", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert set(data) >= {"issuer_url", "redeemer_url", "staff", "partners", "children"}
    assert {(s["username"], s["role"]) for s in data["staff"]} == {
        ("caseworker", "caseworker"),
        ("approver", "approver"),
        ("admin", "administrator"),
    }
    assert all(len(s["password"]) >= 12 for s in data["staff"])
    assert sorted(c for p in data["partners"] for c in p["categories"]) == [
        "lunch",
        "participation",
        "tutoring",
    ]
    assert all(p["token"].startswith("ycd_") for p in data["partners"])
    assert len({p["login"] for p in data["partners"]}) == 3
    engine = make_engine(env["url"])
    with make_sessionmaker(engine)() as session:
        for p in data["partners"]:  # every printed scanner-page login signs in
            user = sign_in_partner_user(
                session,
                username=p["login"],
                password=p["password"],
                address="127.0.0.1",
                now=utcnow(),
            )
            assert user.partner.name == p["name"]
        session.rollback()
    engine.dispose()
    assert len(data["children"]) >= 3
    engine = make_engine(env["url"])
    with make_sessionmaker(engine)() as session:
        for household in data["families"]:  # every printed family code opens that family
            opened = family_sign_in(
                session,
                code=household["access_code"],
                birth_date=date.fromisoformat(household["birth_dates"][0]),
                now=utcnow(),
            )
            assert opened.reference == household["reference"]
        session.rollback()
    engine.dispose()
    engine = make_engine(env["url"])
    with make_sessionmaker(engine)() as session:
        trusted = trust.trusted_keys(session)
    engine.dispose()
    for child in data["children"]:
        assert {"given_name", "family_name", "card_serial", "credential", "entitlements"} <= set(
            child
        )
        assert len(bytes.fromhex(child["card_serial"])) == 16
        result = verify(child["credential"], trusted=trusted, now=int(time.time()))
        assert result.valid and result.claims.serial.hex() == child["card_serial"]
        assert {e["category"] for e in child["entitlements"]} >= {"participation"}
        assert all("available_cents" in e for e in child["entitlements"])
    before = _counts(env["url"])

    second = _run("demo", "--json")
    assert json.loads(second.output) == data
    assert _counts(env["url"]) == before

    text = _run("demo")
    assert "already present; nothing changed" in text.output
    assert "available —" not in text.output  # lunch: a meal a day at a price, in words
    assert re.search(r"lunch +1 a day, at most \d+,\d\d € each until", text.output)
    assert data["partners"][0]["token"] in text.output
    assert f"login: {data['partners'][0]['login']} / {data['partners'][0]['password']}" in (
        text.output
    )


def test_secrets_live_in_the_instance_folder_and_are_never_printed(env):
    out = _run("demo", "--json").output
    instance = env["instance"]
    for name in ("secret_key", "demo-credentials.json"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    secret_key = (instance / "secret_key").read_text().strip()
    assert len(secret_key) >= 40 and secret_key not in out
    # The demo tokens are stored hashed: the database never contains them.
    token = json.loads(out)["partners"][0]["token"]
    engine = make_engine(env["url"])
    with engine.connect() as conn:
        from youcard.domain.models import DeviceToken

        hashes = conn.execute(select(DeviceToken.token_hash)).scalars().all()
    engine.dispose()
    assert token.encode() not in hashes and len(hashes) == 3


def test_ledger_check_is_clean_then_finds_a_difference(env):
    _run("demo")
    ok = _run("ledger", "check")
    assert ok.exit_code == 0 and "consistent" in ok.output
    engine = make_engine(env["url"])
    with engine.begin() as conn:
        conn.execute(update(Entitlement).where(Entitlement.id == 1).values(spent_cents=100))
    engine.dispose()
    bad = _run("ledger", "check")
    assert bad.exit_code == 1
    assert "entitlement 1: spent_cents is 100, the bookings say 3000" in bad.output  # 2 x 15 €


def test_audit_verify_fails_on_an_edited_event(env):
    _run("demo")
    assert _run("audit", "verify").exit_code == 0
    engine = make_engine(env["url"])
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone else"))
    engine.dispose()
    result = _run("audit", "verify")
    assert result.exit_code == 1


def test_audit_seal_seals_new_events(env):
    _run("demo")
    result = _run("audit", "seal")
    assert result.exit_code == 0 and "Sealed 0 event(s)." in result.output


def test_keys_list_rotate_and_retire(env):
    _run("demo")
    listed = _run("keys", "list").output.split()
    first_kid = listed[1]
    assert listed[0] == "DE-NW-HAMM" and listed[2] == "active"
    rotated = _run("keys", "rotate", "DE-NW-HAMM")
    assert rotated.exit_code == 0 and "New active key" in rotated.output
    lines = _run("keys", "list").output.splitlines()
    assert [line.split()[2] for line in lines] == ["retired", "active"]
    # "--": a base64url kid may begin with "-" (it did, once in 64 runs)
    refused = _run("keys", "retire", "--", "DE-NW-HAMM", first_kid)
    assert refused.exit_code == 1 and "valid until" in refused.output
    unknown = _run("keys", "retire", "--", "DE-NW-HAMM", "AAAAAAAAAAA")
    assert unknown.exit_code == 1 and "No such key" in unknown.output


def test_staff_create_prints_a_one_time_password_that_must_be_changed_and_staff_list(env):
    from youcard.operations.staff import sign_in

    _run("demo")
    made = _run(
        "staff", "create", "Eda.Demir", "--role", "approver", "--name", "Eda Demir",
        "--issuer", "DE-NW-HAMM",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = made.output.split(": ")[-1].strip()
    assert len(secret) == 19 and secret.count("-") == 3
    engine = make_engine(env["url"])
    try:
        with make_sessionmaker(engine).begin() as session:
            user = sign_in(
                session, username="eda.demir", password=secret, address="cli", now=utcnow()
            )
            assert user.must_change_password and user.role.value == "approver"
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "staff.create")
            ).all()
            assert [e.actor for e in events if "eda.demir" in e.data] == ["cli"]
            assert all(secret not in e.data for e in events)
    finally:
        engine.dispose()
    listed = _run("staff", "list", "--issuer", "DE-NW-HAMM").output
    assert "eda.demir" in listed and "one-time password" in listed
    assert "Eda Demir" in listed and secret not in listed
    again = _run(
        "staff",
        "create",
        "eda.demir",
        "--role",
        "approver",
        "--name",
        "E",
        "--issuer",
        "DE-NW-HAMM",
    )
    assert again.exit_code == 1 and "already in use" in again.output
    unknown = _run(
        "staff", "create", "x1", "--role", "root", "--name", "X", "--issuer", "DE-NW-HAMM"
    )
    assert unknown.exit_code == 2  # no such role
    admin = _run(
        "staff", "create", "x2", "--role", "admin", "--name", "X", "--issuer", "DE-NW-HAMM"
    )
    assert admin.exit_code == 0 and "(administrator)" in admin.output  # docs/operations.md's word
    nowhere = _run(
        "staff", "create", "x1", "--role", "administrator", "--name", "X", "--issuer", "DE-NOPE"
    )
    assert nowhere.exit_code == 1 and "No such issuer" in nowhere.output


def test_the_demo_tells_the_story_two_months_booked_the_first_settled(env):
    from youcard.clock import berlin_date
    from youcard.domain import budget
    from youcard.domain.enums import SettlementStatus
    from youcard.domain.models import Household, Issuer, Settlement

    text = _run("demo").output
    assert "credential: YC1:" in text and "birth dates: Elif 2015-03-14, Can 2011-09-02" in text
    this_month = berlin_date(utcnow()).replace(day=1)
    last, before = budget.add_months(this_month, -1), budget.add_months(this_month, -2)
    engine = make_engine(env["url"])
    try:
        with make_sessionmaker(engine)() as session:
            months = {
                berlin_date(b.created_at).replace(day=1) for b in session.scalars(select(Booking))
            }
            assert months == {before, last}
            runs = {s.month: s.status for s in session.scalars(select(Settlement))}
            assert runs == {before: SettlementStatus.FINALIZED}  # last month: to try it on
            issuer = session.get(Issuer, "DE-NW-HAMM")
            assert issuer.office_phone and issuer.family_url
            languages = {h.reference: h.language for h in session.scalars(select(Household))}
            assert languages["HAM-2026-0001"] == "tr"
        assert _run("ledger", "check").exit_code == 0
    finally:
        engine.dispose()


def test_import_approvals_dry_run_reports_every_line_and_changes_nothing(env, tmp_path):
    _run("demo")
    header = (
        "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;"
        "valid_from;valid_until;amount_eur;legal_basis"
    )
    year = berlin_date_today().year
    child = "HAM-2026-0099;P-1;Kovalenko;Olena;2016-05-01"
    good = f"D-1;{child};lunch;{year}-08-01;{year + 1}-07-31;;SGB2"
    bad = f"D-2;{child};trips;{year}-08-01;{year + 1}-07-31;;"
    path = tmp_path / "bewilligungen.csv"
    path.write_text("\ufeff" + "\r\n".join([header, good]) + "\r\n", encoding="utf-8")
    before = _counts(env["url"])
    result = _run("import", "approvals", str(path), "--issuer", "DE-NW-HAMM", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created 1, updated 0, unchanged 0, ended 0, refused 0")
    path.write_text("\r\n".join([header, good, bad]) + "\r\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    result = _run(
        "import", "approvals", str(path), "--issuer", "DE-NW-HAMM", "--dry-run",
        "--as", "caseworker", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "line 3 (D-2): rule_required: Trips need amount_eur" in result.output
    assert report.read_text(encoding="utf-8-sig").splitlines()[2].startswith("3;D-2;refused;")
    assert _counts(env["url"]) == before
    assert _run("import", "approvals", str(path), "--issuer", "DE-NW-HAMM").exit_code == 2
    nowhere = _run("import", "approvals", str(path), "--issuer", "DE-NOPE", "--dry-run")
    assert nowhere.exit_code == 1 and "No such issuer" in nowhere.output
    cp1252 = tmp_path / "excel.csv"
    cp1252.write_bytes((header + "\r\nD-1;H;P;Müller;Ä;2016-05-01;lunch;;;;\r\n").encode("cp1252"))
    refused = _run("import", "approvals", str(cp1252), "--issuer", "DE-NW-HAMM", "--dry-run")
    assert refused.exit_code == 1 and "CSV UTF-8" in refused.output


def berlin_date_today():
    from youcard.clock import berlin_date

    return berlin_date(utcnow())


def test_import_approvals_recorded_by_one_and_confirmed_by_another(env, tmp_path):
    _run("demo")
    year = berlin_date_today().year
    path = tmp_path / "bewilligungen.csv"
    path.write_text(
        "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;"
        "valid_from;valid_until\r\n"
        f"D-7;HAM-2026-0777;P-7;Kaya;Deniz;2014-02-03;participation;{year}-08-01;"
        f"{year + 1}-07-31\r\n",
        encoding="utf-8",
    )
    recorded = _run(
        "import", "approvals", str(path), "--issuer", "DE-NW-HAMM", "--as", "caseworker"
    )
    assert recorded.exit_code == 0, recorded.output
    batch = recorded.output.split("Recorded as import ")[1].split(";")[0]
    before = _counts(env["url"])
    own = _run("import", "confirm", batch, "--issuer", "DE-NW-HAMM", "--as", "caseworker")
    assert own.exit_code == 1 and _counts(env["url"]) == before  # four eyes, and the role
    done = _run("import", "confirm", batch, "--issuer", "DE-NW-HAMM", "--as", "approver")
    assert done.exit_code == 0 and f"Import {batch} confirmed: 1 created." in done.output
    assert "{" not in done.output  # words, not JSON (#27.5)
    assert _counts(env["url"])[0] == before[0] + 1
    again = _run("import", "reject", batch, "--issuer", "DE-NW-HAMM", "--as", "approver")
    assert again.exit_code == 1 and "already decided" in again.output
    assert _run("ledger", "check").exit_code == 0


def test_jobs_run_once_checks_uploaded_imports_and_seals_the_audit_chain(env):
    from youcard.domain.models import ImportBatch, StaffUser
    from youcard.imports.batches import queue_import
    from youcard.policy import Staff

    _run("demo")
    engine = make_engine(env["url"])
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            user = session.scalars(
                select(StaffUser).where(StaffUser.username == "caseworker")
            ).one()
            batch_id = queue_import(
                session, by=Staff.of(user), file_name="upload.csv", now=utcnow(),
                data=b"decision_ref;case_ref;child_ref;family_name;given_name;birth_date;"
                b"category;valid_from;valid_until\r\nD-77;HAM-77;P-77;Kaya;Deniz;2014-02-03;"
                b"participation;2026-08-01;2027-07-31\r\n",
            ).id  # fmt: skip
        result = _run("jobs", "run", "--once")
        assert result.exit_code == 0, result.output
        assert "imports: 1" in result.output and "audit-seal: 2" in result.output
        with sessions() as session:
            assert session.get_one(ImportBatch, batch_id).status == "recorded"
            assert session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
            ) == 0  # fmt: skip
        again = _run("jobs", "run", "--once", "imports", "audit-seal")
        assert again.exit_code == 0  # nothing left: nothing done, and it says so
        assert again.output.strip() == "Nothing to do (2 job(s) looked)."
        assert _run("jobs", "run", "--once", "nope").exit_code == 2
    finally:
        engine.dispose()


def test_export_balances_and_bookings_of_the_demo(env, tmp_path):
    _run("demo")
    month = f"{utcnow():%Y-%m}"
    result = _run("export", "balances", "--issuer", "DE-NW-HAMM", "--month", month)
    assert result.exit_code == 0, result.output
    lines = result.output.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("youcard_child_id;child_ref;case_ref;decision_ref;category")
    assert len(lines) > 1
    out = tmp_path / "buchungen.csv"
    made = _run("export", "bookings", "--issuer", "DE-NW-HAMM", "--month", month,
                "--output", str(out))  # fmt: skip
    assert made.exit_code == 0 and made.output == ""
    raw = out.read_bytes()
    assert raw.startswith("\ufeffmonth;youcard_child_id;".encode()) and raw.endswith(b"\r\n")
    assert _run("export", "balances", "--issuer", "DE-NW-HAMM", "--month", "2026-13").exit_code == 2
    nowhere = _run("export", "bookings", "--issuer", "DE-NOPE", "--month", month)
    assert nowhere.exit_code == 1 and "No such issuer" in nowhere.output


def test_jobs_run_with_several_workers_books_each_instalment_once(env):
    from datetime import timedelta

    from tests.factories import Factory, trusted
    from youcard.clock import berlin_date
    from youcard.domain.enums import Category
    from youcard.domain.models import Mandate
    from youcard.operations.mandates import MandateTerms, create_mandate
    from youcard.policy import Counter

    _run("db", "upgrade")
    today = berlin_date(utcnow())
    engine = make_engine(env["url"])
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            partner = make.partner(issuer, {Category.PARTICIPATION})
            make.signing_key(issuer)
            session.flush()
            keys = trusted(session, issuer.id)
            for n in range(6):
                child = make.child(issuer)
                make.entitlement(child, period=(today - timedelta(days=40),
                                                today + timedelta(days=200)))  # fmt: skip
                card = make.card(child, valid_until=today + timedelta(days=200))
                card.valid_from = today - timedelta(days=40)
                session.flush()
                create_mandate(
                    session, by=Counter(partner.id, partner.name, frozenset()),
                    credential=card.credential, trusted=keys, now=utcnow(),
                    terms=MandateTerms("participation", f"M-{n}", 500, 1,
                                       valid_from=today.replace(day=1)),
                )  # fmt: skip
        result = _run("jobs", "run", "--once", "--workers", "2", "mandates")
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "mandates: 6"
        again = _run("jobs", "run", "--once", "--workers", "2", "mandates")
        assert again.exit_code == 0 and again.output.startswith("Nothing to do")
        with sessions() as session:
            booked = select(func.count()).select_from(Booking).where(Booking.issuer_id == issuer.id)
            assert session.scalar(booked) == 6
            assert {m.last_result for m in session.scalars(select(Mandate))} == {"booked"}
    finally:
        engine.dispose()


def test_the_restore_drill_restores_every_row_and_the_checks_pass(env):
    if env["url"].startswith("sqlite"):
        result = _run("restore-drill")
        assert result.exit_code == 1 and "needs PostgreSQL" in result.output
        return
    _run("demo")
    result = _run("restore-drill")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith("Restored and checked: every table complete")
    counts = {line.split()[0]: line.split()[1:3] for line in lines[:-1]}
    assert counts["bookings"][0] == counts["bookings"][1] != "0"
    assert counts["audit_events"][0] == counts["audit_events"][1]
    assert "DIFFERS" not in result.output
    engine = make_engine(env["url"])
    try:
        with engine.connect() as connection:  # the copy is gone again
            left = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'youcard_restore_drill_%%'"
            ).scalar_one()
    finally:
        engine.dispose()
    assert left == 0


def test_retention_dry_run_lists_and_the_command_erases(env, monkeypatch):
    from tests.factories import Factory
    from youcard.domain.enums import Category
    from youcard.domain.models import Household

    assert _run("db", "upgrade").exit_code == 0
    engine = make_engine(env["url"])
    try:
        with make_sessionmaker(engine).begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            old = make.child(issuer)
            make.entitlement(old, Category.PARTICIPATION,
                             period=(date(2022, 1, 1), date(2022, 12, 31)))  # fmt: skip
            household = session.get(Household, old.household_id)
            household.created_at = household.created_at.replace(year=2021)
            current = make.child(issuer)
            make.entitlement(current, Category.PARTICIPATION)
            old_id, reference = household.id, household.reference
        monkeypatch.setenv("YOUCARD_ERASE_AFTER_YEARS", "2")
        listed = _run("retention", "--dry-run", "--issuer", issuer.id)
        assert listed.exit_code == 0, listed.output
        assert f"{old_id}" in listed.output and reference in listed.output
        assert "last entitlement ended: 2022-12-31" in listed.output
        assert "1 households would be erased" in listed.output and "Muster" not in listed.output
        with make_sessionmaker(engine)() as session:
            assert session.get(Household, old_id).erased_at is None
        erased = _run("retention")
        assert erased.exit_code == 0 and "1 households erased; 0 benefits" in erased.output
        with make_sessionmaker(engine)() as session:
            assert session.get(Household, old_id).family_name == ""
        assert "0 households would be erased" in _run("retention", "--dry-run").output
    finally:
        engine.dispose()
