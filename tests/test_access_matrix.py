"""The access matrix (issue 12, "probes as tests"): every route × every method × every role.

The routes come from ``app.url_map``, so a route added later is probed without anyone writing a
test. Each role gets one staff member in a unit that does not handle the probe letters (人社局;
the letters are handled by 公积金中心); the handler of those letters is the positive control.
URL arguments are filled from seeded objects, so requests reach their handlers.

What must hold, for every request:
- no 5xx;
- no response body or header, except the handler's, shows the probe writer's name, mobile or
  WeChat openid (masked forms are fine);
- anonymous gets no back-office data: every ``/console`` and ``/api`` route except the public ones
  answers a redirect to the login page, 401 or 403;
- a logged-in session that sends no CSRF token is refused (403) on every state-changing route of
  the back office, and the database does not change.

The figures go to the output and to ``test-artifacts/access-matrix.txt``.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode

import pytest
from tortoise import Tortoise
from werkzeug.routing import IntegerConverter

from accounts.demo import seed_demo_accounts
from accounts.models import Account, AdRule, Filing, Post
from accounts.posts import add_ad_rule
from console.views import PRE_CSRF_COOKIE
from infra.errors import MAX_ID
from knowledge.demo import seed_knowledge_demo
from knowledge.models import MatcherModel, SynonymGroup, Topic
from letters.demo import seed_demo_letters
from letters.intake import submit_letter
from letters.models import Letter
from letters.replies import propose_kb_entry, write_reply
from letters.routing import accept_letter
from letters.supervision import send_letter_reminders
from org.access import ROLES, Actor
from org.auth import actor_for, create_api_token
from org.demo import DEMO_PASSWORD, seed_demo
from org.models import AuditRecord, SecurityEvent, Staff, Unit
from org.service import create_staff
from quart_app import is_back_office
from tests.org.conftest import login_as

ARTIFACT = Path(__file__).resolve().parents[1] / "test-artifacts" / "access-matrix.txt"

# The probe writer: distinctive enough that any occurrence in a response is a leak.
NAME = "探针隐私甲"
MOBILE = "13912345678"
OPENID = "oPrbQ7xZk2Wm9Vt4Lh8"
NEEDLES = {
    "name": [NAME, NAME[1:]],  # the masked form keeps the surname only
    "mobile": [MOBILE, "139 1234 5678", "139-1234-5678", "1391234****", "139123*5678"],
    "openid": [OPENID, OPENID[3:]],  # the masked form keeps three characters
}

ROLE_UNIT = "QY-RSJ"  # where the roles' staff work: not the probe letters' unit
PROBE_UNIT = "QY-GJJ"  # handles the probe letters
OWNER = "probe_owner"  # handler there: the positive control

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SKIPPED_ENDPOINTS = {"static", "webchat.static"}  # files, no code of ours
# Back-office routes anonymous people must reach: logging in and out. (The citizens' and the
# platforms' endpoints under /api are outside the back office: quart_app.is_back_office.)
LOGIN_ENDPOINTS = {
    "console.login_page",
    "console.login_submit",
    "console.verify_submit",
    "console.logout",
    "org_api.login",
    "org_api.verify",
    "org_api.login_by_sms",
    "org_api.logout",
}
# Tables that record refusals: they are meant to change when requests are refused.
LOG_TABLES = {AuditRecord, SecurityEvent}
# Fields of the state-changing routes, with values that pass their validation where possible.
FILLED = {
    "text": "探针答复：请携带身份证到服务大厅办理。",
    "note": "探针意见",
    "comment": "探针意见",
    "reason": "探针理由，请予办理",
    "instruction": "请探针单位办理",
    "approve": True,
    "decision": "approve",
    "days": 5,
    "kind": "change",
    "question": "探针问题怎么办理？",
    "answer": "探针答案：到服务大厅办理。",
    "name": "探针名称",
    "real_name": "探针改名",
    "mobile": "17700009999",
    "roles": ["leader"],
    "active": False,
    "password": "Probe-2026-pass",
    "new_password": "Probe-2026-pass",
    "satisfied": False,
    "words": "探针,探测",
}
# Query parameters that widen what a page or a list shows (narrowing ones are left out: a value
# wrong for one page would make it answer 400); unit, account and code point at the probe letters.
QUERY = {
    "queue": "screening",
    "overdue": "1",
    "q": "公积金",
    "limit": "500",
    "offset": "0",
    "since": "2026-01-01",
    "until": "2026-12-31",
    "include_inactive": "1",
}


@dataclass
class Probe:
    method: str
    path: str
    endpoint: str
    rule: str
    arguments: frozenset[str] = frozenset()

    @property
    def back_office(self) -> bool:
        return is_back_office(self.path)

    @property
    def ends_session(self) -> bool:
        return "logout" in self.endpoint


@dataclass
class Sent:
    pass_: str
    who: str
    probe: Probe
    status: int
    location: str
    leaks: list[str]
    cache_control: str = ""


@dataclass
class Identity:
    name: str
    client: object
    csrf: str = ""


def leaks_in(text: str) -> list[str]:
    """The needles found in ``text`` as sent and as HTML, URL and JSON escapes would hide them."""
    forms = {
        text,
        html.unescape(text),
        unquote(text),
        re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text),
    }
    found = []
    for kind, needles in NEEDLES.items():
        if any(n in form for n in needles for form in forms):
            found.append(kind)
    return found


def route_probes(app, values: dict) -> list[Probe]:
    probes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        args = {}
        for name, conv in rule._converters.items():
            blueprint = rule.endpoint.rpartition(".")[0]
            if f"{blueprint}:{name}" in values:
                args[name] = values[f"{blueprint}:{name}"]
            elif name in values:
                args[name] = values[name]
            else:  # a converter nobody seeded for: a plausible value
                args[name] = 1 if isinstance(conv, IntegerConverter) else "probe"
        path = rule.build(args)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            probes.append(Probe(method, path, rule.endpoint, rule.rule, frozenset(rule.arguments)))
    # Reads first, then changes; ending the session last.
    return sorted(probes, key=lambda p: (p.ends_session, p.method in CHANGING, p.path, p.method))


def outsider_probes(app, values: dict) -> list[Probe]:
    """The changes of every route whose URL names an object of the probe letters' unit."""
    pointed = {**values, **values["probe_unit"]}
    return [
        p
        for p in route_probes(app, pointed)
        if p.method in CHANGING and p.back_office and p.arguments & set(values["probe_unit"])
    ]


