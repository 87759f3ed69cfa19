"""Settings from the environment, secrets made once into the instance folder."""

from __future__ import annotations

import stat

from youcard.config import load_settings, normalize_url


def test_embedded_defaults(tmp_path):
    settings = load_settings({"YOUCARD_INSTANCE_PATH": str(tmp_path / "inst")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'youcard.sqlite3'}"
    assert settings.is_sqlite
    key_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "inst").stat().st_mode) == 0o700
    assert settings.secret_key == key_file.read_text().strip()
    again = load_settings({"YOUCARD_INSTANCE_PATH": str(tmp_path / "inst")})
    assert again.secret_key == settings.secret_key


def test_environment_wins(tmp_path):
    settings = load_settings(
        {
            "YOUCARD_INSTANCE_PATH": str(tmp_path),
            "YOUCARD_DATABASE_URL": "postgresql://u@db/youcard",
            "YOUCARD_SECRET_KEY": "from-the-environment",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@db/youcard"
    assert settings.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_normalize_url():
    assert normalize_url("postgres://x/y") == "postgresql+psycopg://x/y"
    assert normalize_url("sqlite:///a.db") == "sqlite:///a.db"
