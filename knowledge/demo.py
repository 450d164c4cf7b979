"""Demo knowledge base of our own for the demo city 清源市: published entries with similar
questions, synonym groups, one edit waiting for review, and a few questions the bot could not
answer. The text is written for the demo, not taken from any real government's answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis.asyncio as aioredis

from infra.clock import Clock
from knowledge.live import announce_all
from knowledge.models import Ask, Entry, EntryVersion, SynonymGroup, Topic
from knowledge.text import normalize
from org.models import Staff, Unit

TOPICS = ["户籍与居住", "社会保障", "住房公积金"]

# external id, topic, unit code, question, similar questions, answer
DEMO_ENTRIES: list[tuple[str, str, str, str, list[str], str]] = [
    (
        "demo-jzz-1",
        "户籍与居住",
        "QY-BGS",
        "怎么办理清源市居住证？",
        ["居住证怎么办", "外地人在清源怎么申领居住证", "办居住证需要什么材料"],
        "在清源市居住满半年、有合法稳定就业、住所或连续就读条件之一的，可携带身份证、"
        "近期一寸照片和居住证明（房产证、租赁登记凭证或单位证明），到居住地派出所或社区"
        "警务室申领居住证，也可在“清源政务”小程序网上申请。材料齐全的，15个工作日内发证，"
        "办理不收费。",
    ),
    (
        "demo-jzz-2",
        "户籍与居住",
        "QY-BGS",
        "居住证到期了怎么续签？",
        ["居住证过期怎么办", "居住证签注在哪里办"],
        "居住证每年签注一次。请在有效期满前30日内，持居住证和居住证明到居住地派出所或在"
        "“清源政务”小程序办理签注；逾期未签注的，居住年限从重新签注之日起连续计算。",
    ),
    (
        "demo-hk-1",
        "户籍与居住",
        "QY-BGS",
        "户口迁入清源市需要什么条件？",
        ["怎么把户口迁到清源", "落户清源要什么材料", "户口迁移怎么办理"],
        "清源市实行“先落户后就业”政策：具有大专以上学历或技能等级证书的，在清源市有合法"
        "稳定住所（含租赁）的，以及投靠清源户籍直系亲属的，均可申请落户。请持身份证、户口簿"
        "及相应证明到拟落户地派出所申请，符合条件的当场受理，5个工作日内办结，可网上预约。",
    ),
    (
        "demo-sbk-1",
        "社会保障",
        "QY-RSJ",
        "社保卡怎么申领？",
        ["第一次办社保卡去哪里", "怎么办理社会保障卡", "新生儿社保卡怎么办"],
        "首次申领社保卡，可持身份证（未成年人持户口簿）到任一合作银行网点或区县社保经办"
        "窗口办理，也可在“清源人社”公众号线上申请、邮寄到家。即时制卡网点当场取卡；线上"
        "申请的一般7个工作日内寄出。",
    ),
    (
        "demo-sbk-2",
        "社会保障",
        "QY-RSJ",
        "社保卡丢了怎么挂失补办？",
        ["社保卡丢失怎么办", "社保卡补卡要多少钱", "社保卡坏了怎么换"],
        "社保卡丢失请立即拨打12333或在“清源人社”公众号办理临时挂失（5天内有效），再到合作"
        "银行网点或社保窗口办理正式挂失和补卡。因丢失补卡收取工本费20元，卡片损坏换卡免费。",
    ),
    (
        "demo-gjj-1",
        "住房公积金",
        "QY-GJJ",
        "租房可以提取住房公积金吗？",
        ["租房怎么提取公积金", "公积金租房提取额度是多少", "没有买房能取公积金吗"],
        "在清源市无自有住房且租房自住的职工，可每季度提取一次住房公积金用于支付房租，每月"
        "提取额度不超过1500元；有租赁登记备案的，按实际月租金提取，最高不超过月缴存额。"
        "可在“清源公积金”公众号或各管理部柜台办理，审核通过后3个工作日内到账。",
    ),
    (
        "demo-gjj-2",
        "住房公积金",
        "QY-GJJ",
        "离职后住房公积金怎么提取？",
        ["辞职了公积金能取出来吗", "离职公积金怎么处理", "离开清源公积金怎么取"],
        "与单位终止劳动关系后，公积金账户封存满半年且未重新就业的，可申请提取；户口迁出"
        "清源市或调往外地工作的，可凭证明办理转移或提取。请携带身份证、银行卡到各管理部"
        "柜台办理，或在“清源公积金”公众号在线申请。",
    ),
]

SYNONYM_GROUPS = [
    ["社保卡", "社会保障卡"],
    ["公积金", "住房公积金"],
    ["户口", "户籍"],
    ["提取", "支取", "取出"],
]

# Questions the bot could not answer last week, for the "unanswered" page: (text, days ago).
DEMO_ASKS = [
    ("医保异地就医怎么备案", 1),
    ("医保异地就医怎么备案？", 2),
    ("異地就醫怎麼備案", 3),
    ("孩子上学怎么网上报名", 2),
    ("孩子上学如何网上报名", 4),
    ("老年人乘车卡在哪里办", 5),
]


def _live(question: str, similar: list[str], answer: str) -> dict[str, Any]:
    return {"question": question, "similar": similar, "answer": answer, "version": 1}


async def seed_knowledge_demo(clock: Clock, redis: aioredis.Redis | None = None) -> int:
    """Idempotent: does nothing when the demo entries exist. Returns the entries created.
    Needs the demo city (org.demo) first: the entries belong to its units and staff."""
    if await Entry.filter(external_id__startswith="demo-").exists():
        return 0
    now = clock.now()
    editor = await Staff.get_or_none(username="editor")
    reviewer = await Staff.get_or_none(username="reviewer")
    editor_id = editor.id if editor else None
    reviewer_id = reviewer.id if reviewer else None
    topics = {}
    for i, name in enumerate(TOPICS):
        topics[name] = (
            await Topic.get_or_create(name=name, defaults={"sort": i, "created_at": now})
        )[0]
    units = {u.code: u for u in await Unit.filter(code__in=[e[2] for e in DEMO_ENTRIES])}
    created = 0
    for ext, topic, unit_code, question, similar, answer in DEMO_ENTRIES:
        unit = units.get(unit_code)
        if unit is None:
            continue
        entry = await Entry.create(
            external_id=ext,
            question=question,
            similar=similar,
            answer=answer,
            topic=topics[topic],
            unit=unit,
            status="published",
            live=_live(question, similar, answer),
            review_by=(now + dt.timedelta(days=180)).date(),
            version=1,
            source="manual",
            created_by_id=editor_id,
            updated_by_id=editor_id,
            submitted_by_id=editor_id,
            reviewed_by_id=reviewer_id,
            created_at=now,
            updated_at=now,
            published_at=now,
        )
        for action, status, staff in (
            ("create", "draft", editor_id),
            ("submit", "review", editor_id),
            ("publish", "published", reviewer_id),
        ):
            await EntryVersion.create(
                entry=entry,
                version=1,
                action=action,
                status=status,
                question=question,
                similar=similar,
                answer=answer,
                topic_id=topics[topic].id,
                staff_id=staff,
                at=now,
            )
        created += 1
    # One published entry with an edit waiting for review: the old answer keeps answering.
    pending = await Entry.get_or_none(external_id="demo-sbk-2")
    if pending is not None:
        pending.answer += "补卡期间可使用电子社保卡就医购药。"
        pending.version, pending.status = 2, "review"
        await pending.save(update_fields=["answer", "version", "status"])
        for action, status in (("edit", "draft"), ("submit", "review")):
            await EntryVersion.create(
                entry=pending,
                version=2,
                action=action,
                status=status,
                question=pending.question,
                similar=pending.similar,
                answer=pending.answer,
                topic_id=pending.topic_id,  # type: ignore[attr-defined]
                staff_id=editor_id,
                at=now,
            )
    if not await SynonymGroup.exists():
        for words in SYNONYM_GROUPS:
            await SynonymGroup.create(
                words=[normalize(w) for w in words], updated_by_id=editor_id, updated_at=now
            )
    for text, days in DEMO_ASKS:
        await Ask.create(
            asked_at=now - dt.timedelta(days=days, hours=3),
            text=text,
            normalized=normalize(text),
            channel="wechat",
            decision="none",
        )
    if redis is not None:
        await announce_all(redis)
    return created
