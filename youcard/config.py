"""Settings from the environment, with safe defaults for the embedded (SQLite) mode.

Secrets that are not given in the environment are generated once into the
instance folder with mode 0600; they are never committed and never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "YOUCARD_"


@dataclass(frozen=True)
class Settings:
    """Everything the core needs to know about its deployment."""

    instance_path: Path
    database_url: str
    secret_key: str = ""

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite database."""
        return self.database_url.startswith("sqlite")


def instance_secret(instance_path: Path, name: str, *, nbytes: int = 32) -> str:
    """Read the secret `name` from the instance folder, creating it (mode 0600) on first use."""
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance_path / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from `YOUCARD_*` variables (default: the process environment)."""
    env = os.environ if env is None else env
    instance_path = Path(env.get(f"{ENV_PREFIX}INSTANCE_PATH") or Path.cwd() / "instance")
    instance_path = instance_path.resolve()
    database_url = env.get(f"{ENV_PREFIX}DATABASE_URL") or (
        f"sqlite:///{instance_path / 'youcard.sqlite3'}"
    )
    if database_url.startswith("sqlite"):
        # The embedded database holds children's data: only the owner may read the folder.
        instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_key = env.get(f"{ENV_PREFIX}SECRET_KEY") or instance_secret(instance_path, "secret_key")
    return Settings(
        instance_path=instance_path, database_url=normalize_url(database_url), secret_key=secret_key
    )


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def limits_storage(url: str | None) -> str:
    """Flask-Limiter's storage for YOUCARD_REDIS_URL, a URL as redis-py reads it: the
    limits package calls a Unix socket (`unix:///run/redis/redis-server.sock`, for a Redis
    on the same host) `redis+unix://` (given as it was, neither service started)."""
    if not url:
        return "memory://"
    return "redis+" + url if url.startswith("unix://") else url
