"""Tortoise ORM: configuration, start and stop, and migrations (the only way the schema changes)."""

from __future__ import annotations

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
]


def tortoise_config(database_url: str) -> dict:
    return {
        "connections": {"default": database_url},
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


async def open_db(settings: Settings) -> None:
    _ensure_sqlite_dir(settings.database_url)
    # The global fallback lets the serving tasks see the context opened in before_serving.
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate_db(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api.migrate import migrate

    _ensure_sqlite_dir(database_url)
    async with TortoiseContext():
        await migrate(config=tortoise_config(database_url))


async def ping_db() -> bool:
    try:
        conn = Tortoise.get_connection("default")
        await conn.execute_query("SELECT 1")
        return True
    except Exception:
        log.warning("database ping failed", exc_info=True)
        return False


def _cli_config() -> dict:
    from infra.settings import Settings

    return tortoise_config(Settings().database_url)


# For Tortoise's own CLI (`tortoise makemigrations`), named in pyproject's [tool.tortoise].
TORTOISE_ORM = _cli_config()