def filled(values: dict, console: bool) -> dict:
    """A body that passes most routes' validation: the fields the routes read, plausible values."""
    body = {**FILLED, "unit_id": values["role_unit_id"]}
    if console:
        return {k: "1" if v is True else str(v) for k, v in body.items()}
    return body


def query_probes(probes: list[Probe], values: dict) -> list[Probe]:
    """Every page and list read with the parameters that widen it, aimed at the probe letters."""
    pointed = {
        "unit_id": values["probe_unit_id"],
        "account_id": values["probe_account_id"],
        "code": values["letters_public:code"],
    }
    query = urlencode({**QUERY, **pointed})
    return [
        Probe(p.method, f"{p.path}?{query}", p.endpoint, p.rule)
        for p in probes
        if p.method == "GET" and not p.ends_session
    ]


def missing_probes(app) -> list[Probe]:
    """Every rule with arguments, filled with values that name nothing."""
    probes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or not rule.arguments:
            continue
        args = {
            name: MAX_ID if isinstance(conv, IntegerConverter) else "不存在-0"
            for name, conv in rule._converters.items()
        }
        path = rule.build(args)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            probes.append(Probe(method, path, rule.endpoint, rule.rule))
    return [p for p in probes if not p.ends_session]


async def _actor(username: str) -> Actor:
    return await actor_for(await Staff.get(username=username).select_related("unit"))


async def _add_staff(deps, username: str, unit: Unit, roles: list[str], mobile: str) -> Staff:
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": username,
            "real_name": f"探针{username}",
            "mobile": mobile,
            "unit_id": unit.id,
            "roles": roles,
            "password": DEMO_PASSWORD,
        },
    )
    return await Staff.get(username=username)


