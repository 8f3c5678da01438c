"""login lock: "Leave quickly" locks every log-in of the account until the password is typed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The log-in generation "Leave quickly" locked (login_generation is then one more): its
    # cookies load no user, but reopen with the password (server/web/auth.py).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_generation', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_generation')
