"""dashboard date range

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:31:05.402117
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: each tile keeps its own range, which is what every existing dashboard did.
    with op.batch_alter_table("dashboards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_range", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dashboards", schema=None) as batch_op:
        batch_op.drop_column("date_range")
