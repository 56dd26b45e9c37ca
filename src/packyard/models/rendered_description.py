from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel


class RenderedDescription(SQLModel, table=True):
    """A package description as the safe HTML a page shows (`services/descriptions.py`), rendered
    when a version carrying it was published, by the SHA-256 of its content type and text."""

    __tablename__ = "rendered_description"

    digest: str = Field(primary_key=True, max_length=64)
    html: str = Field(sa_column=Column(sa.Text(), nullable=False))
