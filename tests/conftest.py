"""Fixtures: a migrated database on SQLite and PostgreSQL, Redis real and in-process, the app.

``TEST_DATABASE_URL`` (postgres://…) and ``TEST_REDIS_URL`` name real servers. Without them the
PostgreSQL / real-Redis variants skip with a message saying what to install, except when
``CI=true``, where they fail: CI must never pass by skipping.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid

import fakeredis
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from infra.clock import FixedClock
from infra.db import migrate_db, tortoise_config
from infra.deps import build_deps
from infra.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
START = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai


def need_server(what: str, env: str, hint: str) -> str:
    value = os.environ.get(env, "")
    if value:
        return value
    message = f"{what} not available: set {env} ({hint})"
    if IN_CI:
        pytest.fail(message + " - CI must run every test", pytrace=False)
    pytest.skip(message)


@functools.lru_cache(maxsize=16)
def _hash_once(password: str) -> str:
    from org.auth import hash_password

    return hash_password(password)


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch):
    """argon2 is slow on purpose, and nearly every test seeds the demo city's staff, who share a
    few passwords: each password is hashed once per run. Logins still verify for real."""
    monkeypatch.setattr("org.service.hash_password", _hash_once)


class RecordingSender:
    """The notification sender of the tests: keeps what would have gone out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_next = 0

    async def deliver(self, recipient: str, body: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("gateway down")
        self.sent.append((recipient, body))

    def last_code(self) -> str:
        import re

        return re.search(r"\d{6}", self.sent[-1][1]).group(0)


async def _create_pg_database(server_url: str) -> tuple[str, str]:
    import asyncpg

    name = f"minsheng_test_{uuid.uuid4().hex[:8]}"
    base = server_url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    root, _, _ = server_url.rpartition("/")
    return f"{root}/{name}", name


async def _drop_pg_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def db_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('db')}/test.db"
        await migrate_db(url)
        yield url
        return
    server = need_server(
        "PostgreSQL",
        "TEST_DATABASE_URL",
        "apt install postgresql; postgres://user:pass@127.0.0.1:5432/postgres",
    )
    url, name = await _create_pg_database(server)
    await migrate_db(url)
    yield url
    await _drop_pg_database(server, name)


async def _empty_tables(url: str) -> None:
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps["minsheng"].values()]
    # The audit log refuses deletes except by the purge (migration 0014): the tests empty it the
    # purge's way.
    if url.startswith("postgres"):
        await conn.execute_script(
            "BEGIN; SET LOCAL minsheng.audit_purge = 'on'; TRUNCATE "
            + ", ".join(f'"{t}"' for t in tables)
            + " RESTART IDENTITY CASCADE; COMMIT;"
        )
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys = OFF; INSERT INTO org_audit_purge (purging) VALUES (1);"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "DELETE FROM org_audit_purge; PRAGMA foreign_keys = ON;"
        )


@pytest.fixture
async def db(db_url):
    # Tortoise caches each model's SQL by connection name ("default" on both backends), not by
    # dialect: without this, PostgreSQL tests after SQLite ones would reuse "?" placeholders.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    try:
        await _empty_tables(db_url)
        yield db_url
    finally:
        await Tortoise.close_connections()


@pytest.fixture(params=["fake", "real"])
async def any_redis(request):
    if request.param == "fake":
        client = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        import redis.asyncio as aioredis

        url = need_server(
            "Redis", "TEST_REDIS_URL", "apt install redis-server; redis://127.0.0.1:6379/15"
        )
        client = aioredis.from_url(url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def sender():
    return RecordingSender()


# Tests log the demo staff in many times a minute from one test client: login throttling is
# tested with its real limits in tests/org/test_login_security.py.
UNTHROTTLED = {"login_ip_per_minute": 100_000, "login_user_per_minute": 100_000}


@pytest.fixture
def settings(db):
    return Settings(database_url=db, cookie_secure=False, secret_key="test-secret", **UNTHROTTLED)


@pytest.fixture
def deps(settings, clock, sender):
    return build_deps(
        settings, clock=clock, redis=fakeredis.FakeAsyncRedis(decode_responses=True), sender=sender
    )


@pytest.fixture
def app(settings, deps):
    from quart_app import create_app

    return create_app(settings, deps, manage_db=False)
