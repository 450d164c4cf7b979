"""The demo knowledge base that `make run` shows: published entries the bot answers from, one
edit waiting for review, synonyms, and unanswered questions to fold back in."""

from __future__ import annotations

from knowledge import attention, workflow
from knowledge.demo import DEMO_ASKS, DEMO_ENTRIES, seed_knowledge_demo
from knowledge.live import CHANGES_KEY, KnowledgeIndex
from knowledge.models import Ask, Entry, EntryVersion, SynonymGroup


async def test_demo_knowledge_base(kb_units, actors, clock, redis):
    assert await seed_knowledge_demo(clock, redis) == len(DEMO_ENTRIES)
    assert await seed_knowledge_demo(clock, redis) == 0  # idempotent
    assert await Entry.filter(status="published").count() == len(DEMO_ENTRIES) - 1
    assert await Entry.filter(live__isnull=True).count() == 0
    assert await Ask.all().count() == len(DEMO_ASKS)
    # Normalised as the matcher reads them: a pair its lexicon already joins is no group.
    groups = await SynonymGroup.all().values_list("words", flat=True)
    assert len(groups) >= 3 and all(len(set(g)) == len(g) >= 2 for g in groups)
    assert await EntryVersion.filter(action="publish").count() == len(DEMO_ENTRIES)
    assert [m.split(":", 1)[1] for m in await redis.zrange(CHANGES_KEY, 0, -1)] == ["all"]

    # The pending edit: the reviewer (who edited nothing) can publish it.
    pending = await Entry.get(external_id="demo-sbk-2")
    assert pending.status == "review" and pending.live["version"] == 1 and pending.version == 2
    fresh = await workflow.review_entry(
        actors["reviewer"], pending.id, approve=True, clock=clock, redis=redis
    )
    assert fresh.live["answer"].endswith("电子社保卡就医购药。")

    index = KnowledgeIndex(redis)
    decision = await index.decide("怎么办理清源市居住证")
    jzz = await Entry.get(external_id="demo-jzz-1")
    assert decision.candidates[0].entry == str(jzz.id)

    groups = await attention.list_unanswered(
        actors["editor"], since=clock.today().replace(day=1), until=clock.today()
    )
    assert groups[0].text.startswith("医保异地就医怎么备案") and groups[0].count == 3
