from __future__ import annotations

from sqlmodel import Field, SQLModel


class StoredSetting(SQLModel, table=True):
    """Small key/value state that every worker must see (e.g. the test clock)."""

    __tablename__ = "stored_setting"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=10000)
