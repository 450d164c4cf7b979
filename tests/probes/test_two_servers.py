"""Scale-out: two ``minsheng serve`` processes on two ports, one ``minsheng worker``, one
PostgreSQL and one redis-server, as README's deployment runs them behind a proxy. A citizen's
conversation whose messages alternate between the two processes goes on step by step (its state
lives in Redis, not in a process), and the letter written across both is one letter; its
tracking code is then looked up on the other process."""

from __future__ import annotations

import random
import secrets

import httpx
import pytest

from adapters.wechat_protocol import parse_xml
from tests.probes.harness import (
    STORM_STEPS,
    Tally,
    letters_with,
    post_chat,
    tag,
    wechat_query,
    wechat_xml,
)


@pytest.fixture
def stack(on_base, stub):
    return on_base.start(servers=2, workers=1, env={"MINSHENG_WECHAT_API_BASE": stub.url})


async def _wechat(client: httpx.AsyncClient, url: str, openid: str, msg_id: int, text: str):
    r = await client.post(
        f"{url}/wechat/demo?{wechat_query()}", content=wechat_xml(openid, msg_id, text)
    )
    assert r.status_code == 200, r.text
    return parse_xml(r.content)["Content"]


async def test_a_conversation_alternating_between_two_processes_is_one_letter(stack, stub):
    urls = [s.url for s in stack.servers]
    assert len(set(urls)) == 2
    marker = f"两进程{tag(random.randrange(26**4, 26**5))}"
    question = f"{marker}我家楼下的早餐摊每天凌晨四点就开始吵闹，能不能管一管"
    openid, session = f"o{secrets.token_hex(10)}", secrets.token_hex(12)
    msg_id = random.randrange(10**9, 2 * 10**9)
    wechat_replies, web_replies = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for i, (text, expect) in enumerate(STORM_STEPS):
            text = text or question
            # message i on WeChat goes to process i % 2, on the web chat to the other one
            answer = await _wechat(client, urls[i % 2], openid, msg_id + i, text)
            assert expect in answer, (i, answer, stack.tails())
            wechat_replies.append(answer)
            web = await post_chat(
                client,
                urls[(i + 1) % 2],
                {
                    "session": session,
                    "text": text.replace(marker, marker + "网"),
                    "message_id": f"m{i}",
                },
                Tally(),
                retry=False,
            )
            assert expect in "\n".join(web), (i, web, stack.tails())
            web_replies.append("\n".join(web))

        stored = await letters_with(stack, marker)
        assert len(stored) == 2, stored
        on_wechat = [r for r in stored if f"{marker}网" not in r["content"]]
        on_web = [r for r in stored if f"{marker}网" in r["content"]]
        assert len(on_wechat) == 1 and len(on_web) == 1
        for row, replies in ((on_wechat[0], wechat_replies), (on_web[0], web_replies)):
            code = row["code"]
            assert code.replace("-", "") in replies[-1].replace("-", "")

        # the tracking code, asked on the process that did not take the confirmation
        code = on_wechat[0]["code"]
        last = len(STORM_STEPS) - 1
        status = await _wechat(client, urls[(last + 1) % 2], openid, msg_id + 100, f"查询 {code}")
        assert "状态：" in status and "没有找到" not in status, status
    assert not stack.dead_processes(), stack.tails()


def test_several_processes_announce_themselves_once_one_answers(on_base):
    """`minsheng serve --workers 2` printed where to find the product before its processes had
    started: the parent listens at once, and a newcomer's first page waited out their startup.
    The banner now comes once a process answers, and the chat answers right after it."""
    from tests.probes.harness import free_port, serving

    port = free_port()
    env = {**on_base.env, "MINSHENG_PORT": str(port)}
    with serving("--workers", "2", env=env) as banner:
        assert "2 个 web 进程" in banner
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/healthz", timeout=2).status_code in {200, 503}
        r = httpx.post(f"{url}/api/chat", json={"session": secrets.token_hex(12), "text": "你好"},
                       timeout=2)  # fmt: skip
        assert r.status_code == 200 and r.json()["replies"], r.text
