"""Bad input never answers 5xx: every state-changing route of the app, anonymous and logged in.

The routes come from ``app.url_map``, so a route added later is fuzzed without anyone writing a
test. Field names come from the code itself (every ``.get("name")`` and ``["name"]``), so the
fuzzed documents reach the services' validation, not only the body parser. PostgreSQL only: it is
the stricter of the two databases (integer ranges, text encodings) and the one in production.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from accounts.demo import seed_demo_accounts
from letters.demo import seed_demo_letters
from org.demo import seed_demo
from tests.org.conftest import login_as

ROOT = Path(__file__).resolve().parents[1]
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Logged-in identities: an administrator and content roles, so both kinds of service run.
USERS = ["admin", "editor", "reviewer", "leader", "supervisor"]
# Ending the session would make the rest of the run anonymous.
KEEP_SESSION = {"org_api.logout", "console.logout"}


def _field_names() -> list[str]:
    names: set[str] = set()
    pattern = re.compile(r"""(?:\.get\(|\[)\s*"([a-z][a-z0-9_]{1,30})"\s*[,)\]]""")
    for package in ("org", "accounts", "knowledge", "letters", "adapters", "console", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


FIELDS = _field_names()


def changing_routes(app, ids=(1,), codes=("demo",)) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) of every state-changing rule, its arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & CHANGING):
            for i, code in zip(ids, codes * len(ids), strict=False):
                args = {
                    name: (i if isinstance(conv, IntegerConverter) else code)
                    for name, conv in rule._converters.items()
                }
                found.append((method, rule.build(args)[1], rule.endpoint))
    return sorted(set(found))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e400", "２０２６-１３-４５", "\x00", "a" * 5000, "<x>"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)
form_values = st.one_of(
    st.text(max_size=40), st.sampled_from(["", "1", "-1", "99999999999", "x" * 3000])
)

# Bodies that once answered 500 (issue 12 item 4), always tried on every route.
NASTY = [
    b"\xff",
    b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b"NaN",
    b'{"x": Infinity}',
    b"",
    b"null",
    b"[]",
    b'"\\ud800"',
]


@st.composite
def requests(draw, routes):
    method, path, endpoint = draw(st.sampled_from(routes))
    who = draw(st.sampled_from([None, *USERS]))
    kind = draw(st.sampled_from(["json", "json", "form", "bytes", "nasty"]))
    headers = {}
    if kind == "json":
        body = json.dumps(draw(documents), ensure_ascii=draw(st.booleans())).encode()
        headers["Content-Type"] = "application/json"
    elif kind == "form":
        from urllib.parse import urlencode

        body = urlencode(draw(st.dictionaries(st.sampled_from(FIELDS), form_values, max_size=8)))
        body = body.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif kind == "bytes":
        body = draw(st.binary(max_size=200))
        headers["Content-Type"] = draw(
            st.sampled_from(
                [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=xx",
                    "multipart/form-data",
                    "text/xml",
                    "text/plain",
                ]
            )
        )
    else:
        body = draw(st.sampled_from(NASTY))
        headers["Content-Type"] = "application/json"
    return method, path, endpoint, who, body, headers


@pytest.fixture
async def fuzz_app(app, deps, db):
    if not db.startswith("postgres"):
        pytest.skip("fuzzed against PostgreSQL (the production database) only")
    deps.settings.refusal_limit = 0  # every request reaches its route, however many are refused
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_demo_letters(deps)
    return app


class Clients:
    def __init__(self, app, sender):
        self.app = app
        self.sender = sender
        self.sessions = {}

    async def send(self, method, path, endpoint, who, body, headers):
        if who is None or endpoint in KEEP_SESSION:
            client = self.app.test_client()
        else:
            if who not in self.sessions:
                self.sessions[who] = await login_as(self.app, self.sender, who)
            s = self.sessions[who]
            client = s.client
            headers = {**headers, "X-CSRF-Token": s.csrf}
        return await client.open(path, method=method, data=body, headers=headers)


async def test_nasty_bodies_answer_400_everywhere(fuzz_app, sender):
    """Every known-bad body on every route, anonymous and as an administrator: never a 5xx."""
    clients = Clients(fuzz_app, sender)
    routes = changing_routes(fuzz_app)
    statuses: Counter[int] = Counter()
    failures = []
    for method, path, endpoint in routes:
        for who in (None, "admin"):
            for body in NASTY[:3]:
                r = await clients.send(
                    method, path, endpoint, who, body, {"Content-Type": "application/json"}
                )
                statuses[r.status_code] += 1
                if r.status_code >= 500:
                    failures.append((method, path, who, body[:10], r.status_code))
    print(f"\nnasty bodies: {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert not failures, failures


async def test_json_login_rejects_malformed_body_with_message(fuzz_app):
    client = fuzz_app.test_client()
    for body in (b"\xff", b"[" * 1000 + b"]" * 1000, b"{"):
        r = await client.post(
            "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        error = (await r.get_json())["error"]
        assert error["code"] == "bad_json"
        assert "JSON" in error["message"]


async def test_fuzz_every_changing_route(fuzz_app, sender):
    clients = Clients(fuzz_app, sender)
    routes = changing_routes(
        fuzz_app, ids=(1, 2, 3, 2**40), codes=("demo", "x", "ABCDEFGHJK", "%FF")
    )
    seen: Counter[int] = Counter()
    failures = []

    @settings(
        # A few hundred keep the suite fast; FUZZ_EXAMPLES=5000 for a long hunt.
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data):
        failures.append(data.draw(requests(routes)))

    # Hypothesis drives synchronous functions: draw the requests first, then send them.
    run()
    sent, failures = failures, []
    for method, path, endpoint, who, body, headers in sent:
        r = await clients.send(method, path, endpoint, who, body, headers)
        seen[r.status_code] += 1
        if r.status_code >= 500:
            failures.append((method, path, who, body[:80], r.status_code))
    statuses = dict(sorted(seen.items()))
    print(f"\nfuzz: {len(sent)} requests over {len(routes)} routes, statuses {statuses}")
    assert not failures, failures[:10]
