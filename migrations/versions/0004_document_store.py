"""document store: etag, media type, kind, visibility and serial of every stored document

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:40:00

Existing rows get empty validators; `packyard serve` re-renders every adapter's documents when the
adapter's document format changed (`ProtocolAdapter.documents_format`), which fills them.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=300),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=1000), existing_nullable=False)
        batch_op.add_column(sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='internal'))
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('serial', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('serial')
        batch_op.drop_column('public')
        batch_op.drop_column('kind')
        batch_op.drop_column('media_type')
        batch_op.drop_column('etag')
        batch_op.alter_column('key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=1000),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=300), existing_nullable=False)
