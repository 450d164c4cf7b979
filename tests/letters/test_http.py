"""The HTTP side: the staff API and the public status page."""

from __future__ import annotations

import logging

import pytest

from letters.codes import format_code
from letters.models import Letter
from org.models import AuditRecord
from tests.org.conftest import login_as

BODY = {
    "kind": "consultation",
    "content": "来电咨询：失业保险金怎么申领，需要哪些材料？",
    "writer": {"name": "李四", "mobile": "13612345678"},
    "idempotency_key": "phone-2026-11-23-001",
}


async def test_staff_flow_over_http(app, sender, units, deps):
    deps.settings.letter_review_kinds = ""
    xf = await login_as(app, sender, "xfhandler")
    r = await xf.post("/api/letters", json=BODY)
    assert r.status_code == 201, await r.get_json()
    letter = await r.get_json()
    assert letter["channel"] == "console" and letter["writer"]["mobile"] == "13612345678"
    r = await xf.post("/api/letters", json=BODY)
    assert r.status_code == 200 and (await r.get_json())["id"] == letter["id"]
    r = await xf.get("/api/letters/inbox?queue=screening")
    assert (await r.get_json())["total"] == 1
    r = await xf.post(f"/api/letters/{letter['id']}/accept", json={"unit_id": "abc"})
    assert r.status_code == 404 and "不存在" in (await r.get_json())["error"]["message"]
    r = await xf.post(f"/api/letters/{letter['id']}/accept", json={"unit_id": units["QY-RSJ"].id})
    assert r.status_code == 200
    body = await r.get_json()
    assert body["status"] == "handling" and body["writer"]["masked"] is True  # left XFJ

    handler = await login_as(app, sender, "handler")
    r = await handler.get("/api/letters/inbox")
    items = (await r.get_json())["items"]
    assert [i["id"] for i in items] == [letter["id"]] and items[0]["days_left"] == 15
    r = await handler.post(f"/api/letters/{letter['id']}/reply", json={"text": "请带身份证办理。"})
    assert r.status_code == 200 and (await r.get_json())["status"] == "replied"
    r = await handler.get(f"/api/letters/{letter['id']}")
    timeline = [e["action"] for e in (await r.get_json())["timeline"]]
    assert timeline == ["received", "accepted", "assigned", "reply_written", "replied"]

    supervisor = await login_as(app, sender, "supervisor")
    r = await supervisor.get("/api/letters/export.csv")
    assert r.status_code == 200 and "136****5678" in (await r.get_data(as_text=True))
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    r = await supervisor.get("/api/letters/daily-check?since=2026-11-01")
    assert r.status_code == 200
    r = await supervisor.get("/api/letters/daily-check?since=yesterday")
    assert r.status_code == 400


async def test_public_status_shows_no_identity_and_no_notes(app, deps, handling, actors, units):
    from letters.routing import transfer_letter

    letter = await handling(channel="web")
    # An internal note on the timeline that must not reach the citizen.
    await transfer_letter(
        deps,
        actors["handler"],
        letter.id,
        {"unit_id": units["QY-GJJ"].id, "reason": "内部备注：此人多次来信"},
    )
    client = app.test_client()
    r = await client.get(f"/api/public/letters/{letter.code[:5]}-{letter.code[5:]}")
    assert r.status_code == 200
    body = await r.get_json()
    assert body["status"] == "handling" and body["unit_name"] == "清源市住房公积金管理中心"
    assert body["due_on"] == "2026-12-08" and body["replies"] == []
    text = await r.get_data(as_text=True)
    for secret in ("张三丰", "张**", "13812345678", "138****", "oAbCdEf", "内部备注", "timeline"):
        assert secret not in text
    assert set(body) == {
        "code",
        "kind",
        "kind_label",
        "status",
        "status_label",
        "unit_name",
        "received_on",
        "accepted_on",
        "due_on",
        "expected_due_on",
        "replied_on",
        "replies",
        "may_rate",
        "decline_reason",  # one of 001 §29's grounds, empty unless declined
    }


