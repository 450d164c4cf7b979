"""A throwaway database on a PostgreSQL server, for the benches: making and dropping it, the
command line that names the server, loading it in a child process, and the COPY of units and
staff the benches share."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import multiprocessing
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg

UNIT_COLUMNS = [
    "id",
    "code",
    "name",
    "kind",
    "parent_id",
    "path",
    "is_internal",
    "is_legal_entity",
    "active",
    "created_at",
]
STAFF_COLUMNS = [
    "id",
    "username",
    "real_name",
    "mobile",
    "unit_id",
    "roles",
    "password_hash",
    "password_changed_at",
    "failed_logins",
    "active",
    "created_at",
]


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


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A new database beside the one ``args.database_url`` names, (its name, its URL), dropped
    at the end unless ``args.keep`` ("kept database URL" is printed then): the options
    ``parser`` makes."""
    name, url = await create_scratch(args.database_url, prefix)
    try:
        yield name, url
    finally:
        if args.keep:
            print(f"kept database {url}")
        else:
            await drop_scratch(args.database_url, name)


def parser(doc: str, sizes: dict[str, int], *, explain: bool = False) -> argparse.ArgumentParser:
    """--database-url (the server), an int option for each of ``sizes`` (name: default),
    --seed, --explain if asked for, and --keep."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgres://… of the server")
    for size, default in sizes.items():
        parser.add_argument(f"--{size}", type=int, default=default)
    parser.add_argument("--seed", type=int, default=20261123)
    if explain:
        parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser


async def in_child(load: Callable[..., Any], *args: Any) -> Any:
    """``load(*args)`` in a spawned child process (the loader's memory and imports are not this
    process's); ``load`` is a module-level function, its result picklable."""
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return await loop.run_in_executor(pool, load, *args)


async def copy_units(conn: asyncpg.Connection, units: Sequence[tuple]) -> None:
    """COPY rows of ``UNIT_COLUMNS`` into org_unit."""
    await conn.copy_records_to_table("org_unit", records=units, columns=UNIT_COLUMNS)


async def copy_city(conn: asyncpg.Connection, departments: range, now: dt.datetime) -> None:
    """COPY into org_unit the city government (id 1, code B1) and under it a department for
    each id of ``departments`` (code B<id>)."""
    units = [(1, "B1", "基准市人民政府", "city_gov", None, "/1/", False, True, True, now)]
    units += [
        (i, f"B{i}", f"基准单位{i}", "city_dept", 1, f"/1/{i}/", False, True, True, now)
        for i in departments
    ]
    await copy_units(conn, units)


async def copy_staff(conn: asyncpg.Connection, staff: Sequence[tuple]) -> None:
    """COPY rows of ``STAFF_COLUMNS`` into org_staff."""
    await conn.copy_records_to_table("org_staff", records=staff, columns=STAFF_COLUMNS)


async def reset_ids(conn: asyncpg.Connection, *tables: str) -> None:
    """Each table's id sequence moved past the ids COPY wrote."""
    for table in tables:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


@contextlib.asynccontextmanager
async def tortoise_on(url: str) -> AsyncIterator[None]:
    """Tortoise (the product's models, the global connection) open on ``url`` for the while."""
    from tortoise import Tortoise

    from infra.db import tortoise_config

    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()
