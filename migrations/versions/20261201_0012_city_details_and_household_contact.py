"""The city's contact details (issuer settings for the card's back, letters, the "card
lost" page and messages) and a household's postal address, e-mail, phone and language;
who made the household's current access code; who blocked a card (a family's blocked
cards wait in the caseworkers' queue for a new one); search keys of households and children
("yilmaz" finds Yılmaz), filled here with a frozen copy of youcard.domain.search.fold.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SPECIAL = str.maketrans({"ı": "i", "İ": "i", "ß": "ss", "ẞ": "ss", "æ": "a", "ø": "o"})


def _fold(text: str) -> str:  # youcard.domain.search.fold as of this revision
    text = text.translate(_SPECIAL).lower()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    for spelled, plain in (("ae", "a"), ("oe", "o"), ("ue", "u")):
        text = text.replace(spelled, plain)
    return " ".join(text.split())


def _fill_search_keys() -> None:
    bind = op.get_bind()
    households = sa.table(
        "households", sa.column("id"), sa.column("reference"), sa.column("family_name"),
        sa.column("search_key"),
    )  # fmt: skip
    children = sa.table(
        "children", sa.column("id"), sa.column("given_name"), sa.column("family_name"),
        sa.column("search_key"),
    )  # fmt: skip
    for row in bind.execute(sa.select(households.c.id, households.c.reference,
                                      households.c.family_name)).all():  # fmt: skip
        bind.execute(
            households.update()
            .where(households.c.id == row.id)
            .values(search_key=_fold(f"{row.reference} {row.family_name}"))
        )
    for row in bind.execute(sa.select(children.c.id, children.c.given_name,
                                      children.c.family_name)).all():  # fmt: skip
        bind.execute(
            children.update()
            .where(children.c.id == row.id)
            .values(search_key=_fold(f"{row.given_name} {row.family_name}"))
        )


def upgrade() -> None:
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("office_street", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("office_postal_code", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("office_city", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("office_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("office_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("office_hours", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("family_url", sa.String(length=300), nullable=True))
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("street", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("postal_code", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), nullable=False, server_default="de")
        )
        batch_op.add_column(sa.Column("access_code_set_by", sa.String(length=100), nullable=True))
        batch_op.create_check_constraint(
            "language_known", "language IN ('de', 'en', 'tr', 'ar', 'uk', 'ru')"
        )

    for table, length in (("households", 300), ("children", 450)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_key", sa.String(length=length), nullable=False, server_default="")
            )
    _fill_search_keys()
    for table in ("households", "children"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("search_key", server_default=None)
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=100), nullable=True))
    # Cards families blocked before: their reason said so.
    op.execute(
        "UPDATE cards SET revoked_by = 'family:' || (SELECT household_id FROM children"
        " WHERE children.id = cards.child_id)"
        " WHERE revoke_reason = 'lost (reported by the family)'"
    )


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("revoked_by")
    for table in ("households", "children"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_key")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint("language_known", type_="check")
        for column in ("access_code_set_by", "language", "phone", "email", "city", "postal_code",
                       "street"):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        for column in ("family_url", "office_hours", "office_email", "office_phone",
                       "office_city", "office_postal_code", "office_street", "office_name"):  # fmt: skip
            batch_op.drop_column(column)
