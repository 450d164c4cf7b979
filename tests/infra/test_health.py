"""/healthz reports the database and Redis."""

import dataclasses

import redis.asyncio as aioredis

from quart_app import create_app


async def test_healthz_ok(app):
    resp = await app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert await resp.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "redis_kind": "in-process",
    }


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
    finally:
        await bad.aclose()
