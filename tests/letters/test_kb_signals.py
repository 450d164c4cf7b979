"""A letter whose reply became a knowledge-base entry teaches the office's matcher the citizen's
wording of that entry, without the writer's identity."""

from __future__ import annotations

from knowledge import tuning, workflow
from letters.models import Letter
from letters.replies import propose_kb_entry, write_reply

WRITER = {"name": "王小明", "mobile": "13912345678", "platform_user_id": "oWx9876543210"}


async def test_a_letter_that_became_an_entry_is_a_signal_without_its_writer(deps, handling, actors):
    from quart_app import compose

    compose(deps)  # as create_app, the worker and the command line wire the letters in
    deps.settings.letter_review_kinds = ""
    letter = await handling(
        channel="web",
        title="王小明：灵活就业人员怎么交养老保险，电话13912345678",
        writer=dict(WRITER),
        content="我是自由职业者，想问问怎么参加职工养老保险。",
    )
    other = await handling(channel="web", writer=dict(WRITER))  # replied, never an entry
    for each in (letter, other):
        await write_reply(
            deps, actors["handler"], each.id, {"text": "请携带身份证到社保窗口办理。"}
        )
    entry = await propose_kb_entry(
        deps, actors["handler"], letter.id, {"question": "灵活就业人员怎么参加养老保险"}
    )
    kw = {"clock": deps.clock, "redis": deps.redis}
    assert await tuning.gather_signals(deps) == []  # a draft answers no one: nothing to learn

    await workflow.submit_entry(actors["handler"], entry.id, **kw)
    await workflow.review_entry(actors["reviewer"], entry.id, approve=True, **kw)
    [signal] = [s for s in await tuning.gather_signals(deps) if s.kind == "letter"]
    assert signal.entry == str(entry.id) and signal.positive
    assert "灵活就业人员怎么交养老保险" in signal.text
    for secret in WRITER.values():
        assert secret not in signal.text
    assert (await Letter.get(id=other.id)).kb_entry_id is None
