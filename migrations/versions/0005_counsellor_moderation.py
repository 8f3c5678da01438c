"""counsellor moderation: granted counsellors, invites, notes, the audit trail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counsellor_requested', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Until now anyone could sign up as a counsellor. Such accounts become requests an
    # administrator must grant (`mend counsellor grant EMAIL`); none had joined a session.
    op.execute("UPDATE users SET counsellor_requested = true, role = 'partner' "
               "WHERE role = 'counsellor'")
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_at', sa.DateTime(), nullable=True))

    op.create_table('counsellor_invites',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by_id', sa.String(length=32), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_counsellor_invites_created_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_counsellor_invites_session_id_sessions')),
    sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], name=op.f('fk_counsellor_invites_used_by_id_users')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_counsellor_invites'))
    )
    with op.batch_alter_table('counsellor_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counsellor_invites_session_id'), ['session_id'], unique=False)

    op.create_table('session_notes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.String(length=32), nullable=False),
    sa.Column('recipient_id', sa.String(length=32), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_session_notes_author_id_users')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_session_notes_recipient_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_notes_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_notes')),
    sa.UniqueConstraint('author_id', 'client_id', name=op.f('uq_session_notes_author_id_client_id'))
    )
    with op.batch_alter_table('session_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_notes_session_id'), ['session_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=32), nullable=True),
    sa.Column('actor_name', sa.String(length=60), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('step_id', sa.String(length=64), nullable=True),
    sa.Column('target_user_id', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_audit_events_session_id_sessions')),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_audit_events_target_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_session_id'))
    op.drop_table('audit_events')
    with op.batch_alter_table('session_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_notes_session_id'))
    op.drop_table('session_notes')
    with op.batch_alter_table('counsellor_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counsellor_invites_session_id'))
    op.drop_table('counsellor_invites')
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.drop_column('left_at')
    op.execute("UPDATE users SET role = 'counsellor' WHERE counsellor_requested = true")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('counsellor_requested')
