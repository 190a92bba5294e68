"""The referral workflow: reasons, deadlines, service episodes, notifications, 双向转介,
and the money a project holds for approved referrals.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "back_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("aid_types", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "handled",
                name="backreferralstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_back_referrals_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["users.id"], name=op.f("fk_back_referrals_handled_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_back_referrals_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_back_referrals_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_back_referrals_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_referrals")),
    )
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_back_referrals_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_back_referrals_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_back_referrals_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_back_referrals_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_back_referrals_status"), ["status"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("link", sa.String(length=255), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_notifications_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_user_id_read_at", ["user_id", "read_at"], unique=False
        )

    op.create_table(
        "service_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "visiting_care",
                "psychological_comfort",
                "rehabilitation",
                "capacity_building",
                "school_aid",
                "medical_aid",
                "day_care",
                "housing_repair",
                "job_training",
                "goods_delivery",
                "emergency_relief",
                name="servicetype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_service_episodes_quantity_positive")),
        sa.CheckConstraint("value_fen >= 0", name=op.f("ck_service_episodes_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_service_episodes_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_service_episodes_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_episodes")),
    )
    with op.batch_alter_table("service_episodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_episodes_referral_id"), ["referral_id"], unique=False
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reserved_fen", sa.BigInteger(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delivered_service", sa.Text(), nullable=True))
        # Added with its reference inline: SQLite can then ALTER instead of copying the table.
        batch_op.add_column(
            sa.Column(
                "approved_by_id",
                sa.Integer(),
                sa.ForeignKey("users.id", name=op.f("fk_referrals_approved_by_id_users")),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("due_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("overdue_flagged_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_referrals_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_due_at"))
        batch_op.drop_column("overdue_flagged_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("delivered_service")
        batch_op.drop_column("status_reason")

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("reserved_fen")

    with op.batch_alter_table("service_episodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_episodes_referral_id"))

    op.drop_table("service_episodes")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_read_at")

    op.drop_table("notifications")
    with op.batch_alter_table("back_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_back_referrals_status"))
        batch_op.drop_index(batch_op.f("ix_back_referrals_region_code"))
        batch_op.drop_index(batch_op.f("ix_back_referrals_referral_id"))
        batch_op.drop_index(batch_op.f("ix_back_referrals_organization_id"))
        batch_op.drop_index(batch_op.f("ix_back_referrals_household_id"))

    op.drop_table("back_referrals")
