"""The demo publishing that `make run` shows: sources, a subscription, an urgent repost task,
and drafts waiting for review, returned and scheduled, each with its real timeline."""

from __future__ import annotations

from accounts.demo import seed_demo_accounts
from org.demo import seed_demo
from publishing.demo import seed_demo_publishing
from publishing.models import Draft, DraftEvent, Publication, RepostTask, SourceSubscription
from publishing.wording_rules import seed_wording_rules


async def test_demo_publishing(deps):
    deps.settings.filing_final_unit_code = "QY-BGS"
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_wording_rules(deps.clock)
    assert await seed_demo_publishing(deps) == 3
    assert await seed_demo_publishing(deps) == 0  # idempotent
    statuses = sorted(await Draft.all().values_list("status", flat=True))
    assert statuses == ["returned", "scheduled", "submitted"]
    scheduled = await Draft.get(status="scheduled")
    [p] = await Publication.filter(draft_id=scheduled.id)
    assert p.status == "due" and p.due_at > deps.clock.now()
    actions = (
        await DraftEvent.filter(draft_id=scheduled.id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert list(actions) == ["create", "submit", "approve", "schedule"]
    task = await RepostTask.get()
    assert task.status == "open" and task.urgent and task.due_at > deps.clock.now()
    assert await SourceSubscription.filter(unit_id=task.unit_id).count() == 1  # type: ignore[attr-defined]
