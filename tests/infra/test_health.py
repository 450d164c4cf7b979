"""/healthz reports the database, Redis and the worker's heartbeat."""

import dataclasses
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis

from infra.jobs import write_heartbeat
from quart_app import create_app


async def test_healthz_ok(app, deps):
    await write_heartbeat(deps)  # a worker beat lately
    resp = await app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert await resp.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "redis_kind": "in-process",
        "worker": "ok",
        "worker_heartbeat": deps.clock.now().isoformat(),
    }


async def test_healthz_without_a_worker_is_degraded_but_serving(app, deps):
    resp = await app.test_client().get("/healthz")
    assert resp.status_code == 200  # the web process itself can serve
    body = await resp.get_json()
    assert body["status"] == "degraded"
    assert body["worker"] == "missing" and body["worker_heartbeat"] is None


async def test_heartbeat_expires(deps):
    await write_heartbeat(deps)
    ttl = await deps.redis.ttl("worker:heartbeat")
    assert 0 < ttl <= 3 * deps.settings.worker_heartbeat_seconds


async def test_healthz_503_when_redis_down(settings, deps):
    bad = aioredis.from_url("redis://127.0.0.1:1/0")
    try:
        app = create_app(settings, dataclasses.replace(deps, redis=bad), manage_db=False)
        resp = await app.test_client().get("/healthz")
        assert resp.status_code == 503
        body = await resp.get_json()
        assert body["redis"] == "down"
        assert body["database"] == "ok"
        assert body["status"] == "degraded"
        assert body["worker"] == "unknown"
    finally:
        await bad.aclose()


async def test_healthz_503_when_the_database_is_down(settings, deps):
    from tortoise import Tortoise

    from tests.faults import free_port

    app = create_app(settings, deps, manage_db=False)
    await Tortoise.close_connections()
    await Tortoise.init(
        config=_config_at_closed_port(settings.database_url, free_port()),
        _enable_global_fallback=True,
    )
    resp = await app.test_client().get("/healthz")
    assert resp.status_code == 503
    body = await resp.get_json()
    assert body["database"] == "down" and body["redis"] == "ok"


def _config_at_closed_port(url: str, port: int) -> dict:
    from infra.db import tortoise_config

    if url.startswith("sqlite://"):
        # A file in a directory that does not exist: SQLite cannot open it.
        return tortoise_config(f"sqlite:///nonexistent-{port}/x.db")
    return tortoise_config(at_port(url, port), connect_timeout=1)


def at_port(url: str, port: int) -> str:
    """The same database URL at another port of the same host."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition(":")[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{netloc}:{port}"))