async def seed(deps) -> dict:
    """The demo city, one staff member per role, and two letters of the probe writer at 公积金中心:
    one answered (its reply waits in the outbox with the openid) and made a knowledge-base draft,
    one overdue and supervised."""
    deps.settings.refusal_limit = 0  # every refused request still reaches its route
    deps.settings.public_status_rate_limit = 100_000
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_knowledge_demo(deps.clock, deps.redis)
    await seed_demo_letters(deps)
    units = {u.code: u for u in await Unit.all()}
    for i, role in enumerate(ROLES):
        await _add_staff(deps, f"probe_{role}", units[ROLE_UNIT], [role], f"1770000{i:04d}")
    await _add_staff(deps, OWNER, units[PROBE_UNIT], ["handler"], "17700001000")
    target = await _add_staff(deps, "probe_target", units[ROLE_UNIT], ["editor"], "17700001001")
    account = await Account.get(code="demo")
    deps.settings.letter_review_kinds = ""  # the probe's reply goes out without review
    xf = await _actor("xfhandler")
    letters = []
    for key in ("answered", "open"):
        letter, _ = await submit_letter(
            deps,
            Actor.system("机器人"),
            {
                "idempotency_key": f"probe-{key}",
                "kind": "consultation",
                "channel": "wechat",
                "account_id": account.id,
                "title": f"公积金贷款额度怎么计算（{NAME} {MOBILE}）",
                # Citizens write their name and number into the letter too.
                "content": f"请问公积金贷款额度怎么算？我是{NAME}，电话139 1234 5678，"
                f"微信{OPENID}，手机{MOBILE}。",
                "writer": {"name": NAME, "mobile": MOBILE, "platform_user_id": OPENID},
            },
        )
        await accept_letter(deps, xf, letter.id, {"unit_id": units[PROBE_UNIT].id})
        letters.append(letter)
    answered, open_ = letters
    reply = {"text": "您好，额度按缴存余额计算。"}
    await write_reply(deps, await _actor(OWNER), answered.id, reply)
    # A knowledge-base draft from it, which every member of staff reads.
    await propose_kb_entry(deps, await _actor(OWNER), answered.id, {})
    await Letter.filter(id=open_.id).update(due_on=deps.clock.today() - dt.timedelta(days=2))
    await send_letter_reminders(deps)
    await add_ad_rule(deps, await _actor("admin"), {"kind": "word", "pattern": "探针广告"})
    token, _ = await create_api_token(deps, await _actor(OWNER), "探针")
    gjj_target = await _add_staff(deps, "probe_gjj", units[PROBE_UNIT], ["editor"], "17700001002")
    gjj_account = await Account.get(unit_id=units[PROBE_UNIT].id)
    model = await MatcherModel.first()
    code = (await Letter.get(id=answered.id)).code
    return {
        "letter_id": open_.id,
        "account_id": account.id,
        "filing_id": (await Filing.first()).id,
        "post_id": (await Post.filter(account=account).first()).id,
        "rule_id": (await AdRule.first()).id,
        "entry_id": (await Letter.get(id=answered.id)).kb_entry_id,
        "group_id": (await SynonymGroup.first()).id,
        "topic_id": (await Topic.first()).id,
        "model_id": model.id if model else 1,
        "staff_id": target.id,
        "unit_id": units["QY-RSJ-BGS"].id,
        "token_id": token.id,
        "probe_unit_id": units[PROBE_UNIT].id,
        "probe_account_id": gjj_account.id,
        "role_unit_id": units[ROLE_UNIT].id,
        # URL arguments naming objects of the probe letters' unit, which the roles must not change.
        "probe_unit": {
            "letter_id": open_.id,
            "account_id": gjj_account.id,
            "post_id": (await Post.filter(account=gjj_account).first()).id,
            "entry_id": (await Letter.get(id=answered.id)).kb_entry_id,
            "staff_id": gjj_target.id,
            "unit_id": units[PROBE_UNIT].id,
        },
        "code": account.code,
        "letters_public:code": code,
        "webchat:code": code,
        "day": "2026-10-01",
        "fmt": "jsonl",
    }


async def snapshot() -> dict[str, list]:
    """Every row of every table but the logs of refusals."""
    state = {}
    for model in Tortoise.apps["minsheng"].values():
        if model in LOG_TABLES:
            continue
        rows = [sorted(r.items()) for r in await model.all().values()]
        state[model._meta.db_table] = sorted(map(repr, rows))
    return state


async def send(
    identity: Identity, probe: Probe, *, csrf: bool, body: dict | None = None
) -> tuple[int, str, str, str]:
    headers = {"X-CSRF-Token": identity.csrf} if csrf and identity.csrf else {}
    kwargs = {"form": body or {}} if probe.path.startswith("/console") else {"json": body or {}}
    if probe.method not in CHANGING:
        kwargs = {}
    r = await identity.client.open(probe.path, method=probe.method, headers=headers, **kwargs)
    body = (await r.get_data()).decode("utf-8", "replace")
    head = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    cache = r.headers.get("Cache-Control", "")
    return r.status_code, r.headers.get("Location", ""), body + "\n" + head, cache


