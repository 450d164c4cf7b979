"""The citizens' web chat API and the public status page, on the real Quart test client."""

from __future__ import annotations

import datetime as dt
import re

from letters.models import Letter
from letters.writer import unseal

SESSION = "web-session-0123456789"


async def say(client, text: str = "", *, action: str = "", message_id: str = "", session=SESSION):
    body = {"session": session, "text": text, "action": action}
    if message_id:
        body["message_id"] = message_id
    resp = await client.post("/api/chat", json=body)
    return resp.status_code, await resp.get_json()


def joined(data) -> str:
    return "\n".join(r["text"] for r in data["replies"])


async def test_a_question_is_answered_with_feedback_choices(bot_app):
    status, data = await say(bot_app.test_client(), "外地人在清源怎么申领居住证")
    assert status == 200
    assert "派出所" in data["replies"][0]["text"]
    assert data["replies"][1]["choices"] == [
        {"value": "1", "label": "已解决"},
        {"value": "2", "label": "未解决"},
    ]


async def test_leave_a_letter_and_look_it_up(bot_app):
    client = bot_app.test_client()
    for text in ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "王五", "跳过"]:
        status, _ = await say(client, text)
        assert status == 200
    status, first = await say(client, "1", message_id="confirm")
    _, retry = await say(client, "1", message_id="confirm")  # the page retries after a timeout
    assert first == retry and await Letter.all().count() == 1
    code = re.search(r"跟踪码：(\S+)", joined(first)).group(1)
    resp = await client.get(f"/api/public/letters/{code}")
    assert resp.status_code == 200
    public = await resp.get_json()
    assert public["status_label"] == "待甄别" and "王五" not in str(public)
    page = await client.get(f"/status/{code}")
    assert page.status_code == 200 and code in await page.get_data(as_text=True)


async def test_bad_requests_get_chinese_errors(bot_app):
    client = bot_app.test_client()
    status, data = await say(client, "你好", session="x")
    assert status == 400 and "会话" in data["error"]["message"]
    status, data = await say(client, "长" * 5001)
    assert status == 400 and "5000字以内" in data["error"]["message"]
    page = await (await client.get("/chat")).get_data(as_text=True)
    assert 'maxlength="5000"' in page  # the page cuts nothing the API would take
    status, data = await say(client, action="explode")
    assert status == 400
    resp = await client.post("/api/chat", data="not json", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400


async def test_chat_page_is_public_and_served(bot_app):
    resp = await bot_app.test_client().get("/chat")
    html = await resp.get_data(as_text=True)
    assert resp.status_code == 200 and "政务智能问答" in html and "chat.js" in html


# ------------------------------------------------------------------ the page's own conversation


async def page_says(client, text: str = "", *, action: str = "", shown: str = ""):
    """What chat.js sends: no session in the body, the cookie names the conversation."""
    resp = await client.post("/api/chat", json={"text": text, "action": action, "shown": shown})
    assert resp.status_code == 200, await resp.get_json()
    return joined(await resp.get_json())


async def transcript(client) -> list[dict]:
    resp = await client.get("/api/chat/history")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    return (await resp.get_json())["messages"]


async def test_the_page_cookie_keeps_the_transcript_and_the_draft_across_reloads(bot_app, bot_deps):
    client = bot_app.test_client()
    page = await client.get("/chat")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("ms_chat=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = re.match(r"ms_chat=([^;]+)", cookie).group(1)
    assert len(token) >= 40  # 32 random bytes: not guessable

    await page_says(client, action="welcome")
    await page_says(client, action="letter", shown="我要留言")
    await page_says(client, "我家小区门口的路灯坏了三个月一直没人来修")
    assert "请选择留言类型" in await page_says(client, "1")
    await page_says(client, "1", shown="1. 咨询")
    await page_says(client, "王五")

    # A reload (or a visit to /status and back): the same conversation, shown again …
    again = await client.get("/chat")
    assert "ms_chat=" not in again.headers.get("Set-Cookie", "")
    said = await transcript(client)
    mine = [m["text"] for m in said if m["who"] == "me"]
    assert mine == ["我要留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1. 咨询", "王五"]
    assert "智能问答服务" in said[0]["text"]  # the welcome came first
    assert said[-1]["text"].startswith("请发送您的手机号")
    # … and the letter carries on where it was: "13800138000" is the mobile, not a question.
    assert "138****8000" in await page_says(client, "13800138000")
    said = await transcript(client)
    assert "13800138000" not in str(said) and said[-2] == {"who": "me", "text": "138****8000"}
    assert [c["label"] for c in said[-1]["choices"]] == ["提交", "重新填写内容", "取消留言"]
    assert "跟踪码" in await page_says(client, "1", shown="1. 提交")

    # Nobody else sees it, and the id kept on the letter does not open it.
    stranger = bot_app.test_client()
    assert await transcript(stranger) == []
    letter = await Letter.get(channel="web")
    writer = unseal(bot_deps.settings, letter.writer_sealed)
    assert writer.platform_user_id and token not in writer.platform_user_id
    resp = await stranger.post("/api/chat", json={"session": writer.platform_user_id, "text": "1"})
    assert resp.status_code == 200 and "跟踪码" not in joined(await resp.get_json())


async def test_a_retried_message_is_in_the_transcript_once(bot_app):
    client = bot_app.test_client()
    await client.get("/chat")
    for _ in range(2):
        resp = await client.post("/api/chat", json={"text": "留言", "message_id": "m-1"})
        assert resp.status_code == 200
    assert [m["text"] for m in await transcript(client) if m["who"] == "me"] == ["留言"]


async def test_a_shown_label_must_belong_to_what_was_sent(bot_app):
    client = bot_app.test_client()
    await client.get("/chat")
    await page_says(client, "留言", shown="我在别处说了别的话")
    await page_says(client, action="help", shown="随便写")
    assert [m["text"] for m in await transcript(client) if m["who"] == "me"] == [
        "留言",
        "使用说明",
    ]


async def test_a_message_without_the_page_s_cookie_or_a_session_is_refused(bot_app):
    client = bot_app.test_client()
    resp = await client.post("/api/chat", json={"text": "留言"})
    assert resp.status_code == 400 and "刷新页面" in (await resp.get_json())["error"]["message"]
    assert await transcript(client) == []
    await client.get("/chat")
    resp = await client.post("/api/chat", json={"text": "留言"})
    assert resp.status_code == 200 and "ms_chat=" in resp.headers["Set-Cookie"]  # renewed
    assert len(await transcript(client)) == 2


# ------------------------------------------------------------------ the promised date


async def test_status_shows_the_promised_date_before_acceptance(bot_app, clock):
    # Past midnight in Beijing, still the day before in UTC: the promise counts Beijing's day.
    clock.set(dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC))
    client = bot_app.test_client()
    await client.get("/chat")
    for text in ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过", "跳过"]:
        await page_says(client, text)
    done = await page_says(client, "1")
    code = re.search(r"跟踪码：(\S+)", done).group(1)
    promised = re.search(r"将于(\d+)年(\d+)月(\d+)日前答复", done)
    expected = dt.date(*map(int, promised.groups())).isoformat()
    assert expected == "2026-12-09"

    public = await (await client.get(f"/api/public/letters/{code}")).get_json()
    assert public["status"] == "new" and public["due_on"] is None
    assert public["expected_due_on"] == expected
    assert f"答复期限：预计 {expected}" in await page_says(client, f"查询 {code}")
