"""Tortoise ORM: configuration, start and stop, and migrations (the only way the schema changes)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from tortoise import Tortoise
from tortoise.context import TortoiseContext

from infra.settings import Settings

log = logging.getLogger(__name__)

APP = "minsheng"
# Every package's models live in the one Tortoise app so that foreign keys across packages are
# plain "minsheng.Model" references and one migration history covers the schema.
MODEL_MODULES = [
    "infra.models",
    "org.models",
    "accounts.models",
    "knowledge.models",
    "letters.models",
    "publishing.models",
    "supervision.models",
]


def tortoise_config(
    database_url: str,
    *,
    connect_timeout: float | None = None,
    command_timeout: float | None = None,
) -> dict:
    """The Tortoise config. On PostgreSQL the timeouts bound opening a connection and each
    statement (asyncpg's defaults: 60 s and none), so that an unreachable or hung server fails
    a request quickly (503) instead of holding it."""
    connection: str | dict = database_url
    if database_url.startswith(("postgres://", "postgresql://", "asyncpg://")) and (
        connect_timeout or command_timeout
    ):
        from tortoise.backends.base.config_generator import expand_db_url

        connection = expand_db_url(database_url)
        if connect_timeout:
            connection["credentials"]["timeout"] = connect_timeout
        if command_timeout:
            connection["credentials"]["command_timeout"] = command_timeout
    return {
        "connections": {"default": connection},
        "apps": {
            APP: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "infra.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


async def open_db(settings: Settings, *, command_timeout: float | None = None) -> None:
    """Open the database for serving; the worker passes its longer ``command_timeout``."""
    _ensure_sqlite_dir(settings.database_url)
    config = tortoise_config(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        command_timeout=command_timeout or settings.database_command_timeout_seconds,
    )
    # The global fallback lets the serving tasks see the context opened in before_serving.
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate_db(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api.migrate import migrate

    _ensure_sqlite_dir(database_url)
    async with TortoiseContext():
        await migrate(config=tortoise_config(database_url))


async def ping_db(timeout: float = 2.0) -> bool:
    try:
        conn = Tortoise.get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), timeout)
        return True
    except Exception as err:  # noqa: BLE001 - health check reports, never raises
        log.warning("database ping failed: %s", type(err).__name__)
        return False


def _cli_config() -> dict:
    from infra.settings import Settings

    return tortoise_config(Settings().database_url)


# For Tortoise's own CLI (`tortoise makemigrations`), named in pyproject's [tool.tortoise].
TORTOISE_ORM = _cli_config()
