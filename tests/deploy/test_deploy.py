"""deploy/: the systemd units pass `systemd-analyze verify` (paths pointed at this checkout),
the app units restart the whole group, the jobs run every minute; the nginx site passes
`nginx -t` (with a throw-away certificate); gunicorn's hook keeps a dead worker's metrics
out of the sums. Each tool's check is skipped where the tool is missing."""

from __future__ import annotations

import datetime
import http.client
import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service")) + sorted(DEPLOY.glob("*.timer"))


def _settings(unit: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in unit.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def test_the_apps_restart_as_a_group_and_the_jobs_run_every_minute():
    for app in ("issuer", "redeemer"):
        unit = _settings(DEPLOY / f"youcard-{app}.service")
        assert unit["KillMode"] == "control-group" and unit["Restart"] == "always"
        assert f"{app}:create_app()" in unit["ExecStart"]
        assert unit["EnvironmentFile"] == f"/etc/youcard/{app}.env"
    assert "YOUCARD_KEK" not in (DEPLOY / "redeemer.env.example").read_text()
    assert _settings(DEPLOY / "youcard-jobs.timer")["OnCalendar"] == "minutely"
    assert "jobs run --once" in _settings(DEPLOY / "youcard-jobs.service")["ExecStart"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    for unit in UNITS:
        text = unit.read_text().replace("/opt/youcard", str(ROOT))
        text = text.replace("User=youcard", "User=root").replace("Group=youcard", "Group=root")
        for app in ("issuer", "redeemer"):
            text = text.replace(f"/etc/youcard/{app}.env", str(DEPLOY / f"{app}.env.example"))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        [
            str(shutil.which("systemd-analyze")),
            "verify",
            "--man=no",
            *sorted(p.name for p in tmp_path.iterdir()),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def _certificate(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "youcard.stadt.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _nginx_site(tmp_path: Path, *, port: int = 443, plain_port: int = 80) -> Path:
    """The shipped site with a throw-away certificate, its include beside it and the ports
    given (IPv4 only): the nginx.conf to start or check it with."""
    _certificate(tmp_path)
    site = (
        (DEPLOY / "nginx" / "youcard.conf")
        .read_text()
        .replace("/etc/ssl/youcard", str(tmp_path))
        .replace("/etc/nginx/youcard-errors.conf", str(DEPLOY / "nginx" / "youcard-errors.conf"))
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl;")
        .replace("listen 80;", f"listen 127.0.0.1:{plain_port};")
    )
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    return tmp_path / "nginx.conf"


NGINX = shutil.which("nginx")


@pytest.mark.skipif(NGINX is None, reason="no nginx here")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    conf = _nginx_site(tmp_path)
    result = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "[warn]" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(NGINX is None, reason="no nginx here")
def test_what_nginx_refuses_itself_is_said_as_the_apps_say_it(tmp_path):
    """#27.4: a body over the limit, a URL or headers too long: problem+json under /api/,
    the German page for an upload elsewhere; never nginx's own page (no app runs behind:
    nginx answers before it would ask one)."""
    port = _free_port()
    conf = _nginx_site(tmp_path, port=port, plain_port=_free_port())
    subprocess.run([str(NGINX), "-p", str(tmp_path), "-c", str(conf)], check=True, timeout=60)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    def ask(method: str, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=context)
        try:
            connection.request(method, path, headers={"Host": "youcard.stadt.example", **headers})
            answer = connection.getresponse()
            return answer.status, answer.getheader("Content-Type") or "", answer.read().decode()
        finally:
            connection.close()

    try:
        too_big = {"Content-Length": str(70 * 2**20), "Content-Type": "text/csv"}
        status, kind, body = ask("POST", "/api/v1/imports", too_big)
        assert (status, kind) == (413, "application/problem+json")
        assert (
            json.loads(body)["code"] == "body_too_large" and "64 MB" in json.loads(body)["detail"]
        )
        status, kind, body = ask("POST", "/imports", too_big)
        assert status == 413 and kind.startswith("text/html") and "höchstens 64 MB" in body
        status, kind, body = ask("GET", "/api/v1/households?q=" + "a" * 20_000, {})
        assert (status, kind, json.loads(body)["code"]) == (
            414,
            "application/problem+json",
            "uri_too_long",
        )
        status, kind, body = ask("GET", "/api/v1/households", {"Cookie": "a=" + "b" * 20_000})
        assert (status, kind, json.loads(body)["code"]) == (
            431,
            "application/problem+json",
            "headers_too_large",
        )
    finally:
        subprocess.run(
            [str(NGINX), "-p", str(tmp_path), "-c", str(conf), "-s", "stop"],
            check=False,
            timeout=60,
        )


def test_gunicorn_forgets_the_metrics_of_a_worker_that_ended(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    config: dict[str, object] = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), config)  # noqa: S102
    assert config["timeout"] == 30 and config["accesslog"] is None

    class Worker:
        pid = 4242

    config["child_exit"](None, Worker())  # type: ignore[operator]
    assert not (tmp_path / "gauge_livesum_4242.db").exists()
