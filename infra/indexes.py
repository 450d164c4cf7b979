"""A partial index on any condition: Tortoise's own PartialIndex only writes ``column = value``."""

from __future__ import annotations

from typing import Any

from tortoise.indexes import Index


class WhereIndex(Index):
    """``CREATE INDEX … WHERE <where>``: ``where`` is SQL that PostgreSQL and SQLite both read.

    A query uses the index only when its own WHERE implies this condition, so write the
    condition the way the query filters (same columns, same values)."""

    def __init__(self, *, fields: tuple[str, ...] | list[str], where: str, name: str) -> None:
        super().__init__(fields=fields, name=name)
        self.where = where
        self.extra = f" WHERE {where}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["where"] = self.where
        return path, args, kwargs
