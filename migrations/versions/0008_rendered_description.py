"""rendered descriptions: package descriptions kept as HTML when published

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rendered_description',
        sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )


def downgrade() -> None:
    op.drop_table('rendered_description')
