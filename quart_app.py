"""create_app(settings) -> Quart, and the ``minsheng`` command line."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import re
import secrets
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit

from quart import Quart, Request, Response, g, jsonify, render_template, request
from quart.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from infra.calendar_days import seed_calendar
from infra.db import close_db, migrate_db, open_db, ping_db
from infra.deps import Deps, build_deps
from infra.errors import MAX_ID, DomainError, new_incident_id
from infra.jobs import Job, read_heartbeat, run_forever
from infra.outage import OUTAGE_MESSAGE, RETRY_AFTER_SECONDS, OutageLog, outage_of
from infra.redis import ping_redis
from infra.settings import Settings
from org import auth
from org.access import Actor
from org.audit import audit_written, record_audit
from org.web import (
    STATE_CHANGING,
    record_domain_failure,
    record_request_failure,
    refuse_refusing_sources,
)
from publishing.wording_rules import seed_demo_leaders, seed_wording_rules
from supervision.rectification import MAX_FILE_BYTES

log = logging.getLogger("minsheng")

PRE_CSRF_COOKIE = "ms_csrf"


def create_app(
    settings: Settings | None = None, deps: Deps | None = None, *, manage_db: bool = True
) -> Quart:
    """The app. ``manage_db=False`` when the caller (the tests) opens and closes the database."""
    settings = settings or Settings()
    deps = compose(deps or build_deps(settings))
    app = Quart(
        __name__,
        template_folder="console/templates",
        static_folder="console/static",
        static_url_path="/static",
    )
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.request_class = LargeUploadRequest
    app.url_map.converters["int"] = BoundedInt
    app.secret_key = settings.secret_key
    app.session_interface = ConsoleCookieSession()
    # Quart's own cookie (flash messages) is sent like ms_session.
    app.config.update(
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["minsheng"] = deps

    from accounts.api import bp as accounts_bp
    from accounts.monitor_api import bp as monitor_bp
    from accounts.post_api import bp as posts_bp
    from adapters.telegram import bp as telegram_bp
    from adapters.web import bp as webchat_bp
    from adapters.wechat import bp as wechat_bp
    from console.accounts_views import bp as console_accounts_bp
    from console.annual_views import bp as console_annual_bp
    from console.calendar_views import bp as console_calendar_bp
    from console.knowledge_views import bp as console_knowledge_bp
    from console.letters_views import bp as console_letters_bp
    from console.matcher_views import bp as console_matcher_bp
    from console.publishing_views import bp as console_publishing_bp
    from console.schedule_views import bp as console_schedule_bp
    from console.submissions_views import bp as console_submissions_bp
    from console.supervision_views import bp as console_supervision_bp
    from console.views import bp as console_bp
    from console.wording_views import bp as console_wording_bp
    from knowledge.api import bp as knowledge_bp
    from letters.api import bp as letters_bp
    from letters.public_api import bp as letters_public_bp
    from org.api import bp as org_bp
    from publishing.api import bp as drafts_bp
    from publishing.api import sources_bp, tasks_bp
    from publishing.wording_api import bp as wording_bp

    app.register_blueprint(org_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(knowledge_bp)
    app.register_blueprint(posts_bp)
    app.register_blueprint(drafts_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(sources_bp)
    app.register_blueprint(wording_bp)
    app.register_blueprint(monitor_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(console_accounts_bp)
    app.register_blueprint(console_knowledge_bp)
    app.register_blueprint(console_matcher_bp)
    app.register_blueprint(console_calendar_bp)
    app.register_blueprint(console_wording_bp)
    app.register_blueprint(console_schedule_bp)
    app.register_blueprint(console_supervision_bp)
    app.register_blueprint(console_annual_bp)
    app.register_blueprint(console_submissions_bp)
    app.register_blueprint(console_letters_bp)
    app.register_blueprint(console_publishing_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(letters_public_bp)
    app.register_blueprint(wechat_bp)
    app.register_blueprint(telegram_bp)
    app.register_blueprint(webchat_bp)

    if manage_db:

        @app.before_serving
        async def _open() -> None:
            await open_db(settings)
            await seed_calendar(deps.clock)
            await seed_wording_rules(deps.clock)
            # Build the knowledge index now, beside serving, so that the first citizen's
            # question does not wait for it (WeChat allows 5 seconds).
            from knowledge.live import knowledge_index

            app.add_background_task(knowledge_index(deps).ensure_fresh)

        @app.after_serving
        async def _close() -> None:
            await close_db()
            if (client := deps.extensions.get("wechat_http")) is not None:
                await client.aclose()

    @app.before_serving
    async def _warm() -> None:
        await warm_up(app)

    app.before_request(_before_request)
    app.after_request(_after_request)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)

    @app.get("/healthz")
    async def healthz():
        body = await health(deps)
        return jsonify(body), 200 if body["database"] == body["redis"] == "ok" else 503

    if settings.trusted_proxy_hops:
        from hypercorn.middleware import ProxyFixMiddleware

        # Behind the proxy every request comes from the proxy: the client's address (rate
        # limits, the security log, the audit) is the one the trusted proxies put in
        # X-Forwarded-For.
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops
        )
    return app


async def warm_up(app: Quart) -> None:
    """Before serving, what the process would otherwise do on its first console requests, then
    the heap startup made out of the collector's way.

    Compiling the console's templates costs about half a second, and the first chart another
    0.7 s (matplotlib's import, its fonts): the first page with a chart took 0.8-1 s. And the
    process holds a few hundred thousand long-lived objects from startup (the modules, aiogram's
    and pydantic's types, the templates) that every full (generation-2) collection walks: one
    request in a few dozen paid 200-300 ms for it. Frozen, they stay out of the collections
    (gc.freeze); unfreezing first lets garbage of an earlier freeze go, as knowledge/live.py does
    after building its index (the two run in either order at startup)."""
    try:
        await asyncio.to_thread(_compile_and_draw, app)
    except Exception:  # the warm-up only saves time: serving must not wait on its failure
        log.exception("warming up before serving failed; the first requests will be slower")
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    tune_collector()


# Net allocations of container objects between two young collections (CPython's default: 700).
YOUNG_GENERATION = 10_000


def tune_collector() -> None:
    """Fewer young collections while serving. Each one moves what the requests in flight hold
    into the older generations, and so brings the next full collection nearer; a full one walks
    everything made since startup's freeze, the decision cache's few thousand decisions above
    all (~50 ms with 2,000 of them). With CPython's default a WeChat message cost 0.05-0.07 ms
    in collections (bench.bot_bench's warm run: a full collection every ~1,100 messages); a
    young collection of at most this many objects takes ~3 ms, and cyclic garbage waits that
    long before it is freed."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)


def _compile_and_draw(app: Quart) -> None:
    env = app.jinja_env
    for name in env.list_templates():
        env.get_template(name)  # compiled and kept in the environment's cache
    from supervision import charts

    charts.score_distribution([0] * 10, 60)  # a throwaway chart, not kept


# Routes that take a file larger than MAX_CONTENT_LENGTH: the body may be this big there.
LARGE_UPLOADS = ((re.compile(r"/console/supervision/rectification/\d+/answer"), MAX_FILE_BYTES),)
FORM_ALLOWANCE = 64 * 1024  # the note, the CSRF token and the multipart framing


class LargeUploadRequest(Request):
    """Bodies stay within MAX_CONTENT_LENGTH except a POST to one of ``LARGE_UPLOADS``. The
    limit is set when the request is made (Quart refuses a body by its Content-Length then)."""

    def __init__(self, method: str, scheme: str, path: str, *args, **kwargs) -> None:
        limit = None
        if method == "POST":
            limit = next((n for p, n in LARGE_UPLOADS if p.fullmatch(path)), None)
        if limit is not None:
            kwargs["max_content_length"] = limit + FORM_ALLOWANCE
        super().__init__(method, scheme, path, *args, **kwargs)
        if limit is not None:
            self.max_content_length = limit + FORM_ALLOWANCE  # the form parser's limit too


class BoundedInt(IntegerConverter):
    """``<int:…>`` ids past PostgreSQL's integer answer 404 instead of a database error."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


async def health(deps: Deps) -> dict:
    """Database and Redis reachability (either down: 503) and the worker's last heartbeat (a
    missing worker degrades the status but is no reason to take a web process out of service)."""
    db_ok, redis_ok = await asyncio.gather(ping_db(), ping_redis(deps.redis))
    beat = None
    if redis_ok:
        try:
            beat = await read_heartbeat(deps)
        except Exception:  # noqa: BLE001 - health check reports, never raises
            redis_ok = False
    worker = "unknown" if not redis_ok else "ok" if beat else "missing"
    return {
        "status": "ok" if db_ok and redis_ok and beat else "degraded",
        "database": "ok" if db_ok else "down",
        "redis": "ok" if redis_ok else "down",
        "redis_kind": "in-process" if deps.settings.uses_fake_redis else "server",
        "worker": worker,
        "worker_heartbeat": beat,
    }


class ConsoleCookieSession(SecureCookieSessionInterface):
    """Quart's signed cookie carries the console's flash messages, nothing else: requests outside
    the console do not open it (it costs a serializer per request on the citizens' hot path)."""

    async def open_session(self, app, request):  # type: ignore[override]
        if not request.path.startswith("/console"):
            return None  # Quart then uses its null session
        return await super().open_session(app, request)


def compose(deps: Deps) -> Deps:
    """What the domain packages offer each other against the layers, wired here at the top."""
    from accounts.service import live_accounts_of_unit
    from adapters.publishing import PublishEnv, make_publishers
    from knowledge.tuning import add_signal_source
    from letters.kb_signals import letter_signals
    from letters.replies import WRITER_RECIPIENT, writer_mobile_lookup
    from org.service import add_unit_holdings
    from publishing.port import set_publishers

    add_signal_source(deps, letter_signals)
    deps.notifier.add_recipient_kind(WRITER_RECIPIENT, writer_mobile_lookup(deps.settings))
    add_unit_holdings(deps, live_accounts_of_unit)
    set_publishers(
        deps,
        make_publishers(
            PublishEnv(
                redis=deps.redis,
                wechat_api_base=deps.settings.wechat_api_base,
                telegram_api_base=deps.settings.telegram_api_base,
            )
        ),
    )
    return deps


def _deps() -> Deps:
    from quart import current_app

    return current_app.extensions["minsheng"]


# Paths citizens and platforms reach; everything else under /api and /console is the back office.
PUBLIC_PREFIXES = ("/api/chat", "/api/public")


def is_back_office(path: str) -> bool:
    if path.startswith(PUBLIC_PREFIXES):
        return False
    return path.startswith(("/console", "/api/"))


async def _before_request() -> None:
    """The checks before any view, in this order. A platform's callback is checked by its
    adapter (signature, replay) and needs none of them but the anonymous actor: one test on
    the busiest path instead of three hooks that each find nothing to do (issue 16)."""
    if request.endpoint in PLATFORM_CALLBACKS:
        _anonymous()
        return
    await _guard_console_address()
    await _refuse_flooding_sources()
    await _identify()


async def _after_request(response: Response) -> Response:
    if request.endpoint in PLATFORM_CALLBACKS:
        # Not audited (their adapters log them), and read by the platforms' servers, never
        # shown in a browser: no security headers.
        return response
    return await _audit_unrecorded(await _security_headers(response))


async def _guard_console_address() -> None:
    """With a console address configured, the public address does not serve the back office."""
    s = _deps().settings
    if not s.console_host or not is_back_office(request.path):
        return
    server = request.scope.get("server") or ("", 0)
    if server[1] != s.console_port:
        from quart import abort

        abort(404)


async def _refuse_flooding_sources() -> None:
    # Platforms call from a few shared addresses and citizens' chat has its own limit.
    if request.endpoint not in CITIZEN_TRAFFIC:
        await refuse_refusing_sources()


async def _identify() -> None:
    """Who is asking: an API token, a console session cookie, or nobody. Then CSRF."""
    ip = _anonymous()
    d = _deps()
    if request.endpoint in CITIZEN_TRAFFIC:
        return  # citizens and platforms: no staff session, no ambient authority to protect
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        staff = await auth.resolve_api_token(d, header.removeprefix("Bearer ").strip())
        if staff is None:
            raise DomainError("bad_token", "API令牌无效或已吊销", status=401)
        g.actor = await auth.actor_for(staff, ip, via="token")
        return  # no ambient authority: CSRF does not apply
    sess = await auth.resolve_session(d, request.cookies.get("ms_session", ""))
    if sess is not None:
        g.session = sess
        g.actor = await auth.actor_for(sess.staff, ip)
    if request.method in STATE_CHANGING:
        await _check_csrf(sess)


def _anonymous() -> str:
    """Nobody yet, from the client's address (returned): no audit record written so far."""
    audit_written.set(False)
    ip = (request.remote_addr or "")[:64]
    g.actor = Actor.anonymous(ip)
    g.session = None
    return ip


async def _check_csrf(sess) -> None:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = (await request.form).get("csrf_token", "")
    if sess is not None:
        expected = sess.csrf_token
    elif request.path.startswith("/console"):
        # Before login: the double-submit cookie set when the login form was shown.
        expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    else:
        return
    if not expected or not secrets.compare_digest(sent, expected):
        raise DomainError("csrf", "页面已过期或请求来源不明，请刷新页面后重试", status=403)


def _audit_actor() -> Actor:
    return g.get("actor") or Actor.anonymous((request.remote_addr or "")[:64])


# Citizens' messages: each is logged where it belongs (the knowledge base's question log, the
# letter's timeline); an audit record per chat message would bury the staff actions the audit log
# exists for. Refused platform calls are still audited by the adapters.
PLATFORM_CALLBACKS = {"wechat.receive", "telegram.webhook"}
CITIZEN_TRAFFIC = {"webchat.chat", *PLATFORM_CALLBACKS}


async def _audit_unrecorded(response: Response) -> Response:
    """A state-changing request that succeeded without a service's record still leaves one."""
    if (
        request.method in STATE_CHANGING
        and request.endpoint not in CITIZEN_TRAFFIC
        and response.status_code < 400
        and request.url_rule is not None
        and not audit_written.get()
    ):
        await record_audit(
            _audit_actor(),
            f"http.{request.endpoint}",
            clock=_deps().clock,
            object_type="request",
            object_id=request.path[:64],
            summary=f"{request.method} {request.path}",
        )
    return response


async def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if is_back_office(request.path) or request.path.startswith(PRIVATE_PUBLIC_PREFIXES):
        # Staff pages and APIs show letter writers' names and mobiles, citizens' pages their
        # own letters: no browser or proxy may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    return response


PRIVATE_PUBLIC_PREFIXES = ("/api/chat", "/api/public", "/status")


def _wants_html() -> bool:
    return request.path.startswith("/console") and request.method == "GET"


# Form fields never echoed back on the 登录已过期 page (secrets and the form's own plumbing).
NOT_TYPED = {
    "csrf_token",
    "form_key",
    "challenge",
    "next",
    "back",
    "decision",
    "use_sms",
    "method",
    "code",
}


async def _expired_form_page(err: DomainError):
    """A console form sent without a live session (ended in another tab, or timed out): a
    Chinese page that asks to log in again and keeps what was typed, not raw JSON."""
    form = await request.form
    typed = [
        v
        for k, v in form.items(multi=True)
        if k not in NOT_TYPED and "password" not in k and len(v.strip()) >= 2 and not v.isdigit()
    ]
    ref = urlsplit(request.referrer or "")
    back = ref.path + (f"?{ref.query}" if ref.query else "")
    if not back.startswith("/console") or back.startswith(("//", "/console/login")):
        back = "/console/"
    return await render_template("session_expired.html", typed=typed, back=back), err.status


async def _domain_error(err: DomainError):
    await record_domain_failure(err)
    if (
        request.path.startswith("/console")
        and request.method == "POST"
        and not request.path.startswith("/console/login")
        and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
        and (err.code == "csrf" or err.status == 401)
        and g.get("session") is None
    ):
        return await _expired_form_page(err)
    if _wants_html():
        if err.status == 401:
            from quart import redirect, url_for

            return redirect(url_for("console.login_page", next=request.path))
        return await render_template("error.html", error=err), err.status
    return jsonify(err.to_json()), err.status


async def _http_error(err: HTTPException):
    messages = {
        400: "请求格式不正确",
        404: "页面或资源不存在",
        405: "不支持此请求方法",
        413: "请求内容过大",
        429: "请求过于频繁，请稍后再试",
    }
    message = messages.get(err.code or 500, err.description or "请求失败")
    await record_request_failure("rejected", f"HTTP {err.code}")
    if _wants_html():
        return await render_template(
            "error.html", error=DomainError(f"http_{err.code}", message)
        ), err.code
    return jsonify({"error": {"code": f"http_{err.code}", "message": message}}), err.code


UNAVAILABLE_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>服务暂时不可用</title><body style="font-family:sans-serif;margin:3em">
<h1>服务暂时不可用</h1><p>{message}</p></body></html>"""


async def _unavailable(kind: str, err: Exception):
    """A dependency is down: 503 with Retry-After, no traceback and no audit record (the
    database may be what is down; the outage is logged once)."""
    _deps().extensions.setdefault("outage_log", OutageLog(log)).failed(
        kind, err, f"{request.method} {request.url_rule}"
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/") or request.endpoint in PLATFORM_CALLBACKS:
        body = {"error": {"code": "unavailable", "message": OUTAGE_MESSAGE}}
        return jsonify(body), 503, headers
    # A plain page, not the console's templates: rendering those reads the database and Redis.
    return Response(
        UNAVAILABLE_PAGE.format(message=OUTAGE_MESSAGE),
        status=503,
        headers=headers,
        mimetype="text/html",
    )


async def _unexpected_error(err: Exception):
    if kind := outage_of(err):
        return await _unavailable(kind, err)
    incident = new_incident_id()
    # Type and place only: the body, arguments and message may hold personal data.
    log.error(
        "unexpected error %s on %s %s: %s\n%s",
        incident,
        request.method,
        request.url_rule,
        type(err).__name__,
        "".join(traceback.format_tb(err.__traceback__)),
    )
    await record_request_failure("error", f"内部错误 {incident}")
    body = {
        "error": {
            "code": "internal",
            "message": f"系统内部错误，请稍后再试（事件编号 {incident}）",
            "incident": incident,
        }
    }
    if _wants_html():
        return await render_template(
            "error.html", error=DomainError("internal", body["error"]["message"])
        ), 500
    return jsonify(body), 500


# ---------------------------------------------------------------- command line


def jobs() -> list[Job]:
    """Every periodic job of every package, composed here at the top."""
    from accounts.monitor import record_daily_activity
    from adapters.delivery import deliver_replies
    from knowledge.attention import flush_asks
    from knowledge.tuning import fit_matcher_job
    from letters.supervision import record_missed_checks, send_letter_reminders
    from org.audit import purge_audit
    from org.security_log import flush_security_log
    from publishing.runner import check_submitted, publish_due, recover_stalled
    from publishing.sources import remind_repost_tasks, watch_sources
    from supervision.annual import annual_drafts_job, remind_annual_reports
    from supervision.patrol import weekly_patrol_job
    from supervision.rectification import monthly_rectification_job, remind_overdue_items

    async def flush_refusals(d: Deps) -> int:
        return await flush_security_log(d.redis, d.clock)

    async def purge(d: Deps) -> int:
        return await purge_audit(clock=d.clock, retention_days=d.settings.audit_retention_days)

    async def retry(d: Deps) -> int:
        return await d.notifier.retry_notifications()

    return [
        Job("purge_audit", 24 * 3600, purge),
        Job("retry_notifications", 60, retry),
        # One snapshot per account and day, upserted: running it every 6 h is harmless.
        Job("record_activity", 6 * 3600, record_daily_activity),
        # Each reminder and each missed check is a unique row: running these often is harmless.
        Job("letter_reminders", 3600, send_letter_reminders),
        Job("letter_daily_check", 6 * 3600, record_missed_checks),
        # Rows are claimed with a conditional update: a reply is never sent twice.
        Job("deliver_replies", 30, deliver_replies),
        # Tasks are unique per source, unit and item; reminders claimed by a conditional update.
        Job("watch_sources", 15 * 60, watch_sources),
        Job("repost_reminders", 10 * 60, remind_repost_tasks),
        # Due publications are claimed row by row (SKIP LOCKED): never published twice.
        Job("publish_due", 5, publish_due),
        Job("check_submitted", 60, check_submitted),
        Job("recover_stalled_publications", 5 * 60, recover_stalled),
        # Monday's patrol of the week before; stored once, a no-op the rest of the week.
        Job("weekly_patrol", 3600, weekly_patrol_job),
        # The 1st's rectification list of the month before, likewise; overdue items are claimed
        # one by one with a conditional update and reminded once.
        Job("monthly_rectification", 3600, monthly_rectification_job),
        Job("rectification_reminders", 3600, remind_overdue_items),
        # January's annual-report drafts (one per year and account: a no-op once all exist), and
        # from 15 January one reminder a day per unit (a unique sent-log row).
        Job("annual_drafts", 3600, annual_drafts_job),
        Job("annual_reminders", 3600, remind_annual_reports),
        # The bot queues its question log in Redis; replaying a batch writes nothing twice.
        Job("flush_asks", 5, flush_asks),
        # Anonymous refusals are counted in Redis per minute; closed minutes go to the database.
        Job("flush_security_log", 60, flush_refusals),
        # A candidate matcher model for staff to adopt on the console; never adopted here.
        Job("fit_matcher", 24 * 3600, fit_matcher_job),
    ]


def started_banner(settings: Settings) -> str:
    """Where people find the product, from the settings actually used (not a fixed port)."""
    public = local_url(settings.host, settings.port)
    console = (
        f"{local_url(settings.console_host, settings.console_port)}/console"
        if settings.console_host
        else f"{public}/console"
    )
    return f"民声已启动：控制台 {console}  市民留言 {public}/chat  （Ctrl-C 停止）"


def _serve(settings: Settings, workers: int) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    if settings.console_host:
        config.bind.append(f"{settings.console_host}:{settings.console_port}")
    config.accesslog = None
    if workers > 1:
        if settings.uses_fake_redis:
            print("多个 web 进程需要共享的 Redis（设置 MINSHENG_REDIS_URL）", flush=True)
            return 2
        from hypercorn.run import run

        # Each process builds the app from the same settings (the environment); they share
        # the listening sockets, and the state in PostgreSQL and Redis.
        config.workers = workers
        config.application_path = "quart_app:create_app()"
        banner = started_banner(settings) + f"  （{workers} 个 web 进程）"
        threading.Thread(target=_announce_when_served, args=(settings, banner), daemon=True).start()
        return run(config)
    app = create_app(settings)
    if settings.uses_fake_redis:
        # With the in-process Redis no worker can share it: run the jobs in this process.

        @app.before_serving
        async def _start_jobs() -> None:
            app.background_tasks.add(
                asyncio.ensure_future(run_forever(app.extensions["minsheng"], jobs()))
            )

    async def serve_and_announce() -> None:
        server = asyncio.ensure_future(serve(app, config))
        if await _answering(settings, server):
            print(started_banner(settings), flush=True)
        await server

    asyncio.run(serve_and_announce())
    return 0


def _announce_when_served(settings: Settings, banner: str) -> None:
    """Print ``banner`` once a web process answers HTTP on the public address: with several
    processes, the parent returns to print nothing more while they start (imports, the
    database, the index), and a first click meanwhile was refused."""
    import httpx

    url = f"{local_url(settings.host, settings.port)}/healthz"
    while True:
        try:
            httpx.get(url, timeout=5)  # any status: the page answered
        except httpx.HTTPError:
            time.sleep(0.1)
            continue
        print(banner, flush=True)
        return


def _loopback(host: str) -> str:
    """Where this machine reaches a server bound to ``host``."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def local_url(host: str, port: int) -> str:
    """The address to open on this machine for a server bound to ``host``: a wildcard bind
    as the loopback, an IPv6 address in brackets (http://:::8000 opens nothing)."""
    host = _loopback(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _answering(settings: Settings, server: asyncio.Future) -> bool:
    """Whether the public address accepts connections, waited for until it does or ``server``
    ends (its error is then ``server``'s). Startup (the database, the templates, the charts'
    fonts) takes seconds, up to half a minute on a busy machine: a banner printed before it sent
    a newcomer's first click to a refused connection."""
    host = _loopback(settings.host)
    while not server.done():
        try:
            _, writer = await asyncio.open_connection(host, settings.port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


async def _worker(settings: Settings) -> None:
    await open_db(settings, command_timeout=settings.worker_command_timeout_seconds)
    try:
        await run_forever(compose(build_deps(settings)), jobs())
    finally:
        await close_db()


async def _with_db(settings: Settings, work):
    await open_db(settings, command_timeout=settings.worker_command_timeout_seconds)
    try:
        return await work(compose(build_deps(settings)))
    finally:
        await close_db()


def main(argv: list[str] | None = None) -> int:
    from adapters import cli as bot_cli
    from knowledge import cli as knowledge_cli
    from org import cli

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(prog="minsheng", description="民声：政务新媒体管理与群众互动")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve_cmd = sub.add_parser("serve", help="serve the web app (hypercorn)")
    serve_cmd.add_argument(
        "--workers", type=int, default=0, help="web processes (default MINSHENG_WEB_WORKERS, 1)"
    )
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("worker", help="run the periodic jobs (needs MINSHENG_REDIS_URL)")
    cli.add_commands(sub)
    bot_cli.add_commands(sub)
    knowledge_cli.add_commands(sub)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.cmd == "serve":
        return _serve(settings, args.workers or settings.web_workers)
    if args.cmd == "worker":
        if settings.uses_fake_redis:
            print(
                "worker 需要共享的 Redis（设置 MINSHENG_REDIS_URL）；"
                "单进程开发时 serve 已自带定时任务"
            )
            return 2
        asyncio.run(_worker(settings))
        return 0
    if args.cmd == "migrate":
        asyncio.run(migrate_db(settings.database_url))

        async def seed(d: Deps) -> tuple[int, int]:
            return await seed_calendar(d.clock), await seed_wording_rules(d.clock)

        days, words = asyncio.run(_with_db(settings, seed))
        if days:
            print(f"节假日安排：从 chinese_calendar 导入 {days} 天")
        if words:
            print(f"错敏词库：写入内置规则 {words} 条")
        print("数据库迁移完成")
        return 0

    async def run(d: Deps) -> int:
        if args.cmd in ("accounts", "telegram-poll"):
            return await bot_cli.run(args, d)
        if args.cmd == "knowledge":
            return await knowledge_cli.run(args, d)
        code = await cli.run(args, d)
        if args.cmd == "seed-demo" and code == 0:
            from accounts.demo import seed_demo_accounts

            if await seed_demo_accounts(d):
                print("演示账号台账：4 个政务新媒体账号（含微信公众号 demo，令牌 minsheng-demo）")
            from knowledge.demo import seed_knowledge_demo

            if n := await seed_knowledge_demo(d.clock, d.redis):
                print(f"演示知识库：{n} 个已发布条目（居住证、落户、社保、社保卡、公积金）及同义词")
            from letters.demo import seed_demo_letters

            if n := await seed_demo_letters(d):
                print(f"演示来信：{n} 件，处于不同办理状态")
            await seed_wording_rules(d.clock)
            from publishing.demo import seed_demo_publishing

            if n := await seed_demo_publishing(d):
                print(f"演示稿件：{n} 篇（待审核、已退回、已排期），转载来源 2 个，转载任务 1 个")
            if n := await seed_demo_leaders(d.clock):
                print(f"演示领导名单：{n} 位（清源市，虚构），用于错敏词检查的姓名职务和排序")
            # The petitions office's handler is created with the letters, after the list above.
            from letters.demo import XF_HANDLER

            username, real_name, _, _, _ = XF_HANDLER
            print(f"  {username:<12} {real_name:<4} 办理人（信访局：受理、分办来信）")
        return code

    try:
        return asyncio.run(_with_db(settings, run))
    except DomainError as err:
        print(f"错误：{err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
