"""The second eligibility language: sexes, disability types, named conditions, child statuses
and household situations on projects; conditions and child status on members; situations on
households.

Every existing project gets empty lists, which restrict nothing, so it admits exactly whom it
admitted. Existing members get no recorded conditions (NULL, not an empty list): until a
station confirms them, the matcher reads their illness text mapped to the condition catalogue.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PROJECT_LISTS = ("sexes", "disability_types", "conditions", "child_statuses",
                 "household_situations")  # fmt: skip
CHILD_STATUSES = ("orphan", "de_facto_orphan", "left_behind", "in_difficulty")


def _fill_empty(table: str, columns: tuple[str, ...]) -> None:
    # JSON lists are NOT NULL: add them nullable, write [] into every row, then tighten.
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(sa.Column(column, sa.JSON(), nullable=True))
    target = sa.table(table, *(sa.column(c, sa.JSON) for c in columns))
    op.get_bind().execute(sa.update(target).values({c: [] for c in columns}))
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.alter_column(column, existing_type=sa.JSON(), nullable=False)


def upgrade() -> None:
    _fill_empty("projects", PROJECT_LISTS)
    _fill_empty("households", ("situations",))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conditions", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "child_status",
                sa.Enum(*CHILD_STATUSES, name="childstatus", native_enum=False,
                        create_constraint=True, length=32),
                nullable=True,
            )
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_members_childstatus"), type_="check")
        batch_op.drop_column("child_status")
        batch_op.drop_column("conditions")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("situations")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        for column in reversed(PROJECT_LISTS):
            batch_op.drop_column(column)
