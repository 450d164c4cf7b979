"""App-wide behaviour: the back office on its own address."""

from __future__ import annotations

from quart_app import create_app, is_back_office


def test_back_office_paths():
    assert is_back_office("/console/login")
    assert is_back_office("/api/staff")
    assert not is_back_office("/api/chat")
    assert not is_back_office("/healthz")


async def test_console_not_served_on_public_address(settings, deps):
    settings.console_host = "10.0.0.5"
    settings.console_port = 8001
    app = create_app(settings, deps, manage_db=False)
    client = app.test_client()
    public = {"server": ("0.0.0.0", 8000)}
    internal = {"server": ("10.0.0.5", 8001)}
    assert (await client.get("/console/login", scope_base=public)).status_code == 404
    assert (await client.post("/api/auth/login", json={}, scope_base=public)).status_code == 404
    assert (await client.get("/healthz", scope_base=public)).status_code == 200
    assert (await client.get("/console/login", scope_base=internal)).status_code == 200


async def test_console_everywhere_without_console_address(app):
    r = await app.test_client().get("/console/login", scope_base={"server": ("0.0.0.0", 8000)})
    assert r.status_code == 200


def test_several_web_processes_need_a_shared_redis(monkeypatch, capsys):
    import quart_app

    monkeypatch.delenv("MINSHENG_REDIS_URL", raising=False)
    assert quart_app.main(["serve", "--workers", "2"]) == 2
    assert "Redis" in capsys.readouterr().out
