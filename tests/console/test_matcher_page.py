"""The 匹配模型 page through the Quart test client: the running model, candidates with their figures
on held-back questions, fitting now, adopting and reverting (CSRF like every console form), and
who sees the buttons. Asserted on the HTML people see and on what the database holds."""

from __future__ import annotations

import dataclasses

from knowledge.matcher import load_model
from knowledge.models import MatcherModel
from org.access import Actor
from org.demo import DEMO_PASSWORD
from org.models import AuditRecord, Unit
from org.service import create_staff
from tests.accounts.conftest import actors, demo_units  # noqa: F401 (fixtures)
from tests.console.test_knowledge_pages import page_of, post_form
from tests.knowledge.office import publish_office
from tests.org.conftest import login_as

PAGE = "/console/knowledge/matcher"


async def top_reviewer(deps) -> None:
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "qyreviewer",
            "real_name": "钱审核",
            "mobile": "13700000199",
            "unit_id": (await Unit.get(code="QY")).id,
            "roles": ["reviewer"],
            "password": DEMO_PASSWORD,
        },
    )


async def candidate(clock, base_id=None, **changes) -> MatcherModel:
    return await MatcherModel.create(
        params=dataclasses.replace(load_model(), **changes).to_dict(),
        figures={
            "before": {
                "utility": 0.512,
                "answers": 10,
                "wrong_answer_rate": 0.0125,
                "answer_precision": 0.9,
                "answer_recall": 0.4,
            },
            "after": {
                "utility": 0.634,
                "answers": 13,
                "wrong_answer_rate": 0.0,
                "answer_precision": 1.0,
                "answer_recall": 0.52,
            },
            "held_out": 17,
            "counts": {"similar": 27, "helpful": 3, "letter": 1},
            "better": True,
        },
        status="candidate",
        base_id=base_id,
        created_at=clock.now(),
        note="定时任务",
    )


async def test_staff_fit_adopt_and_revert_on_the_page(app, sender, deps, clock, actors, demo_units):  # noqa: F811
    await top_reviewer(deps)
    await publish_office(actors, clock, deps.redis)
    reviewer = await login_as(app, sender, "qyreviewer")

    status, page = await page_of(reviewer, PAGE)
    assert status == 200 and "匹配模型" in page
    assert "正在使用 通用模型" in page and "还没有评估过候选模型" in page
    assert "立即评估" in page and "恢复上一个模型" not in page  # nothing to go back from

    resp, page = await post_form(reviewer, f"{PAGE}/fit")
    assert resp.status_code == 200
    [fitted] = await MatcherModel.all()
    verdict = "优于" if fitted.figures["better"] else "不优于"
    assert f"已评估：候选模型 #{fitted.id} 在留出问法上{verdict}当前模型" in page
    assert f"模型 #{fitted.id}" in page and "由钱审核评估" in page
    assert "综合效用" in page and "相似问法" in page
    assert fitted.created_by_id is not None and fitted.in_use is None  # type: ignore[attr-defined]

    shown = await candidate(clock)
    _, page = await page_of(reviewer, PAGE)
    body = (await (await reviewer.get(PAGE)).get_data()).decode()
    assert f'action="{PAGE}/{shown.id}/adopt"' in body
    # A fit no better than the running model is not offered for adoption.
    assert (f'action="{PAGE}/{fitted.id}/adopt"' in body) == (fitted.status == "candidate")
    assert (
        f"模型 #{shown.id} 待采用 2026-11-23 10:00 由系统评估，与通用模型比较：优于对照模型。"
        "留出问法 17 条。" in page
    )
    assert (
        "留出问法上的指标 通用模型 本候选模型 综合效用 0.512 0.634 直接回答数 10 13 "
        "错误回答率 1.25% 0.00% 回答准确率 90.00% 100.00% 回答召回率 40.00% 52.00%" in page
    )
    assert "所用信号：相似问法 27 条，已解决 3 条，来信转入 1 条 备注：定时任务" in page

    # Without the page's CSRF token nothing changes.
    resp = await reviewer.client.post(f"{PAGE}/{shown.id}/adopt", form={})
    assert resp.status_code == 403
    assert (await MatcherModel.get(id=shown.id)).status == "candidate"

    resp, page = await post_form(reviewer, f"{PAGE}/{shown.id}/adopt")
    assert f"已采用匹配模型 #{shown.id}，机器人将在数秒内换用" in page
    assert f"正在使用 本单位模型 #{shown.id}：钱审核 于 2026-11-23 10:00 采用" in page
    assert "恢复上一个模型" in page
    assert (await MatcherModel.get(id=shown.id)).in_use is True

    stale = await candidate(clock)  # compared with the shipped model, which no longer runs
    _, page = await page_of(reviewer, PAGE)
    assert f"模型 #{stale.id} 待采用" in page and "比较结果不再成立：请重新评估" in page
    body = (await (await reviewer.get(PAGE)).get_data()).decode()
    assert f'action="{PAGE}/{stale.id}/adopt"' not in body

    resp, page = await post_form(reviewer, f"{PAGE}/revert")
    assert "已恢复为通用模型" in page and "正在使用 通用模型" in page
    assert (await MatcherModel.get(id=shown.id)).status == "retired"
    assert "比较结果不再成立" not in page  # #stale holds again

    actions = [
        a.action for a in await AuditRecord.filter(action__startswith="kb.matcher").order_by("id")
    ]
    assert actions == ["kb.matcher.fit", "kb.matcher.adopt", "kb.matcher.revert"]


async def test_others_see_the_models_but_may_not_change_them(app, sender, deps, clock, demo_units):  # noqa: F811
    shown = await candidate(clock)
    editor = await login_as(app, sender, "reviewer")  # a reviewer of one unit, not the top
    status, page = await page_of(editor, PAGE)
    assert status == 200 and f"模型 #{shown.id}" in page and "综合效用" in page
    body = (await (await editor.get(PAGE)).get_data()).decode()
    assert "立即评估" not in page and f'action="{PAGE}/{shown.id}/adopt"' not in body

    _, page = await post_form(editor, f"{PAGE}/{shown.id}/adopt")
    assert "只有最上级单位的审核员或领导可以评估、采用或恢复匹配模型" in page
    assert (await MatcherModel.get(id=shown.id)).status == "candidate"
    _, page = await post_form(editor, f"{PAGE}/fit")
    assert "只有最上级单位的审核员或领导" in page and await MatcherModel.all().count() == 1
    denied = await AuditRecord.filter(outcome="denied").values_list("action", flat=True)
    assert sorted(denied) == [
        "http.console_matcher.adopt",
        "http.console_matcher.fit",
    ]

    admin = await login_as(app, sender, "admin")  # of the top unit, yet not content
    _, page = await post_form(admin, f"{PAGE}/{shown.id}/adopt")
    assert "只有最上级单位的审核员或领导" in page


async def test_too_few_signals_is_said_on_the_page(app, sender, deps, demo_units):  # noqa: F811
    await top_reviewer(deps)
    reviewer = await login_as(app, sender, "qyreviewer")
    _, page = await post_form(reviewer, f"{PAGE}/fit")
    assert "可用于学习的群众问法不足 20 条（收集到 0 条）" in page
    assert await MatcherModel.all().count() == 0
