"""A throwaway database on a PostgreSQL server, for the benches."""

from __future__ import annotations

import uuid

import asyncpg


def pg_dsn(url: str) -> str:
    """Tortoise's postgres:// URL as asyncpg wants it."""
    return url.replace("postgres://", "postgresql://", 1)


async def create_scratch(server: str, prefix: str) -> tuple[str, str]:
    """A new empty database beside the one ``server`` names: (its name, its URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    root, _, _ = server.rpartition("/")
    admin = await asyncpg.connect(pg_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, f"{root}/{name}"


async def drop_scratch(server: str, name: str) -> None:
    admin = await asyncpg.connect(pg_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
