"""What every `youcard` command gets: the settings and the engine, made once per command."""

from __future__ import annotations

import click
from sqlalchemy.engine import Engine

from youcard.config import Settings, load_settings
from youcard.db import make_engine


class Context:
    """Settings and engine, made once per command."""

    def __init__(self) -> None:
        self.settings: Settings = load_settings()
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The database engine of the configured URL."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine


pass_context = click.make_pass_decorator(Context, ensure=True)
