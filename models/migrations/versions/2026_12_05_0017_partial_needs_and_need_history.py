"""Partial help keeps a need open: needs.delivered_fen, the status 部分满足 (partial), and
need_events, the history of every status change with its reason. Households are found by
phone: households.phone_hash, a keyed hash of the phone's digits (blind index).

Existing needs take as delivered what their completed referrals delivered. A need marked
fulfilled by a referral that delivered less than its gap stays fulfilled: nobody asked for
more at the time, and a station may reopen it. Downgrading turns partial needs back into
open ones (the status the old code gave a need still waiting for help).

Existing phones are indexed with the instance's ``DATA_KEY`` (``flask db upgrade`` passes it;
otherwise the ``DATA_KEY`` environment variable): each is decrypted once, here, to take its
hash, exactly as the service does for a phone it stores.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet

import models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OLD_STATUSES = ("open", "referred", "in_service", "fulfilled", "closed")
NEW_STATUSES = ("open", "referred", "in_service", "partial", "fulfilled", "closed")


def _status_type(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="needstatus", native_enum=False, create_constraint=True, length=32
    )


needs = sa.table(
    "needs", sa.column("id", sa.Integer), sa.column("status", sa.String),
    sa.column("delivered_fen", sa.BigInteger),
)  # fmt: skip
referrals = sa.table(
    "referrals", sa.column("need_id", sa.Integer), sa.column("status", sa.String),
    sa.column("delivered_amount_fen", sa.BigInteger),
)  # fmt: skip


households = sa.table(
    "households", sa.column("id", sa.Integer), sa.column("phone_encrypted", sa.LargeBinary),
    sa.column("phone_hash", sa.String),
)  # fmt: skip


def _phone_hasher() -> tuple[Fernet, bytes]:
    key = context.config.attributes.get("data_key") or os.environ.get("DATA_KEY")
    if not key:
        raise RuntimeError("indexing households' phones needs DATA_KEY (run flask db upgrade)")
    raw = key.encode() if isinstance(key, str) else key
    # As web.services.crypto.PersonalDataCipher derives its look-up key from the data key.
    return Fernet(raw), hashlib.sha256(b"cishan-lookup-hash:" + base64.urlsafe_b64decode(raw)).digest()


def _phone_digits(phone: str) -> str:
    # As web.services.crypto.normalize_phone.
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _index_phones() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(households.c.id, households.c.phone_encrypted).where(
            households.c.phone_encrypted.is_not(None)
        )
    ).all()
    if not rows:
        return
    fernet, hash_key = _phone_hasher()
    for id_, token in rows:
        digits = _phone_digits(fernet.decrypt(token).decode("utf-8"))
        digest = hmac.new(hash_key, digits.upper().encode("utf-8"), hashlib.sha256).hexdigest()
        conn.execute(
            sa.update(households).where(households.c.id == id_).values(phone_hash=digest)
        )


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_households_phone_hash"), ["phone_hash"], unique=False)
    _index_phones()

    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivered_fen", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.alter_column(
            "status",
            existing_type=_status_type(OLD_STATUSES),
            type_=_status_type(NEW_STATUSES),
            existing_nullable=False,
        )
    delivered = (
        sa.select(sa.func.coalesce(sa.func.sum(referrals.c.delivered_amount_fen), 0))
        .where(referrals.c.need_id == needs.c.id, referrals.c.status == "completed")
        .scalar_subquery()
    )
    op.execute(sa.update(needs).values(delivered_fen=delivered))

    op.create_table(
        "need_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_need_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_need_events_need_id_needs"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_events")),
    )
    with op.batch_alter_table("need_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_events_need_id"), ["need_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_phone_hash"))
        batch_op.drop_column("phone_hash")
    with op.batch_alter_table("need_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_events_need_id"))
    op.drop_table("need_events")
    op.execute(sa.update(needs).where(needs.c.status == "partial").values(status="open"))
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=_status_type(NEW_STATUSES),
            type_=_status_type(OLD_STATUSES),
            existing_nullable=False,
        )
        batch_op.drop_column("delivered_fen")