async def test_unknown_and_malformed_codes_answer_the_same_404(app, units):
    client = app.test_client()
    answers = []
    for code in ("ABCDE-FGHJK", "nonsense", "0000000000"):
        r = await client.get(f"/api/public/letters/{code}")
        answers.append((r.status_code, await r.get_json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == (404, {"error": {"code": "not_found", "message": "来信不存在"}})


async def test_rate_limit_per_client_address(app, deps, units):
    deps.settings.public_status_rate_limit = 3
    client = app.test_client()
    codes = [(await client.get("/api/public/letters/ABCDE-FGHJK")).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    r = await client.get("/api/public/letters/ABCDE-FGHJK")
    assert "频繁" in (await r.get_json())["error"]["message"]
    other = await client.get(
        "/api/public/letters/ABCDE-FGHJK", scope_base={"client": ("10.1.1.1", 1234)}
    )
    assert other.status_code == 404  # another address has its own budget


async def test_satisfaction_over_http_is_audited(app, deps, handling, actors):
    from letters.replies import write_reply

    deps.settings.letter_review_kinds = ""
    letter = await handling(channel="web")
    await write_reply(deps, actors["handler"], letter.id, {"text": "已答复。"})
    client = app.test_client()
    r = await client.post(f"/api/public/letters/{letter.code}", json={"satisfied": False})
    assert r.status_code == 200 and (await r.get_json())["status"] == "handling"
    assert await AuditRecord.filter(action="letter.rate", outcome="ok").exists()
    r = await client.post(f"/api/public/letters/{letter.code}", json={"satisfied": 1})
    assert r.status_code == 400
    assert (await Letter.get(id=letter.id)).reopened == 1


@pytest.mark.parametrize("path", ["/api/letters", "/api/letters/inbox", "/api/letters/1"])
async def test_staff_api_needs_a_login(app, units, path):
    r = await app.test_client().get(path)
    assert r.status_code == 401


REPLY = "经核实，灵活就业人员可持身份证到人社局二楼窗口办理职工养老保险参保登记。"


@pytest.mark.parametrize("review", [False, True])
async def test_a_web_writer_with_a_mobile_is_told_by_sms_that_the_reply_is_ready(
    app, deps, sender, handling, review, caplog
):
    """The SMS carries the tracking code and the status page's link, never the reply; it goes out
    when the reply is sent (at once, or when a reviewer approves it)."""
    caplog.set_level(logging.DEBUG)
    deps.settings.letter_review_kinds = "*" if review else ""
    deps.settings.public_base_url = "https://minsheng.qingyuan.gov.cn/"
    letter = await handling(channel="web")
    code = format_code(letter.code)
    handler = await login_as(app, sender, "handler")
    reviewer = await login_as(app, sender, "reviewer") if review else None
    sender.sent.clear()
    r = await handler.post(f"/api/letters/{letter.id}/reply", json={"text": REPLY})
    assert r.status_code == 200, await r.get_json()
    if review:
        # Not before the reply is sent; only the reviewer hears of it.
        assert [to for to, _ in sender.sent] == ["13800000003"]
        r = await reviewer.post(f"/api/letters/{letter.id}/reply/review", json={"approve": True})
        assert r.status_code == 200, await r.get_json()
    assert (await Letter.get(id=letter.id)).status == "replied"

    to_writer = [body for to, body in sender.sent if to == "13812345678"]
    assert len(to_writer) == 1, sender.sent
    sms = to_writer[0]
    assert code in sms and f"https://minsheng.qingyuan.gov.cn/status/{code}" in sms
    assert REPLY not in sms and "人社局二楼" not in sms and "养老保险" not in sms
    # The writer's mobile is in no log line and shows masked on the timeline.
    assert "13812345678" not in caplog.text
    r = await handler.get(f"/api/letters/{letter.id}")
    notes = [e.get("note") or "" for e in (await r.get_json())["timeline"]]
    assert any("已短信通知来信人（138****5678）" in n for n in notes), notes
    # The status link opens the reply.
    public = await (await app.test_client().get(f"/api/public/letters/{code}")).get_json()
    assert public["replies"][0]["text"] == REPLY


@pytest.mark.parametrize(
    "channel, writer",
    [
        ("web", {"name": "王五"}),  # no mobile given
        ("wechat", {"mobile": "13812345678", "platform_user_id": "oAbCdEf123456"}),
    ],
)
async def test_no_reply_sms_without_a_mobile_or_off_the_web_chat(
    app, deps, sender, handling, channel, writer
):
    deps.settings.letter_review_kinds = ""
    letter = await handling(channel=channel, writer=writer)
    handler = await login_as(app, sender, "handler")
    sender.sent.clear()
    r = await handler.post(f"/api/letters/{letter.id}/reply", json={"text": REPLY})
    assert r.status_code == 200, await r.get_json()
    assert not [b for _, b in sender.sent if format_code(letter.code) in b]


async def test_status_shows_the_expected_deadline_until_acceptance(app, deps, submit, actors):
    from letters.routing import accept_letter

    letter = await submit("disclosure", channel="web")  # 15 working days
    client = app.test_client()
    body = await (await client.get(f"/api/public/letters/{letter.code}")).get_json()
    assert body["status"] == "new" and body["due_on"] is None
    assert body["expected_due_on"] == "2026-12-14"  # from Monday 23 November, weekends skipped
    page = await client.get(f"/status/{format_code(letter.code)}")
    assert page.status_code == 200

    screener = actors["xfhandler"] if letter.unit.code == "QY-XFJ" else actors["handler"]
    await accept_letter(deps, screener, letter.id, {})
    body = await (await client.get(f"/api/public/letters/{letter.code}")).get_json()
    assert body["due_on"] == "2026-12-14" and body["expected_due_on"] is None
