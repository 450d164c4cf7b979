"""A small office knowledge base with its curation, for the tests of fitting the office's matcher
(tests/knowledge/test_tuning.py, tests/console/test_matcher_page.py, tests/letters)."""

from __future__ import annotations

from typing import Any

from knowledge import entries, workflow
from knowledge.models import Entry
from org.access import Actor

# question, similar questions, answer: 26 similar questions, each a citizen's wording.
OFFICE = [
    (
        "怎么办理居住证",
        ["居住证怎么办", "外地人如何申领居住证", "办居住证需要什么材料", "居住证在哪里申请"],
        "携带身份证和居住证明到居住地派出所申领。",
    ),
    (
        "社保卡丢了怎么补办",
        ["社保卡遗失如何补办", "社会保障卡丢失补卡", "社保卡掉了去哪补", "补办社保卡要多久"],
        "携带身份证到社保经办窗口办理挂失补办。",
    ),
    (
        "住房公积金怎么提取",
        ["公积金提取需要什么条件", "怎么把公积金取出来", "租房可以提取公积金吗"],
        "符合购房、租房等条件的，可在公积金中心网站或窗口申请提取。",
    ),
    (
        "新生儿怎么上户口",
        ["小孩出生后怎么落户", "宝宝上户口需要哪些材料", "新生儿落户去哪里办"],
        "出生一个月内持出生医学证明和父母户口簿到派出所办理。",
    ),
    (
        "失业金怎么申领",
        ["失业保险金如何领取", "失业了能领多少钱", "领失业金需要什么条件"],
        "非本人意愿中断就业且缴费满一年的，可在人社部门申领失业保险金。",
    ),
    (
        "驾驶证到期怎么换证",
        ["驾照过期了怎么换", "驾驶证有效期满换证流程", "换驾照需要体检吗"],
        "有效期满前九十日内到车管所或交管12123申请换证。",
    ),
    (
        "结婚登记需要带什么",
        ["领结婚证要什么材料", "结婚登记在哪里办", "办结婚证需要户口本吗"],
        "双方持身份证、户口簿到婚姻登记处办理。",
    ),
    (
        "灵活就业人员怎么交养老保险",
        ["自由职业者怎么交社保", "个体户如何参加养老保险", "没有单位怎么缴养老保险"],
        "持身份证到社保经办机构或通过线上平台办理灵活就业人员参保登记。",
    ),
]


async def publish_office(
    actors: dict[str, Actor], clock: Any, redis: Any, rows=OFFICE
) -> list[Entry]:
    """The entries written by the demo editor and published by the demo reviewer (人社局)."""
    kw = {"clock": clock, "redis": redis}
    out = []
    for question, similar, answer in rows:
        data = {"question": question, "similar": similar, "answer": answer}
        entry = await entries.create_entry(actors["editor"], data, **kw)
        await workflow.submit_entry(actors["editor"], entry.id, **kw)
        out.append(await workflow.review_entry(actors["reviewer"], entry.id, approve=True, **kw))
    return out