def refused(status: int, location: str) -> bool:
    return status in (401, 403) or (300 <= status < 400 and "/console/login" in location)


async def anonymous(app) -> Identity:
    """Anonymous, holding the double-submit token the login form hands to anyone: so that
    anonymous changes reach the routes' own login checks, not only the CSRF check."""
    client = app.test_client()
    r = await client.get("/console/login")
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith(PRE_CSRF_COOKIE))
    return Identity("anonymous", client, cookie.split(";")[0].partition("=")[2])


def session_cookie(identity: Identity) -> str:
    return next(c.value for c in identity.client.cookie_jar if c.name == "ms_session")


@pytest.fixture
def _verify_once(monkeypatch):
    """argon2 is slow on purpose and the matrix tries both login routes as every identity: each
    (hash, password) pair is verified for real once."""
    from org import auth

    monkeypatch.setattr(auth, "_verify", functools.lru_cache(maxsize=64)(auth._verify))


async def test_access_matrix(app, deps, sender, db, _verify_once):
    started = time.monotonic()
    values = await seed(deps)
    probes = route_probes(app, values)
    identities = [await anonymous(app)]
    for name in [*(f"probe_{r}" for r in ROLES), OWNER]:
        session = await login_as(app, sender, name)
        identities.append(Identity(name, session.client, session.csrf))
    staff = identities[1:]
    by_name = {i.name: i for i in identities}
    seeded = time.monotonic()
    sent: list[Sent] = []

    async def record(
        pass_: str, who: Identity, probe: Probe, *, csrf: bool, body: dict | None = None
    ) -> Sent:
        status, location, text, cache = await send(who, probe, csrf=csrf, body=body)
        s = Sent(pass_, who.name, probe, status, location, leaks_in(text), cache)
        sent.append(s)
        return s

    # 1. No CSRF token: refused, and nothing changes. The check comes before any role's: an
    # administrator and the letters' handler suffice, and anonymous on the console, where the
    # login form's double-submit token guards logging in.
    before = await snapshot()
    csrf_failures = []
    for who in (by_name["anonymous"], by_name["probe_admin"], by_name[OWNER]):
        for probe in probes:
            if (
                probe.method in CHANGING
                and probe.back_office
                and (who.name != "anonymous" or probe.path.startswith("/console"))
            ):
                s = await record("no-csrf", who, probe, csrf=False)
                if s.status != 403:
                    csrf_failures.append(f"{who.name} {probe.method} {probe.path} -> {s.status}")
    after = await snapshot()
    changed = sorted(t for t in before if before[t] != after[t])

    # 2. The matrix: every identity, every route and method, the CSRF token sent; the routes
    # that end the session come last.
    for who in identities:
        for probe in probes:
            if not probe.ends_session:
                await record("matrix", who, probe, csrf=True)

    # 3. Pages and lists with the parameters that widen them, read by those who read letters.
    for who in (by_name["probe_supervisor"], by_name["probe_leader"], by_name[OWNER]):
        for probe in query_probes(probes, values):
            await record("query", who, probe, csrf=True)

    # 4. The roles, with bodies that pass validation, change nothing of another unit's (but the
    # supervisors' supervision notes).
    before = await snapshot()
    outsiders_wrote = []
    for who in staff[:-1]:
        for probe in outsider_probes(app, values):
            if who.name == "probe_supervisor" and "supervis" in probe.endpoint:
                continue
            body = filled(values, probe.path.startswith("/console"))
            s = await record("outsider", who, probe, csrf=True, body=body)
            if 200 <= s.status < 300:
                outsiders_wrote.append(f"{who.name} {probe.method} {probe.path} -> {s.status}")
    after = await snapshot()
    outsiders_changed = sorted(t for t in before if before[t] != after[t])

    # 5. URL arguments that name nothing: 4xx, never 5xx.
    for who in (by_name["probe_admin"], by_name["probe_supervisor"], by_name[OWNER]):
        for probe in missing_probes(app):
            await record("missing", who, probe, csrf=True)

    # Nothing above may have ended a session: a logged-out identity would probe as anonymous.
    logged_out = [who.name for who in staff if (await who.client.get("/api/me")).status_code != 200]
    # 6. Every change with a body that passes validation, as every role, on their own objects:
    # deeper into the handlers, still no 5xx and no leak (last: it changes what it may).
    for who in staff:
        for probe in probes:
            if probe.method in CHANGING and not probe.ends_session:
                body = filled(values, probe.path.startswith("/console"))
                await record("filled", who, probe, csrf=True, body=body)
    cookies = {who.name: session_cookie(who) for who in staff}
    for who in identities:
        for probe in probes:
            if probe.ends_session:
                await record("matrix", who, probe, csrf=True)
    # Logging out ends the session on the server, not only in the browser.
    replayed = []
    for name, cookie in cookies.items():
        r = await app.test_client().get("/api/me", headers={"Cookie": f"ms_session={cookie}"})
        if r.status_code != 401:
            replayed.append(f"{name}: GET /api/me with the old cookie -> {r.status_code}")

    elapsed = time.monotonic() - started
    errors = [s for s in sent if s.status >= 500]
    leaks = [s for s in sent if s.leaks and s.who != OWNER]
    control = {k for s in sent if s.who == OWNER for k in s.leaks}
    # What shows the writer must stay out of browsers' and proxies' caches.
    cached = [s for s in sent if s.leaks and "no-store" not in s.cache_control]
    anonymous_in = [
        s
        for s in sent
        if s.who == "anonymous"
        and s.probe.back_office
        and s.probe.endpoint not in LOGIN_ENDPOINTS
        and not refused(s.status, s.location)
    ]
    rules = {(p.rule, p.endpoint) for p in probes}
    backend = "postgres" if db.startswith("postgres") else "sqlite"
    figures = (
        f"[{backend}] routes {len(rules)}, route×method {len(probes)}, "
        f"identities {len(identities)} ({', '.join(i.name for i in identities)}), "
        f"requests sent {len(sent)}, refused (401/403/login redirect) "
        f"{sum(refused(s.status, s.location) for s in sent)}, "
        f"other 4xx {sum(400 <= s.status < 500 and s.status not in (401, 403) for s in sent)}, "
        f"2xx {sum(200 <= s.status < 300 for s in sent)}, 5xx {len(errors)}, "
        f"leaks found {len(leaks)}, cacheable identity {len(cached)}, "
        f"anonymous let in {len(anonymous_in)}, "
        f"CSRF not refused {len(csrf_failures)}, tables changed without CSRF {len(changed)}, "
        f"another unit's objects changed {len(outsiders_wrote)} "
        f"(tables {len(outsiders_changed)}), "
        f"positive control saw {sorted(control)}, "
        f"{elapsed:.1f} s ({seeded - started:.1f} s seeding and logging in)"
    )
    print("\naccess matrix: " + figures)
    _write_figures(backend, figures, sent)

    def show(rows: list[Sent]) -> str:
        return "\n".join(
            f"  {s.pass_} {s.who} {s.probe.method} {s.probe.path} -> {s.status} {s.leaks or ''}"
            for s in rows[:40]
        )

    problems = [
        ("5xx", show(errors)),
        ("the probe writer's identity shown to others", show(leaks)),
        ("the probe writer's identity in a response that may be cached", show(cached)),
        ("anonymous let into the back office", show(anonymous_in)),
        ("changes without a CSRF token not refused", "\n".join(csrf_failures[:40])),
        ("tables changed by requests without a CSRF token", ", ".join(changed)),
        ("sessions ended before the logout routes", ", ".join(logged_out)),
        ("sessions alive after logging out", "\n".join(replayed)),
        ("another unit's objects changed by the roles", "\n".join(outsiders_wrote[:40])),
        ("tables changed by the roles' changes to another unit", ", ".join(outsiders_changed)),
    ]
    if not control >= {"name", "mobile", "openid"}:
        problems.append(("the probe letters' handler did not see the writer", str(control)))
    report = "\n".join(f"{title}:\n{rows}" for title, rows in problems if rows)
    assert not report, report


def _write_figures(backend: str, figures: str, sent: list[Sent]) -> None:
    """The figures of both backends in one file, and every request of this one in a table."""
    ARTIFACT.parent.mkdir(exist_ok=True)
    lines = ARTIFACT.read_text(encoding="utf-8").splitlines() if ARTIFACT.exists() else []
    lines = [line for line in lines if not line.startswith(f"[{backend}]")] + [figures]
    ARTIFACT.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    rows = ["pass\twho\tmethod\tpath\tstatus\tlocation\tleaks"] + [
        f"{s.pass_}\t{s.who}\t{s.probe.method}\t{s.probe.path}\t{s.status}\t{s.location}\t"
        + ",".join(s.leaks)
        for s in sent
    ]
    ARTIFACT.with_name(f"access-matrix-{backend}.tsv").write_text(
        "\n".join(rows) + "\n", encoding="utf-8"
    )
