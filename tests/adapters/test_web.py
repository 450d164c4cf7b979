"""The citizens' web chat API and the public status page, on the real Quart test client."""

from __future__ import annotations

import re

from letters.models import Letter

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
    status, data = await say(client, "长" * 1001)
    assert status == 400 and "太长" in data["error"]["message"]
    status, data = await say(client, action="explode")
    assert status == 400
    resp = await client.post("/api/chat", data="not json", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400


async def test_chat_page_is_public_and_served(bot_app):
    resp = await bot_app.test_client().get("/chat")
    html = await resp.get_data(as_text=True)
    assert resp.status_code == 200 and "政务智能问答" in html and "chat.js" in html
