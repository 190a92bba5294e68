"""members.birth_on encrypted, with the birth year in clear; ID numbers masked to the county.

A clear date of birth beside a masked ID number gave the number back: the date is now
encrypted with ``DATA_KEY`` (like the ID number) and only the year stays in clear. Masks
become the first six digits and stars, so nothing shown narrows a number below 365 × 500.

Existing rows need ``DATA_KEY`` (``flask db upgrade`` passes the app's; otherwise the
environment variable): their dates are encrypted and their ID numbers masked again. The
downgrade decrypts them back.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

members = sa.table(
    "members",
    sa.column("id", sa.Integer),
    sa.column("birth_on", sa.Date),
    sa.column("birth_on_encrypted", sa.LargeBinary),
    sa.column("birth_year", sa.Integer),
    sa.column("id_number_encrypted", sa.LargeBinary),
    sa.column("id_number_masked", sa.String),
)


def _fernet() -> Fernet:
    key = context.config.attributes.get("data_key") or os.environ.get("DATA_KEY")
    if not key:
        raise RuntimeError(
            "迁移 0014 需要 DATA_KEY 来加密已登记的出生日期：请设置环境变量 DATA_KEY "
            "或用 flask db upgrade 运行。"
        )
    return Fernet(key.encode() if isinstance(key, str) else key)


def _id_number(fernet: Fernet, token: bytes | None) -> str | None:
    return None if token is None else fernet.decrypt(token).decode("utf-8")


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_on_encrypted", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(members.c.id, members.c.birth_on, members.c.id_number_encrypted).where(
            sa.or_(members.c.birth_on.is_not(None), members.c.id_number_encrypted.is_not(None))
        )
    ).all()
    if rows:
        fernet = _fernet()
        for row in rows:
            number = _id_number(fernet, row.id_number_encrypted)
            values: dict[str, object] = {}
            if row.birth_on is not None:
                values["birth_year"] = row.birth_on.year
                values["birth_on_encrypted"] = fernet.encrypt(row.birth_on.isoformat().encode())
            if number is not None:
                values["id_number_masked"] = number[:6] + "*" * (len(number) - 6)
            conn.execute(sa.update(members).where(members.c.id == row.id).values(**values))

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("birth_on")


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_on", sa.Date(), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            members.c.id, members.c.birth_on_encrypted, members.c.id_number_encrypted
        ).where(
            sa.or_(
                members.c.birth_on_encrypted.is_not(None),
                members.c.id_number_encrypted.is_not(None),
            )
        )
    ).all()
    if rows:
        fernet = _fernet()
        for row in rows:
            number = _id_number(fernet, row.id_number_encrypted)
            values: dict[str, object] = {}
            if row.birth_on_encrypted is not None:
                born = fernet.decrypt(row.birth_on_encrypted).decode()
                values["birth_on"] = dt.date.fromisoformat(born)
            if number is not None:
                values["id_number_masked"] = number[:4] + "*" * (len(number) - 8) + number[-4:]
            conn.execute(sa.update(members).where(members.c.id == row.id).values(**values))

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("birth_year")
        batch_op.drop_column("birth_on_encrypted")
