"""document_segment: pieces appended to an append-only document since its base was written

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:30:00

Existing append-only documents keep their whole body in the `document` row (their base); the
first append after the upgrade computes the base's MD5 state once.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'document_segment',
        sa.Column('ecosystem', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('serial', sa.BigInteger(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('md5_state', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('ecosystem', 'key', 'serial'),
    )


def downgrade() -> None:
    # fold the segments back into their documents' bodies, as the code before 0007 expects
    bind = op.get_bind()
    segments = bind.execute(sa.text(
        "SELECT ecosystem, key, body, etag, serial FROM document_segment ORDER BY ecosystem, key, serial")).fetchall()
    folded: dict[tuple[str, str], tuple[bytes, str, int]] = {}
    for ecosystem, key, body, etag, serial in segments:
        tail, _, _ = folded.get((ecosystem, key), (b"", "", 0))
        folded[(ecosystem, key)] = (tail + bytes(body), etag, serial)
    for (ecosystem, key), (tail, etag, serial) in folded.items():
        row = bind.execute(sa.text("SELECT body FROM document WHERE ecosystem = :e AND key = :k"), {"e": ecosystem, "k": key}).first()
        if row is not None and tail:
            bind.execute(sa.text("UPDATE document SET body = :b, etag = :t, serial = :s WHERE ecosystem = :e AND key = :k"),
                         {"b": bytes(row[0]) + tail, "t": etag, "s": serial, "e": ecosystem, "k": key})
    op.drop_table('document_segment')
