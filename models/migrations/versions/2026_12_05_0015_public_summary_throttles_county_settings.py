"""needs.public_summary: the summary written for charities (对外情况说明), the only text about
a need a charity reads before it accepts a referral; login_throttles: failed sign-ins counted
per typed username and client address; county_settings: what a county office decided for its
area (for now whether one person may create and approve the same referral).

Existing needs keep no summary (NULL); a charity then reads one built from the need's
structured fields, never the station's own text. Throttling starts empty: locks held in
users.locked_until are left to run out (that column is no longer read). No county has a
setting, so none allows self-approval: the rule the workflow always meant to keep.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_summary", sa.Text(), nullable=True))
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint(
            "username", "address", name=op.f("uq_login_throttles_username_address")
        ),
    )
    op.create_table(
        "county_settings",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("allows_self_approval", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"],
            name=op.f("fk_county_settings_region_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_county_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_county_settings")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("county_settings")
    op.drop_table("login_throttles")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("public_summary")
