"""The README's production path works as written (issue 27): its file steps run in a scratch
root, and every file, unit and command it names exists."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from click.testing import CliRunner

from youcard.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _steps() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("A new server, step by step", 1)[1].split("```sh\n", 1)[1]
    block = block.split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_file_steps_run_in_a_scratch_root(tmp_path):
    ran = 0
    for line in _steps():
        command = line.split("#", 1)[0].strip()
        if not command.startswith("install "):
            continue
        words = shlex.split(command)
        kept = []
        skip = False
        for word in words:  # owners need the youcard account, which this machine lacks
            if skip:
                skip = False
                continue
            if word in ("-o", "-g"):
                skip = True
                continue
            kept.append(str(tmp_path) + word if word.startswith(("/etc/", "/var/")) else word)
        subprocess.run(kept, cwd=ROOT, check=True)
        ran += 1
    assert ran >= 4
    assert (tmp_path / "etc/youcard/issuer.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "etc/youcard").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "var/lib/youcard/backups").is_dir()


def test_every_file_unit_and_command_it_names_exists():
    text = "\n".join(_steps())
    for path in re.findall(r"\bdeploy/[\w./*-]+", text):
        assert list(ROOT.glob(path)), path
    enabled = re.search(r"systemctl enable --now (.+)", text)
    assert enabled is not None
    for unit in enabled.group(1).split():
        name = unit if "." in unit else f"{unit}.service"
        assert (ROOT / "deploy" / name).exists(), name
    for used in re.findall(r"\.venv/bin/youcard ([a-z-]+(?: [a-z-]+)?)", text):
        helped = CliRunner().invoke(main, [*used.split(), "--help"])
        assert helped.exit_code == 0, used
    backup = (ROOT / "deploy/youcard-backup.service").read_text()
    assert "EnvironmentFile=/etc/youcard/issuer.env" in backup and "youcard backup" in backup


def test_the_replication_files_agree_with_each_other_and_the_readme():
    """The standby's name is the one the primary waits for; the commit waits for the standby's
    flush; Patroni never acknowledges a write without one and promotes only a standby with
    everything; the README's replication steps name files that exist and a drill that runs."""
    import yaml

    def settings(name: str) -> dict[str, str]:
        found = {}
        for line in (ROOT / "deploy" / "postgresql" / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                found[key] = value.strip("'")
        return found

    primary, standby = settings("primary.conf"), settings("standby.conf")
    assert primary["synchronous_commit"] == "on" and primary["wal_level"] == "replica"
    assert f"({standby['cluster_name']})" in primary["synchronous_standby_names"]
    patroni = yaml.safe_load((ROOT / "deploy" / "patroni" / "youcard.yml").read_text())
    dcs = patroni["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True and dcs["synchronous_mode_strict"] is True
    assert dcs["maximum_lag_on_failover"] == 0
    assert dcs["postgresql"]["parameters"]["synchronous_commit"] == "on"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    part = readme.split("### Replication and failover", 1)[1].split("\n## ", 1)[0]
    for path in re.findall(r"\bdeploy/[\w./*-]+\w", part):
        assert (ROOT / path).exists(), path
    assert "target_session_attrs=read-write" in part
    helped = CliRunner().invoke(main, ["drill", "failover", "--help"])
    assert helped.exit_code == 0 and "--kill" in helped.output
