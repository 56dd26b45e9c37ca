"""upstream proxy: reserved names, fetch records, cached upstream pages, fetch claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import packyard.models.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reserved_name',
    sa.Column('ecosystem', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('normalized_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('reserved_at', packyard.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reserved_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('ecosystem', 'normalized_name')
    )
    op.create_table('upstream_fetch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ecosystem', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('package', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('upstream_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('at', packyard.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upstream_fetch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upstream_fetch_ecosystem'), ['ecosystem'], unique=False)
        batch_op.create_index(batch_op.f('ix_upstream_fetch_package'), ['package'], unique=False)
        batch_op.create_index(batch_op.f('ix_upstream_fetch_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_upstream_fetch_at'), ['at'], unique=False)
    op.create_table('upstream_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ecosystem', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('fetched_at', packyard.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', packyard.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ecosystem', 'key', name='uq_upstream_page_ecosystem_key')
    )
    op.create_table('upstream_claim',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('claimed_at', packyard.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    op.drop_table('upstream_claim')
    op.drop_table('upstream_page')
    with op.batch_alter_table('upstream_fetch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upstream_fetch_at'))
        batch_op.drop_index(batch_op.f('ix_upstream_fetch_sha256'))
        batch_op.drop_index(batch_op.f('ix_upstream_fetch_package'))
        batch_op.drop_index(batch_op.f('ix_upstream_fetch_ecosystem'))
    op.drop_table('upstream_fetch')
    op.drop_table('reserved_name')
