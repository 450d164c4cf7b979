"""Retry storm: two ``minsheng serve`` and two ``minsheng worker`` processes on one PostgreSQL
and one redis-server (the probe's own). Citizens on the web chat and on WeChat each ask a
question and leave a letter; every message is delivered several times at once, the copies
spread over both servers (same session and message id; same MsgId), and the confirmation is
moreover tapped twice.

One letter per conversation, one reply per message (every copy gets the same replies and the
conversation moves one step), the question log written once although both workers flush it,
no customer-service message pushed for a retried message, nothing answers 5xx. The figures go
to the output and to test-artifacts/retry-storm.txt."""

from __future__ import annotations

import pytest

from tests.probes.harness import retry_storm, write_figures


@pytest.fixture
def stack(on_base, stub):
    return on_base.start(servers=2, workers=2, env={"MINSHENG_WECHAT_API_BASE": stub.url})


async def test_retried_messages_make_one_letter_and_one_reply(stack, stub):
    figures = await retry_storm(stack, stub, conversations=20, copies=3)
    write_figures(
        "retry-storm.txt",
        "Retry storm: 2 serve + 2 worker processes, each message delivered 3 times",
        [*figures.lines(), f"setup (seconds)               {stack.phases_text()}"],
    )
    context = "\n".join(figures.lines()) + "\n" + stack.tails()
    t = figures.tally
    assert t.errors_5xx == 0 and t.refused_503 == 0 and t.transport_errors == 0, context
    assert t.other_4xx == 0 and t.given_up == 0, context
    assert figures.acknowledged == figures.conversations, context
    assert figures.without_letter == 0 and figures.extra_letters == 0, context
    assert figures.differing == 0 and figures.empty == 0 and figures.off_step == 0, context
    assert figures.asks == figures.conversations and figures.extra_asks == 0, context
    assert figures.pushed == 0, context
    assert not figures.dead, context
