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


def test_the_banner_is_printed_when_its_address_answers(tmp_path):
    """`minsheng serve` prints where to find the product once the address answers: a newcomer
    who opens it at once is served, not refused while startup still runs."""
    import os
    import socket
    import subprocess

    import httpx

    from tests.probes.harness import minsheng_command, serving

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")},
        "MINSHENG_DATABASE_URL": f"sqlite://{tmp_path}/m.db",
        "MINSHENG_PORT": str(port),
        "MINSHENG_COOKIE_SECURE": "false",
    }
    subprocess.run(
        minsheng_command("migrate"), env=env, check=True, timeout=300, capture_output=True
    )
    with serving(env=env, cwd=tmp_path) as banner:
        assert f"http://127.0.0.1:{port}/chat" in banner
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert r.status_code == 200


def test_the_banner_and_the_readiness_check_name_an_address_that_opens():
    from infra.settings import Settings
    from quart_app import local_url, started_banner

    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("fd00::5", 8001) == "http://[fd00::5]:8001"
    assert local_url("10.0.0.5", 8001) == "http://10.0.0.5:8001"
    banner = started_banner(Settings(host="::", port=8000, console_host="fd00::5"))
    assert "http://[::1]:8000/chat" in banner
    assert f"http://[fd00::5]:{Settings().console_port}/console" in banner


def test_several_web_processes_need_a_shared_redis(monkeypatch, capsys):
    import quart_app

    monkeypatch.delenv("MINSHENG_REDIS_URL", raising=False)
    assert quart_app.main(["serve", "--workers", "2"]) == 2
    assert "Redis" in capsys.readouterr().out


async def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(settings, deps):
    from org.web import client_ip
    from quart_app import create_app

    def probe(app):
        @app.get("/_probe_ip")
        async def _probe_ip():
            return client_ip()

    direct = create_app(settings, deps, manage_db=False)
    proxied = create_app(
        settings.model_copy(update={"trusted_proxy_hops": 1}), deps, manage_db=False
    )
    for app in (direct, proxied):
        probe(app)
    headers = {"X-Forwarded-For": "203.0.113.9"}
    seen_direct = await (await direct.test_client().get("/_probe_ip", headers=headers)).get_data(
        as_text=True
    )
    seen_proxied = await (await proxied.test_client().get("/_probe_ip", headers=headers)).get_data(
        as_text=True
    )
    assert seen_proxied == "203.0.113.9"
    assert seen_direct != "203.0.113.9"


async def test_startup_compiles_the_templates_and_freezes_its_heap(app, monkeypatch):
    """The first console request compiles no template, and what startup made (the app itself
    among it) is out of the collector's generations, so a full collection does not walk it."""
    import gc

    gc.unfreeze()
    assert any(o is app for o in gc.get_objects())
    try:
        async with app.test_app() as served:
            assert gc.get_freeze_count() > 0
            assert not any(o is app for o in gc.get_objects())
            compiled: list[str | None] = []
            real_compile = app.jinja_env.compile

            def compile_spy(source, name=None, filename=None, *args, **kwargs):
                compiled.append(name)
                return real_compile(source, name, filename, *args, **kwargs)

            monkeypatch.setattr(app.jinja_env, "compile", compile_spy)
            r = await served.test_client().get("/console/login")
            assert r.status_code == 200
            assert "登录" in await r.get_data(as_text=True)
            assert compiled == []
    finally:
        gc.unfreeze()


async def test_serving_collects_the_young_generation_less_often(app):
    """Requests in flight are not moved into the old generations every 700 allocations (each
    move brings a full collection of the decision cache nearer)."""
    import gc

    from quart_app import YOUNG_GENERATION

    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])  # CPython's default, as a process starts
    try:
        async with app.test_app():
            assert gc.get_threshold() == (YOUNG_GENERATION, *before[1:])
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
