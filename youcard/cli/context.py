"""What every `youcard` command gets: the settings and the engine, made once per command,
and failures said in one line of words (never a traceback)."""

from __future__ import annotations

from typing import Any

import click
from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from youcard.config import Settings, load_settings
from youcard.db import make_engine
from youcard.errors import DomainError, from_integrity_error


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


def unreachable(error: OperationalError) -> str:
    """What an operator reads when the database does not answer: the driver's first line
    (host and port, never the password: libpq does not print it) and what to check."""
    first = str(getattr(error, "orig", None) or error).strip().splitlines()
    said = first[0] if first else type(error).__name__
    return f"The database cannot be reached ({said}). Check YOUCARD_DATABASE_URL."


issuer_option = click.option(  # every command that acts for one issuer
    "--issuer",
    "issuer_id",
    required=True,
    help="The issuer's id, e.g. DE-NW-HAMM (`youcard issuer list`).",
)
ISSUER_HINT = " `youcard issuer list` shows the issuers; `youcard issuer create` makes one."


class OneLineErrors(click.Group):
    """The `youcard` group: a refusal, a missing key-encryption key or a database that does
    not answer ends the command with one line on stderr and exit 1, as click's own usage
    errors do; anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; known failures become one line."""
        try:
            return super().invoke(ctx)
        except DomainError as error:
            hint = ISSUER_HINT if error.code == "issuer_not_found" else ""
            raise click.ClickException(error.message + hint) from None
        except OperationalError as error:
            raise click.ClickException(unreachable(error)) from None
        except IntegrityError as error:
            raise click.ClickException(from_integrity_error(error).message) from None
        except InvalidTag:
            raise click.ClickException(
                "YOUCARD_KEK does not open this issuer's signing key: it is not the"
                " key-encryption key this database was set up with."
            ) from None
