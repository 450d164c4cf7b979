"""Every state-changing route leaves an audit record, whoever calls it and however it ends.

Walks the app's URL map, so a route added later is covered without touching this test.
"""

from __future__ import annotations

import pytest

from org.models import AuditRecord, Staff, Unit
from org.security_log import open_counts
from tests.org.conftest import login_as

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def state_changing_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods & STATE_CHANGING):
            yield rule, method


async def _args(admin_session) -> dict[str, int]:
    editor = await Staff.get(username="editor")
    unit = await Unit.get(code="QY-HX-DQ")
    r = await admin_session.post("/api/me/tokens", json={"name": "审计覆盖测试"})
    # Ids of objects that may not exist answer 404, which must be audited too.
    return {
        "staff_id": editor.id,
        "unit_id": unit.id,
        "token_id": (await r.get_json())["id"],
        "account_id": 1,
        "post_id": 1,
        "rule_id": 1,
        "wording_rule_id": 1,
        "filing_id": 1,
        "entry_id": 1,
        "topic_id": 1,
        "group_id": 1,
        "letter_id": 1,
        "model_id": 1,
        "draft_id": 1,
        "publication_id": 1,
        "task_id": 1,
        "source_id": 1,
        "item_id": 1,
        "annual_id": 1,
        "submission_id": 1,
        "code": "ABCDE-FGHJK",
        "day": "2027-01-01",
        "year": 2026,
        "quarter": 3,
    }


def _url(rule, args) -> str:
    return rule.build({name: args[name] for name in rule.arguments})[1]


async def _call(client, method, url, csrf: str | None):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if url.startswith("/console"):
        form = {"csrf_token": csrf} if csrf else {}
        return await client.open(url, method=method, form=form, headers=headers)
    return await client.open(url, method=method, json={}, headers=headers)


async def test_app_has_state_changing_routes(app):
    assert len(list(state_changing_rules(app))) >= 20


async def test_every_state_changing_route_audits_for_staff(app, deps, sender, demo):
    """Staff's actions are audited; the citizens' and platforms' endpoints (chat, WeChat,
    Telegram) never act as staff, so their refusals are counted in the security log instead."""
    admin = await login_as(app, sender, "admin")
    args = await _args(admin)
    missing = []
    for rule, method in state_changing_rules(app):
        session = await login_as(app, sender, "admin")  # logout routes end the session
        before = await AuditRecord.all().count()
        last_id = (await AuditRecord.all().order_by("-id").first()).id
        counted = sum((await open_counts(deps.redis)).values())
        resp = await _call(session.client, method, _url(rule, args), session.csrf)
        records = await AuditRecord.filter(id__gt=last_id)
        public = not rule.rule.startswith(("/console", "/api/")) or rule.rule == "/api/chat"
        if public and sum((await open_counts(deps.redis)).values()) > counted:
            continue
        if await AuditRecord.all().count() <= before or not records:
            missing.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert not missing, "state-changing routes without an audit record: " + ", ".join(missing)


async def test_every_state_changing_route_records_anonymous_calls(app, deps, settings, demo):
    """Anonymous refusals are counted in the security log (or audited by a service that records
    its own refusals, as logins are); none succeeds."""
    settings.refusal_limit = 0  # this test counts the records, not the throttle
    admin_args = {
        "staff_id": 1,
        "unit_id": 1,
        "token_id": 1,
        "account_id": 1,
        "post_id": 1,
        "rule_id": 1,
        "wording_rule_id": 1,
        "filing_id": 1,
        "entry_id": 1,
        "topic_id": 1,
        "group_id": 1,
        "letter_id": 1,
        "model_id": 1,
        "draft_id": 1,
        "publication_id": 1,
        "task_id": 1,
        "source_id": 1,
        "item_id": 1,
        "annual_id": 1,
        "submission_id": 1,
        "code": "ABCDE-FGHJK",
        "day": "2027-01-01",
        "year": 2026,
        "quarter": 3,
    }
    missing = []
    for rule, method in state_changing_rules(app):
        last = await AuditRecord.all().order_by("-id").first()
        last_id = last.id if last else 0
        counted = sum((await open_counts(deps.redis)).values())
        resp = await _call(app.test_client(), method, _url(rule, admin_args), None)
        new = await AuditRecord.filter(id__gt=last_id)
        if not new and sum((await open_counts(deps.redis)).values()) <= counted:
            missing.append(f"{method} {rule.rule} -> {resp.status_code}")
        elif resp.status_code < 400 and rule.endpoint not in {"console.login_submit"}:
            pytest.fail(f"anonymous {method} {rule.rule} succeeded with {resp.status_code}")
        else:
            assert all(r.outcome != "ok" for r in new), (rule.rule, [r.action for r in new])
    assert not missing, "anonymous calls recorded nowhere: " + ", ".join(missing)
