"""Curation of entries: drafts, review by someone else (先审后发), the live snapshot that keeps
answering while an edit is in review, retiring, versions and audit of every change; topics and
synonyms (000 §27, 000 §14(四), RULES.md sections 1 and 3)."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.errors import Conflict, DomainError, Forbidden, NotFound
from knowledge import entries, synonyms, topics, workflow
from knowledge.live import CHANGES_KEY, VERSION_KEY
from knowledge.models import Entry, EntryVersion, SynonymGroup, Topic
from org.models import AuditRecord


async def actions(entry: Entry) -> list[tuple[int, str, str]]:
    rows = await EntryVersion.filter(entry_id=entry.id).order_by("id")
    return [(v.version, v.action, v.status) for v in rows]


async def audits(action: str) -> list[AuditRecord]:
    return list(await AuditRecord.filter(action=action).order_by("id"))


async def announced(redis) -> list[str]:
    return [m.split(":", 1)[1] for m in await redis.zrange(CHANGES_KEY, 0, -1)]


# ---------------------------------------------------------------- creating


async def test_editor_creates_a_draft_in_their_unit(kb, kb_units, actors):
    entry = await kb.create(
        similar="居住证怎么办\n\n 外地人如何申领居住证 \n居住证怎么办\n怎么办理居住证"
    )
    assert entry.status == "draft" and entry.version == 1 and entry.live is None
    assert entry.unit_id == kb_units["QY-RSJ"].id
    # Blank lines, repeats and the standard question itself are not similar questions.
    assert entry.similar == ["居住证怎么办", "外地人如何申领居住证"]
    assert entry.created_by_id == actors["editor"].staff_id
    assert await actions(entry) == [(1, "create", "draft")]
    [rec] = await audits("kb.entry.create")
    assert rec.object_id == str(entry.id) and rec.after["question"] == "怎么办理居住证"
    assert rec.actor_name == "李晓梅"


async def test_handler_may_propose_an_entry(kb):
    entry = await kb.create("handler", source="letter")
    assert entry.status == "draft" and entry.source == "letter"


@pytest.mark.parametrize("who", ["reviewer", "supervisor", "admin", "leader"])
async def test_roles_that_do_not_write_cannot_create(kb, who):
    with pytest.raises(Forbidden):
        await kb.create(who)
    assert await Entry.all().count() == 0
    assert await audits("kb.entry.create") == []


async def test_editor_cannot_create_for_another_unit(kb, kb_units):
    with pytest.raises(Forbidden) as exc:
        await kb.create(unit_id=kb_units["QY-GJJ"].id)
    assert "本单位" in exc.value.message
    assert await Entry.all().count() == 0


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"question": "  "}, "question", "标准问题"),
        ({"question": "问" * 1001}, "question", "1000"),
        ({"topic_id": 999}, "topic_id", "主题"),
        ({"review_by": "明年"}, "review_by", "复核日期"),
        ({"similar": [1, 2]}, "similar", "相似问法"),
    ],
)
async def test_bad_fields_are_refused_in_chinese(kb, data, field, words):
    with pytest.raises(DomainError) as exc:
        await kb.create(**data)
    assert exc.value.details["field"] == field and words in exc.value.message
    assert await Entry.all().count() == 0 and await EntryVersion.all().count() == 0


# ---------------------------------------------------------------- review


async def test_publication_takes_a_live_snapshot_and_announces_it(kb, actors, redis, clock):
    entry = await kb.create(review_by="2027-05-31")
    entry = await kb.submit(entry)
    assert entry.status == "review" and entry.submitted_by_id == actors["editor"].staff_id
    assert await redis.get(VERSION_KEY) is None  # a submission answers nobody yet
    entry = await kb.review(entry)
    assert entry.status == "published" and entry.published_at == clock.now()
    assert entry.reviewed_by_id == actors["reviewer"].staff_id
    assert entry.live == {
        "question": "怎么办理居住证",
        "similar": ["居住证怎么办", "外地人如何申领居住证"],
        "answer": "携带身份证和居住证明到居住地派出所申领。",
        "version": 1,
    }
    assert entry.review_by == dt.date(2027, 5, 31)
    assert await actions(entry) == [
        (1, "create", "draft"),
        (1, "submit", "review"),
        (1, "publish", "published"),
    ]
    assert await announced(redis) == [f"e{entry.id}"]
    [rec] = await audits("kb.entry.publish")
    assert rec.actor_name == "张志强" and rec.after["status"] == "published"


async def test_the_submitter_cannot_approve_their_own_entry(kb):
    entry = await kb.submit(await kb.create("editrev"), "editrev")
    with pytest.raises(Forbidden) as exc:
        await kb.review(entry, "editrev")
    assert exc.value.code == "self_review" and "不能审核自己" in exc.value.message
    assert (await Entry.get(id=entry.id)).status == "review"


async def test_an_editor_of_the_version_cannot_approve_it_even_if_someone_else_submitted(kb):
    entry = await kb.create("editor")
    await kb.edit(entry, "editrev", answer="携带身份证、照片和居住证明到派出所申领。")
    entry = await kb.submit(entry, "editor2")
    with pytest.raises(Forbidden) as exc:
        await kb.review(entry, "editrev")
    assert exc.value.code == "self_review"
    # ... nor reject it: review is someone else's job either way.
    with pytest.raises(Forbidden):
        await kb.review(entry, "editrev", approve=False, note="再改改")
    entry = await kb.review(entry, "reviewer")
    assert entry.status == "published"


async def test_who_edited_an_earlier_published_version_may_review_the_next(kb):
    entry = await kb.published("editrev", "reviewer")
    await kb.edit(entry, "editor", answer="新的答案")
    entry = await kb.submit(entry, "editor")
    entry = await kb.review(entry, "editrev")  # editrev's edits were in version 1, reviewed
    assert entry.status == "published" and entry.live["answer"] == "新的答案"


@pytest.mark.parametrize("who", ["gjjreviewer", "cityleader", "supervisor", "editor2", "admin"])
async def test_only_reviewers_of_the_unit_or_leaders_above_may_review(kb, who):
    entry = await kb.submit(await kb.create())
    with pytest.raises(Forbidden):
        await kb.review(entry, who)
    assert (await Entry.get(id=entry.id)).status == "review"
    assert await audits("kb.entry.publish") == []


@pytest.mark.parametrize("who", ["leader", "qyleader"])
async def test_leaders_of_the_unit_or_above_may_review(kb, who):
    entry = await kb.submit(await kb.create())
    assert (await kb.review(entry, who)).status == "published"


async def test_rejection_needs_a_reason_and_returns_a_draft(kb, redis):
    entry = await kb.submit(await kb.create())
    with pytest.raises(DomainError) as exc:
        await kb.review(entry, approve=False, note=" ")
    assert exc.value.details["field"] == "note" and "退回理由" in exc.value.message
    entry = await kb.review(entry, approve=False, note="请补充办理时限")
    assert entry.status == "draft" and entry.live is None and entry.submitted_by_id is None
    last = await EntryVersion.filter(entry_id=entry.id).order_by("-id").first()
    assert (last.action, last.note) == ("reject", "请补充办理时限")
    assert await redis.get(VERSION_KEY) is None


async def test_only_submitted_entries_are_reviewed(kb):
    entry = await kb.create()
    with pytest.raises(Conflict):
        await kb.review(entry)
    with pytest.raises(DomainError) as exc:
        await kb.submit(await kb.create(question="空答案", answer=""))
    assert "答案" in exc.value.message


# ---------------------------------------------------------------- editing a published entry


async def test_live_keeps_answering_while_an_edit_is_in_review(kb, redis):
    entry = await kb.published()
    old_live = dict(entry.live)
    entry = await kb.edit(entry, answer="新答案：也可在小程序申请。", similar="居住证怎么办")
    assert entry.status == "draft" and entry.version == 2
    assert entry.live == old_live  # citizens still get the reviewed text
    entry = await kb.submit(entry)
    assert (await Entry.get(id=entry.id)).live == old_live
    assert await announced(redis) == [f"e{entry.id}"]  # only the first publication so far
    entry = await kb.review(entry)
    assert entry.live == {
        "question": "怎么办理居住证",
        "similar": ["居住证怎么办"],
        "answer": "新答案：也可在小程序申请。",
        "version": 2,
    }
    assert [a for _, a, _ in await actions(entry)] == [
        "create",
        "submit",
        "publish",
        "edit",
        "submit",
        "publish",
    ]
    assert await announced(redis) == [f"e{entry.id}", f"e{entry.id}"]
    [rec] = await audits("kb.entry.edit")
    assert rec.before["answer"].startswith("携带") and rec.after["answer"].startswith("新答案")


async def test_editing_an_entry_in_review_sends_it_back_to_draft(kb):
    entry = await kb.submit(await kb.create())
    entry = await kb.edit(entry, answer="改过的答案")
    assert entry.status == "draft" and entry.submitted_by_id is None
    with pytest.raises(Conflict):
        await kb.review(entry)


async def test_filing_data_changes_without_a_new_version(kb, clock):
    entry = await kb.published()
    topic = await topics.create_topic(kb.actors["editor"], "户籍", clock=clock)
    entry = await kb.edit(entry, review_by="2027-01-31", topic_id=topic.id)
    assert entry.status == "published" and entry.version == 1
    assert entry.review_by == dt.date(2027, 1, 31) and entry.topic_id == topic.id
    assert (await actions(entry))[-1] == (1, "meta", "published")


async def test_an_edit_from_an_older_version_is_refused(kb):
    entry = await kb.create()
    await kb.edit(entry, answer="第二版")
    with pytest.raises(Conflict) as exc:
        await kb.edit(entry, answer="基于第一版的修改", version=1)
    assert "他人修改" in exc.value.message
    assert (await Entry.get(id=entry.id)).answer == "第二版"


async def test_an_edit_that_changes_nothing_is_refused(kb):
    entry = await kb.create()
    with pytest.raises(DomainError) as exc:
        await kb.edit(entry, question="怎么办理居住证", answer=entry.answer)
    assert exc.value.code == "no_change"
    assert await actions(entry) == [(1, "create", "draft")]


async def test_handlers_edit_their_proposals_but_not_published_entries(kb):
    proposal = await kb.create("handler")
    assert (await kb.edit(proposal, "handler", answer="办理人修改")).version == 2
    published = await kb.published()
    with pytest.raises(Forbidden):
        await kb.edit(published, "handler", answer="办理人改已发布条目")


async def test_a_second_entry_of_the_same_question_is_held_back_until_confirmed(kb):
    """Issue 13 item 16: punctuation and width aside, the same standard question in the same
    unit is refused naming the entry, unless confirmed; the same form key twice gives the
    one entry."""
    first = await kb.create(allow_duplicate=False, form_key="k1")
    assert await kb.create(allow_duplicate=False, form_key="k1") == first
    with pytest.raises(Conflict) as exc:
        await kb.create(allow_duplicate=False, question=first.question + "？")
    assert exc.value.code == "same_question" and f"#{first.id}" in exc.value.message
    with pytest.raises(Conflict):  # another person cannot reuse someone's form
        await kb.create("handler", allow_duplicate=True, form_key="k1")
    second = await kb.create(allow_duplicate=True)
    assert second.id != first.id
    assert await Entry.filter(question=first.question).count() == 2


async def test_editors_of_another_unit_cannot_edit(kb):
    entry = await kb.create()
    with pytest.raises(Forbidden):
        await kb.edit(entry, "gjjeditor", answer="外单位修改")
    assert (await Entry.get(id=entry.id)).version == 1


# ---------------------------------------------------------------- retiring


async def test_retiring_stops_answering_at_once(kb, redis):
    entry = await kb.published()
    with pytest.raises(DomainError):
        await kb.retire(entry, reason="")
    entry = await kb.retire(entry, "editor", reason="政策已调整")
    assert entry.status == "retired" and entry.live is None
    assert await announced(redis) == [f"e{entry.id}", f"e{entry.id}"]
    last = await EntryVersion.filter(entry_id=entry.id).order_by("-id").first()
    assert (last.action, last.note) == ("retire", "政策已调整")
    with pytest.raises(Conflict):
        await kb.edit(entry, answer="停用后修改")
    with pytest.raises(Forbidden):
        await kb.retire(await kb.published(), "gjjreviewer")


async def test_a_restored_entry_is_a_draft_that_needs_review_again(kb, actors):
    entry = await kb.retire(await kb.published())
    entry = await workflow.restore_entry(actors["reviewer"], entry.id, clock=kb.clock, redis=None)
    assert entry.status == "draft" and entry.live is None
    entry = await kb.review(await kb.submit(entry), "reviewer")
    assert entry.live["version"] == 1 and entry.status == "published"


# ---------------------------------------------------------------- reading


async def test_every_staff_member_reads_every_entry(kb, actors):
    entry = await kb.create()
    for who in ("supervisor", "gjjeditor", "admin", "handler"):
        assert (await entries.get_entry(actors[who], entry.id)).id == entry.id
        rows, total = await entries.list_entries(actors[who])
        assert total == 1 and rows[0].id == entry.id
    with pytest.raises(NotFound):
        await entries.get_entry(actors["editor"], 999)


async def test_supervisors_read_but_change_nothing(kb, actors, clock):
    entry = await kb.submit(await kb.create())
    sup = actors["supervisor"]
    for call in (
        entries.edit_entry(sup, entry.id, {"answer": "督查修改"}, clock=clock, redis=None),
        workflow.review_entry(sup, entry.id, approve=True, clock=clock, redis=None),
        workflow.retire_entry(sup, entry.id, reason="x", clock=clock, redis=None),
        topics.create_topic(sup, "督查主题", clock=clock),
        synonyms.save_synonym_group(sup, ["社保", "社会保险"], clock=clock, redis=None),
    ):
        with pytest.raises(Forbidden):
            await call
    assert len(await entries.list_versions(sup, entry.id)) == 2


async def test_listing_filters_and_review_due(kb, clock):
    a = await kb.published(review_by="2026-11-22")  # yesterday in Shanghai: due
    await kb.create(question="社保卡怎么申领", answer="到银行网点办理。", review_by="2026-11-23")
    retired = await kb.retire(await kb.published(question="旧政策", review_by="2026-01-01"))
    actor = kb.actors["editor"]
    rows, total = await entries.list_entries(actor, review_due=True, clock=clock)
    assert [e.id for e in rows] == [a.id] and total == 1
    rows, _ = await entries.list_entries(actor, q="社保卡")
    assert [e.question for e in rows] == ["社保卡怎么申领"]
    rows, _ = await entries.list_entries(actor, status="retired")
    assert [e.id for e in rows] == [retired.id]
    rows, total = await entries.list_entries(actor, limit=2, offset=0)
    assert total == 3 and len(rows) == 2
    with pytest.raises(DomainError):
        await entries.list_entries(actor, status="whatever")


# ---------------------------------------------------------------- topics


async def test_topics_are_curated_and_deleting_one_keeps_its_entries(kb, actors, clock):
    topic = await topics.create_topic(actors["editor"], " 社会保障 ", clock=clock)
    assert topic.name == "社会保障"
    with pytest.raises(Conflict):
        await topics.create_topic(actors["reviewer"], "社会保障", clock=clock)
    other = await topics.create_topic(actors["reviewer"], "户籍", clock=clock)
    with pytest.raises(Conflict):
        await topics.rename_topic(actors["editor"], other.id, "社会保障", clock=clock)
    renamed = await topics.rename_topic(actors["editor"], topic.id, "社保", clock=clock)
    assert renamed.name == "社保"
    assert [t.name for t in await topics.list_topics()] == ["社保", "户籍"]
    entry = await kb.create(topic_id=topic.id)
    await topics.delete_topic(actors["reviewer"], topic.id, clock=clock)
    assert await Topic.filter(id=topic.id).count() == 0
    assert (await Entry.get(id=entry.id)).topic_id is None
    assert [r.action for r in await AuditRecord.filter(object_type="kb_topic").order_by("id")] == [
        "kb.topic.create",
        "kb.topic.create",
        "kb.topic.rename",
        "kb.topic.delete",
    ]
    for who in ("handler", "leader", "supervisor"):
        with pytest.raises(Forbidden) as exc:
            await topics.create_topic(actors[who], "其他主题", clock=clock)
        assert exc.value.message == "只有编辑或审核员可以维护主题"


# ---------------------------------------------------------------- synonyms


async def test_synonym_groups_are_normalised_and_announced(actors, clock, redis):
    group = await synonyms.save_synonym_group(
        actors["editor"], "社保卡，社會保障卡  ＳＳＣ", clock=clock, redis=redis
    )
    assert group.words == ["社保卡", "社会保障卡", "ssc"]
    assert await announced(redis) == ["syn"]
    group = await synonyms.save_synonym_group(
        actors["reviewer"], ["社保卡", "社会保障卡"], group_id=group.id, clock=clock, redis=redis
    )
    assert (await SynonymGroup.get(id=group.id)).words == ["社保卡", "社会保障卡"]
    await synonyms.delete_synonym_group(actors["editor"], group.id, clock=clock, redis=redis)
    assert await SynonymGroup.all().count() == 0
    assert await announced(redis) == ["syn", "syn", "syn"]


@pytest.mark.parametrize("words", [["社保"], ["社保", " 社保 ", "！"], "公积金", []])
async def test_a_synonym_group_needs_two_distinct_words(actors, clock, words):
    with pytest.raises(DomainError) as exc:
        await synonyms.save_synonym_group(actors["editor"], words, clock=clock, redis=None)
    assert "两个不同的词" in exc.value.message
    assert await SynonymGroup.all().count() == 0


async def test_a_word_belongs_to_one_group(actors, clock):
    first = await synonyms.save_synonym_group(
        actors["editor"], ["公积金", "住房公积金"], clock=clock, redis=None
    )
    with pytest.raises(Conflict) as exc:
        await synonyms.save_synonym_group(
            actors["editor"], ["公积金", "公基金"], clock=clock, redis=None
        )
    assert "公积金" in exc.value.message and exc.value.details["group_id"] == first.id
    # Saving a group with its own words again is not a conflict with itself.
    await synonyms.save_synonym_group(
        actors["editor"],
        ["公积金", "住房公积金", "公基金"],
        group_id=first.id,
        clock=clock,
        redis=None,
    )
    assert await SynonymGroup.all().count() == 1
    with pytest.raises(Forbidden):
        await synonyms.save_synonym_group(actors["handler"], ["甲", "乙"], clock=clock, redis=None)
