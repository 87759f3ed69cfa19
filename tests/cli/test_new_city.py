"""A city starts from an empty database (docs/operations.md "Starting a city"): `db upgrade`,
`issuer create`, `staff create --role admin`; the administrator signs in, chooses a
password and sets the office's details. Every failure on the way is one line of words."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import issuer
from tests.cli.test_cli import env  # noqa: F401  (the fixture: SQLite and PostgreSQL)
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.cli import main
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.models import Issuer, SigningKey

NEW_PASSWORD = "Lippe-Auen-Radweg-im-Herbst"


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _one_line_error(result) -> str:
    """The error a command ended with: exit 1, no traceback, one line."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_city_starts_from_an_empty_database(env, monkeypatch):  # noqa: F811
    assert _run("db", "upgrade").exit_code == 0
    assert "No issuers yet" in _run("issuer", "list").output
    no_issuer = _run(
        "staff", "create", "anna", "--role", "admin", "--name", "A", "--issuer", "DE-NW-SOEST"
    )
    assert "No such issuer" in _one_line_error(no_issuer)
    assert "issuer create" in no_issuer.output  # it says what to do
    assert "No such issuer" in _one_line_error(_run("keys", "rotate", "DE-NW-SOEST"))

    made = _run("issuer", "create", "DE-NW-SOEST", "--name", "Stadt Soest")
    assert made.exit_code == 0, made.output
    assert "DE-NW-SOEST" in made.output and "staff create" in made.output
    taken = _run("issuer", "create", "DE-NW-SOEST", "--name", "Noch einmal")
    assert "already taken" in _one_line_error(taken)
    bad_id = _run("issuer", "create", "soest", "--name", "Stadt Soest")
    assert "DE-NW-HAMM" in _one_line_error(bad_id)
    bad_name = _run("issuer", "create", "DE-NW-XX", "--name", "=HYPERLINK(1)")
    assert "may not begin" in _one_line_error(bad_name)

    admin = _run(
        "staff", "create", "bkoch", "--role", "admin", "--name", "Birgit Koch",
        "--issuer", "DE-NW-SOEST",
    )  # fmt: skip
    assert admin.exit_code == 0, admin.output
    one_time = admin.output.split(": ")[-1].strip()
    listed = _run("issuer", "list").output
    assert "DE-NW-SOEST" in listed and "Stadt Soest" in listed
    assert "1 administrator(s)" in listed and "no active key" not in listed
    assert _run("keys", "rotate", "DE-NW-SOEST").exit_code == 0

    engine = make_engine(env["url"])
    try:
        with make_sessionmaker(engine)() as session:
            assert session.get(Issuer, "DE-NW-SOEST").name == "Stadt Soest"
            assert len(session.query(SigningKey).filter_by(issuer_id="DE-NW-SOEST").all()) == 2
    finally:
        engine.dispose()

    # The first administrator signs in, chooses a password and sets the office's details.
    app = issuer.create_app(
        {"DATABASE_URL": env["url"], "TESTING": True, "RATELIMIT_ENABLED": False}
    )
    client = app.test_client()
    signed_in = client.post(
        "/login",
        data={"username": "bkoch", "password": one_time, "csrf_token": _csrf(client)},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert signed_in.status_code in (302, 303)
    assert "/account/password" in client.get("/admin/office", base_url=HTTPS).headers["Location"]
    changed = client.post(
        "/account/password",
        data={
            "current": one_time, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD,
            "csrf_token": _csrf(client, "/account/password"),
        },
        base_url=HTTPS, headers=SAME_ORIGIN,
    )  # fmt: skip
    assert changed.status_code == 303, changed.get_data(as_text=True)
    office = {
        "name": "Bürgerbüro Soest", "street": "Am Vreithof 8", "postal_code": "59494",
        "city": "Soest", "phone": "02921 1030", "email": "but@soest.example",
        "hours": "Mo–Fr 8–12 Uhr", "family_url": "https://karte.soest.example",
    }  # fmt: skip
    saved = client.post(
        "/admin/office",
        data={**office, "csrf_token": _csrf(client, "/admin/office")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)
    assert "Am Vreithof 8" in client.get("/admin/office", base_url=HTTPS).get_data(as_text=True)


def test_without_a_key_encryption_key_on_postgresql_it_says_so_in_one_line(env, monkeypatch):  # noqa: F811
    if not env["url"].startswith("postgresql"):
        pytest.skip("the embedded mode makes its own key-encryption key")
    monkeypatch.delenv("YOUCARD_KEK")
    assert _run("db", "upgrade").exit_code == 0
    for args in (("issuer", "create", "DE-NW-SOEST", "--name", "Stadt Soest"), ("demo",)):
        assert "YOUCARD_KEK is not set" in _one_line_error(_run(*args))


def test_a_database_that_cannot_be_reached_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_DATABASE_URL", "postgresql://postgres:s3cret@127.0.0.1:9/none")
    for args in (
        ("db", "upgrade"),
        ("staff", "list", "--issuer", "DE-NW-HAMM"),
        ("issuer", "list"),
    ):
        said = _one_line_error(_run(*args))
        assert "cannot be reached" in said and "s3cret" not in said


def test_the_nightly_backup_writes_a_dump_that_restores_and_keeps_14_days(env, tmp_path):  # noqa: F811
    import os
    import shutil
    import subprocess
    import time

    if not env["url"].startswith("postgresql"):
        assert "needs PostgreSQL" in _one_line_error(_run("backup", "--into", str(tmp_path)))
        return
    if shutil.which("pg_restore") is None:
        pytest.skip("postgresql-client is not installed")
    assert _run("db", "upgrade").exit_code == 0
    assert _run("issuer", "create", "DE-NW-SOEST", "--name", "Stadt Soest").exit_code == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    stale = folder / "youcard-20200101-023000.dump"
    stale.write_bytes(b"old")
    old = time.time() - 15 * 86_400
    os.utime(stale, (old, old))
    made = _run("backup", "--into", str(folder))
    assert made.exit_code == 0, made.output
    assert "1 older dump(s) deleted" in made.output and not stale.exists()
    (dump,) = folder.glob("youcard-*.dump")
    listing = subprocess.run(
        [shutil.which("pg_restore"), "--list", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TABLE DATA public issuers" in listing and "TABLE DATA public bookings" in listing
    assert "s3cret" not in made.output


def test_the_demo_says_its_issuer_id(env):  # noqa: F811
    shown = _run("demo")
    assert shown.exit_code == 0 and "Issuer id: DE-NW-HAMM" in shown.output
