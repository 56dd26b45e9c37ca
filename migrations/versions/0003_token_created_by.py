"""token.created_by_id: which token minted which (token management rules)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 17:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_token_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_foreign_key('fk_token_created_by_id_token', 'token', ['created_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.drop_constraint('fk_token_created_by_id_token', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_token_created_by_id'))
        batch_op.drop_column('created_by_id')
