"""A PostgreSQL cluster of its own in a temporary folder, for the drills: started, crashed,
killed as a dead host would leave it, or made a streaming standby of another and promoted.
As the `postgres` user when run as root (PostgreSQL refuses root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (pg_ctl, initdb, pg_basebackup), if any."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent  # (/usr/local/bin may link pg_ctl alone)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def can_make_clusters() -> bool:
    """Whether this machine has the programs to make clusters (and, as root, runuser)."""
    return pg_bin() is not None and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One cluster: `Cluster(bindir)` makes an empty one (initdb); `Cluster(bindir,
    standby_of=primary)` copies a running primary with pg_basebackup as its streaming
    standby."""

    def __init__(self, bindir: Path, *, standby_of: Cluster | None = None) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="youcard-drill-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            os.chmod(self.folder, 0o700)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        if standby_of is None:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        else:  # a copy that follows the primary's WAL (standby.signal, primary_conninfo)
            self._run(
                "pg_basebackup",
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(standby_of.port),
                "-U",
                "postgres",
                "-X",
                "stream",
                "-R",
                "--no-sync",
            )
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"postgresql+psycopg://postgres@{self.host}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments, no shell
            [*self.as_user, str(self.bindir / tool), *args],
            capture_output=True,
            cwd=self.folder,
            check=False,
        )
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"{tool} failed ({done.returncode}): {said}")

    def start(self, **settings: str) -> None:
        """Start it with these settings (`synchronous_standby_names="'*'"`, ...), written to
        its configuration file, so that ALTER SYSTEM and a reload can change them later."""
        if settings:
            with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.folder}",
            "-c max_connections=80",
            "-c fsync=on",
            "-c wal_level=replica",
            "-c max_wal_senders=5",
            "-c hot_standby=on",
        ]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )

    def crash(self) -> None:
        """Stop at once, as a power cut would leave it: the next start recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def postmaster(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(pid_file.read_text().splitlines()[0])
        return None

    def kill(self) -> None:
        """The host dies: SIGKILL to the postmaster and to every process of the cluster at
        once (nothing gets to finish, nothing is flushed that was not)."""
        master = self.postmaster()
        if master is None:
            return
        victims = [master, *children_of(master)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def answers(self) -> bool:
        """Whether something accepts connections on its port."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def promote(self) -> None:
        """The standby becomes a primary (it takes writes)."""
        self._run("pg_ctl", "-D", str(self.data), "promote", "-w", "-t", "60")

    def remove(self) -> None:
        self.kill()
        time.sleep(0.2)
        with contextlib.suppress(RuntimeError):
            self.crash()
        shutil.rmtree(self.folder, ignore_errors=True)


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def multi_host_url(*clusters: Cluster, database: str = "postgres") -> str:
    """The apps' URL for a primary and its standbys: libpq tries the hosts in turn and takes
    the one that accepts writes (`target_session_attrs=read-write`)."""
    hosts = "&".join(f"host={cluster.host}" for cluster in clusters)
    return f"postgresql+psycopg://postgres@/{database}?{hosts}&target_session_attrs=read-write"
