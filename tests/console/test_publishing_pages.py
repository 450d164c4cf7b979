"""The console's publishing pages through the Quart test client (issue 14): drafts written,
submitted, reviewed and scheduled by forms; findings accepted with a note; self-approval refused
where people see it; a repost task turned into a draft; publications that wait for a person
settled on the draft page; the whitelist of sources. On SQLite and PostgreSQL.

Asserted on the HTML people see and on what the database holds.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest

from accounts.models import Post
from infra.clock import SHANGHAI
from org.access import Actor
from org.auth import actor_for
from org.models import AuditRecord, Staff
from org.service import create_staff
from publishing import drafts, runner
from publishing.models import Draft, Publication, RepostTask, Source, SourceSubscription
from tests.accounts.conftest import OTHER_PASSWORD, demo_accounts, demo_units, make_account  # noqa: F401
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as

TITLE = "我市城乡居民医保开始缴费"
BODY = (
    "2027年度城乡居民医保**集中缴费期**为即日起至12月31日。\n\n"
    "- 线上：清源人社公众号\n- 线下：社区服务站"
)


def local_input(moment: dt.datetime) -> str:
    """How a datetime-local input sends a moment: Beijing wall time, no zone."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def page_of(session, url: str) -> tuple[int, str, str]:
    resp = await session.get(url)
    body = (await resp.get_data()).decode()
    return resp.status_code, text(body.encode()), body


async def send(session, url: str, form: dict):
    """A form as a browser sends it: a list is one field sent several times (checkboxes)."""
    resp = await session.client.post(
        url,
        data=urlencode({"csrf_token": session.csrf, **form}, doseq=True),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=True,
    )
    return resp, text(await resp.get_data())


async def write(session, accounts, **fields) -> tuple[int, str]:
    """The editor's form sent: returns the new draft's id and the page it leads to."""
    form = {"title": TITLE, "body": BODY, **fields, "account_ids": [a.id for a in accounts]}
    _, page = await send(session, "/console/drafts", form)
    d = await Draft.all().order_by("-id").first()
    return (d.id if d else 0), page


@pytest.fixture
async def both(deps, demo_units):  # noqa: F811
    """One person of 人社局 holding editor and reviewer (the roles allow it)."""
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "both",
            "real_name": "吴双",
            "mobile": "13700000031",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["editor", "reviewer"],
            "password": OTHER_PASSWORD,
        },
    )


async def gov_task(demo_units, clock, **kw) -> RepostTask:  # noqa: F811
    source = await Source.get_or_none(name="中国政府网") or await Source.create(
        name="中国政府网",
        home_url="https://www.gov.cn/",
        level="central",
        urgent=True,
        created_at=clock.now(),
    )
    data = {
        "item_id": "gov-1",
        "title": "国务院办公厅关于进一步优化社保经办服务的通知",
        "link": "https://www.gov.cn/zhengce/content/1.htm",
        "published_at": clock.now(),
        "urgent": True,
        "due_at": clock.now() + dt.timedelta(hours=12),
        **kw,
    }
    return await RepostTask.create(
        source=source, unit=demo_units["QY-RSJ"], created_at=clock.now(), **data
    )


# ------------------------------------------------------------------ who sees what


async def test_pages_open_for_their_roles_and_refuse_the_others(
    app,
    sender,
    demo_accounts,  # noqa: F811
):
    anonymous = await app.test_client().get("/console/drafts")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]

    editor = await login_as(app, sender, "editor")
    status, page, _ = await page_of(editor, "/console/")
    assert "稿件" in page and "转载任务" in page and "转载来源" in page
    for url in ("/console/drafts", "/console/repost-tasks", "/console/sources"):
        assert (await editor.get(url)).status_code == 200, url
    status, page, html = await page_of(editor, "/console/drafts")
    assert "写稿" in page and "发布待处理" in page and "queue=review" not in html
    status, page, html = await page_of(editor, "/console/drafts/new")
    assert status == 200 and "清源人社" in page and 'name="account_ids"' in html
    assert "清源公积金" not in page  # another unit's account
    status, page, _ = await page_of(editor, "/console/repost-tasks?tab=overdue")
    assert status == 200 and "逾期未转载" not in page  # not an editor's tab
    status, page, html = await page_of(editor, "/console/sources")
    assert "加入白名单" not in page

    reviewer = await login_as(app, sender, "reviewer")
    status, page, html = await page_of(reviewer, "/console/drafts")
    assert status == 200 and "queue=review" in html and "写稿" not in page
    assert "转载来源" not in text(await (await reviewer.get("/console/")).get_data())
    status, page, _ = await page_of(reviewer, "/console/drafts/new")
    assert status == 403 and "只有编辑可以撰写和修改稿件" in page

    supervisor = await login_as(app, sender, "supervisor")
    status, page, _ = await page_of(supervisor, "/console/repost-tasks?tab=overdue")
    assert status == 200 and "逾期未转载 0" in page and "暂无逾期未转载的任务" in page
    assert (await supervisor.get("/console/drafts")).status_code == 200
    status, page, _ = await page_of(supervisor, "/console/drafts?queue=review")
    assert status == 403

    leader = await login_as(app, sender, "leader")
    for url in ("/console/drafts", "/console/drafts?queue=review", "/console/repost-tasks"):
        assert (await leader.get(url)).status_code == 200, url

    handler = await login_as(app, sender, "handler")
    for url in ("/console/drafts", "/console/repost-tasks", "/console/sources"):
        status, page, _ = await page_of(handler, url)
        assert status == 403 and ("只有" in page or "需要以下角色" in page), url
    assert "稿件" not in text(await (await handler.get("/console/")).get_data())

    admin = await login_as(app, sender, "admin")
    status, page, _ = await page_of(admin, "/console/sources")
    assert status == 200 and "加入白名单" in page
    assert (await admin.get("/console/drafts")).status_code == 403


# ------------------------------------------------------------------ the whole flow by forms


async def test_written_submitted_approved_and_scheduled_through_the_forms(
    app,
    sender,
    clock,
    demo_units,  # noqa: F811
    demo_accounts,  # noqa: F811
):
    acc = demo_accounts["rsj"]
    second = await make_account(demo_units["QY-RSJ"], "weibo", "清源人社微博", clock)
    editor = await login_as(app, sender, "editor")

    # The preview shows the Markdown as readers will see it and saves nothing.
    resp, page = await post_form(
        editor,
        "/console/drafts/preview",
        {"title": TITLE, "body": BODY, "account_ids": str(acc.id)},
    )
    html = (await resp.get_data()).decode()
    assert "<strong>集中缴费期</strong>" in html and "<li>线上：清源人社公众号</li>" in html
    assert "预览" in page and await Draft.all().count() == 0

    # Refused without an account: the form comes back as typed with the reason.
    resp, page = await post_form(editor, "/console/drafts", {"title": TITLE, "body": BODY})
    assert resp.status_code == 400 and "请选择发布账号" in page
    assert "2027年度城乡居民医保**集中缴费期**" in page

    draft_id, page = await write(editor, [acc])
    assert f"已保存稿件「{TITLE}」（第1版）" in page and "草稿" in page
    assert "集中缴费期" in page and "提交审核" in page
    resp, page = await post_form(editor, f"/console/drafts/{draft_id}/submit")
    assert "已提交审核，等待本单位审核员审核" in page
    assert (await Draft.get(id=draft_id)).status == "submitted"

    reviewer = await login_as(app, sender, "reviewer")
    _, page, _ = await page_of(reviewer, "/console/")
    assert "待审核的稿件 1" in page
    _, page, _ = await page_of(reviewer, "/console/drafts?queue=review")
    assert f"#{draft_id} {TITLE}" in page and "李晓梅" in page
    _, page, _ = await page_of(reviewer, f"/console/drafts/{draft_id}")
    assert "审核通过" in page and "退回修改" in page and "排期发布" not in page
    # Returning needs a reason; then the editor revises and submits again.
    resp, page = await post_form(
        reviewer, f"/console/drafts/{draft_id}/review", {"decision": "return", "opinion": ""}
    )
    assert "请填写退回理由" in page
    resp, page = await post_form(
        reviewer,
        f"/console/drafts/{draft_id}/review",
        {"decision": "return", "opinion": "标题加上“清源”"},
    )
    assert "已退回修改" in page and "标题加上“清源”" in page

    _, page, _ = await page_of(editor, "/console/")
    assert "被退回的稿件 1" in page
    _, page, html = await page_of(editor, f"/console/drafts/{draft_id}/edit")
    assert "退回理由：标题加上“清源”" in page and f'value="{TITLE}"' in html
    _, page = await send(
        editor,
        f"/console/drafts/{draft_id}/edit",
        {
            "title": "清源" + TITLE,
            "body": BODY,
            "account_ids": [acc.id, second.id],
            "then": "submit",
        },
    )
    assert "已提交审核" in page and "第 2 版" in page
    assert re.search(r"发布账号 清源人社 、 清源人社微博", page)
    resp, page = await post_form(
        reviewer, f"/console/drafts/{draft_id}/review", {"decision": "approve", "opinion": ""}
    )
    assert "已审核通过，编辑可以排期发布" in page
    d = await Draft.get(id=draft_id)
    assert d.status == "approved" and d.reviewed_by_id == (await Staff.get(username="reviewer")).id  # type: ignore[attr-defined]

    # The editor schedules it in Beijing time.
    _, page, html = await page_of(editor, f"/console/drafts/{draft_id}")
    assert "发布时间（北京时间）" in page and 'type="datetime-local"' in html
    when = clock.now() + dt.timedelta(hours=3)
    resp, page = await post_form(
        editor, f"/console/drafts/{draft_id}/schedule", {"scheduled_at": local_input(when)}
    )
    assert "已排期，将于北京时间 2026-11-23 13:00 发布" in page
    d = await Draft.get(id=draft_id)
    assert d.status == "scheduled" and d.scheduled_at == when
    assert "发布记录 账号 状态" in page and "清源人社 待发布" in page
    # The timeline: every step, who, when (Beijing), what; the scheduled time too.
    timeline = page[page.index("时间线") :]
    for step in (
        "2026-11-23 10:00 李晓梅 撰写 第1版",
        "李晓梅 提交审核",
        "张志强 退回修改 标题加上“清源”",
        "李晓梅 修改 第2版",
        "张志强 审核通过",
        "李晓梅 排期发布 2026-11-23 13:00",
    ):
        assert step in timeline, step
    assert await AuditRecord.filter(action="draft.schedule").count() == 1

    # Withdrawn before publishing: it will not go out.
    resp, page = await post_form(editor, f"/console/drafts/{draft_id}/withdraw", {"reason": "改期"})
    assert "稿件已撤回" in page and "已撤回" in page
    assert await Publication.filter(draft_id=draft_id, status="cancelled").count() == 2


async def test_self_approval_is_refused_where_the_reviewer_sees_it(
    app,
    sender,
    both,
    demo_accounts,  # noqa: F811
):
    me = await login_as(app, sender, "both", OTHER_PASSWORD)
    draft_id, _ = await write(me, [demo_accounts["rsj"]])
    await post_form(me, f"/console/drafts/{draft_id}/submit")
    _, page, _ = await page_of(me, "/console/drafts?queue=review")
    assert "暂无待审核的稿件" in page  # not offered to its own writer
    _, page, _ = await page_of(me, f"/console/drafts/{draft_id}")
    assert "不得审核本人撰写或修改过的稿件（先审后发）" in page and "审核通过" not in page
    # Sent all the same (an old tab, a crafted form): refused with the reason on the page.
    resp, page = await post_form(
        me, f"/console/drafts/{draft_id}/review", {"decision": "approve", "opinion": ""}
    )
    assert resp.status_code == 200
    assert "不得审核本人撰写或修改过的稿件（先审后发）" in page
    assert (await Draft.get(id=draft_id)).status == "submitted"
    assert await AuditRecord.filter(outcome="denied", summary__contains="self_review").exists()


async def test_findings_show_their_corrections_and_are_accepted_with_a_note(
    app,
    sender,
    demo_accounts,  # noqa: F811
):
    editor = await login_as(app, sender, "editor")
    body = "请再接再励，继续做好医保缴费工作。"
    draft_id, _ = await write(editor, [demo_accounts["rsj"]], body=body)
    _, page = await post_form(editor, f"/console/drafts/{draft_id}/submit")
    assert "筛查发现" in page
    d = await Draft.get(id=draft_id)
    assert d.findings and any(f.get("correction") == "再接再厉" for f in d.findings)

    reviewer = await login_as(app, sender, "reviewer")
    _, page, _ = await page_of(reviewer, f"/console/drafts/{draft_id}")
    assert "错敏词" in page and "建议改为： 再接再厉" in page and "接受（说明）" in page
    assert f"{len(d.findings)} 处待确认" in page
    _resp, page = await post_form(
        reviewer, f"/console/drafts/{draft_id}/review", {"decision": "approve"}
    )
    assert "尚未确认" in page and (await Draft.get(id=draft_id)).status == "submitted"
    _, page = await post_form(
        reviewer, f"/console/drafts/{draft_id}/accept", {"index": "0", "note": ""}
    )
    assert "请填写核查意见" in page
    for i in range(len(d.findings)):
        _, page = await post_form(
            reviewer,
            f"/console/drafts/{draft_id}/accept",
            {"index": str(i), "note": "引用群众原话，保留原文"},
        )
        assert "已确认该筛查结果，说明已记录" in page
    assert "张志强 于" in page and "确认无误：引用群众原话，保留原文" in page
    assert "均已确认" in page and "确认筛查结果" in page  # on the timeline
    _, page = await post_form(
        reviewer, f"/console/drafts/{draft_id}/review", {"decision": "approve"}
    )
    assert "已审核通过" in page and (await Draft.get(id=draft_id)).status == "approved"


# ------------------------------------------------------------------ repost tasks and sources


async def test_a_repost_task_becomes_a_draft_and_overdue_ones_are_listed(
    app,
    sender,
    clock,
    demo_units,  # noqa: F811
    demo_accounts,  # noqa: F811
):
    task = await gov_task(demo_units, clock)
    later = await gov_task(
        demo_units, clock, item_id="gov-2", title="不需转载的通知", urgent=False, due_at=None
    )
    editor = await login_as(app, sender, "editor")
    _, page, _ = await page_of(editor, "/console/")
    assert "待转载的任务 2" in page
    _, page, html = await page_of(editor, "/console/repost-tasks")
    assert page.index(task.title) < page.index(later.title)  # the deadline first
    assert "剩余 12小时0分" in page and "12小时" in page
    assert f'href="/console/drafts/new?task_id={task.id}"' in html

    _, page, html = await page_of(editor, f"/console/drafts/new?task_id={task.id}")
    assert f"转载任务：中国政府网《{task.title}》" in page
    assert re.search(r'name="title"[^>]*readonly', html)
    assert re.search(
        r'name="source_url" value="https://www.gov.cn/zhengce/content/1.htm" readonly', html
    )
    draft_id, page = await write(
        editor,
        [demo_accounts["rsj"]],
        task_id=str(task.id),
        title="改过的标题",  # ignored: a repost keeps the original title
        body="全文如下。",
        lead="请各位参保人关注",
        is_repost="1",
    )
    d = await Draft.get(id=draft_id)
    assert d.is_repost and d.title == task.title and d.source_name == "中国政府网"
    assert (await RepostTask.get(id=task.id)).draft_id == draft_id  # type: ignore[attr-defined]
    assert "来源： 中国政府网" in page and "编者按： 请各位参保人关注" in page
    _, page, _ = await page_of(editor, "/console/repost-tasks")
    assert f"已写稿件 #{draft_id}" in page

    # The other is dismissed with a reason, not without one.
    _, page = await post_form(editor, f"/console/repost-tasks/{later.id}/dismiss", {"reason": ""})
    assert "请填写忽略理由" in page
    _, page = await post_form(
        editor, f"/console/repost-tasks/{later.id}/dismiss", {"reason": "与本单位业务无关"}
    )
    assert "已忽略转载任务「不需转载的通知」" in page
    assert (await RepostTask.get(id=later.id)).status == "dismissed"

    # Past its 12 hours, still open: red for the editor, on the supervisors' overdue list.
    clock.advance(hours=13)
    editor = await login_as(app, sender, "editor")  # a new day's session
    _, page, html = await page_of(editor, "/console/repost-tasks")
    assert "已逾期 1小时0分" in page and 'class="days overdue"' in html
    supervisor = await login_as(app, sender, "supervisor")
    _, page, _ = await page_of(supervisor, "/console/")
    assert "逾期未转载的任务 1" in page
    _, page, _ = await page_of(supervisor, "/console/repost-tasks?tab=overdue")
    assert task.title in page and "清源市人力资源和社会保障局" in page and "已逾期" in page
    assert "转载" in page and f"/console/drafts/new?task_id={task.id}" not in page


async def test_admins_keep_the_whitelist_and_editors_subscribe(
    app,
    sender,
    demo_units,  # noqa: F811
):
    admin = await login_as(app, sender, "admin")
    _resp, page = await post_form(
        admin,
        "/console/sources",
        {
            "name": "中国政府网",
            "level": "central",
            "home_url": "https://www.gov.cn/",
            "urgent": "1",
        },
    )
    assert "已将「中国政府网」加入转载来源白名单" in page
    assert "中国政府网 12小时 中央 https://www.gov.cn/" in page
    _, page = await post_form(
        admin, "/console/sources", {"name": "某网", "level": "world", "home_url": "https://x.cn/"}
    )
    assert "请选择来源级别" in page

    editor = await login_as(app, sender, "editor")
    _, page = await post_form(
        editor, "/console/sources", {"name": "某网", "level": "other", "home_url": "https://x.cn/"}
    )
    assert "此操作需要以下角色之一：系统管理员" in page and await Source.all().count() == 1
    source = await Source.get(name="中国政府网")
    _, page = await post_form(editor, f"/console/sources/{source.id}/subscribe")
    assert "本单位已订阅该来源" in page and "已订阅" in page
    assert await SourceSubscription.filter(unit_id=demo_units["QY-RSJ"].id).count() == 1


# ------------------------------------------------------------------ publications


async def test_a_publication_to_check_is_settled_on_the_draft_page(
    app,
    deps,
    sender,
    clock,
    demo_units,  # noqa: F811
):
    channel = await make_account(demo_units["QY-RSJ"], "telegram", "清源人社频道", clock)
    editor_actor = await actor_for(await Staff.get(username="editor").select_related("unit"))
    reviewer_actor = await actor_for(await Staff.get(username="reviewer").select_related("unit"))
    d = await drafts.create_draft(
        deps, editor_actor, {"account_ids": [channel.id], "title": TITLE, "body": BODY}
    )
    await drafts.submit_draft(deps, editor_actor, d.id)
    await drafts.review_draft(deps, reviewer_actor, d.id, {"approve": True})
    when = clock.now() + dt.timedelta(minutes=1)
    await drafts.schedule_draft(deps, editor_actor, d.id, {"scheduled_at": when.isoformat()})
    clock.advance(minutes=2)
    # A worker claims the row and dies before it records anything: people must look.
    assert len(await runner.claim_due(deps, "dead-worker")) == 1
    clock.advance(minutes=11)
    assert await runner.recover_stalled(deps) == 1

    editor = await login_as(app, sender, "editor")
    _, page, _ = await page_of(editor, "/console/")
    assert "待核实或失败的发布 1" in page
    _, page, _ = await page_of(editor, "/console/drafts?queue=attention")
    assert f"#{d.id} {TITLE}" in page and "发布中" in page
    _, page, _ = await page_of(editor, f"/console/drafts/{d.id}")
    assert "清源人社频道 待核实 发布程序中断，可能已发布" in page
    assert "已发布（填网址）" in page and "重新发布" in page and "放弃（说明）" in page
    assert "待核实 清源人社频道" in page[page.index("时间线") :] or "「清源人社频道」待核实" in page

    reviewer = await login_as(app, sender, "reviewer")
    _, page, _ = await page_of(reviewer, f"/console/drafts/{d.id}")
    assert "已发布（填网址）" not in page  # editors and leaders settle publications

    p = await Publication.get(draft_id=d.id)
    resp, page = await post_form(
        editor,
        f"/console/drafts/publications/{p.id}/resolve",
        {"draft_id": str(d.id), "outcome": "published", "url": "t.me/qingyuan_fabu/7"},
    )
    assert "发布网址须以 http:// 或 https:// 开头" in page
    resp, page = await post_form(
        editor,
        f"/console/drafts/publications/{p.id}/resolve",
        {"draft_id": str(d.id), "outcome": "published", "url": "https://t.me/qingyuan_fabu/7"},
    )
    html = (await resp.get_data()).decode()
    assert "「清源人社频道」已登记为已发布" in page
    assert 'href="https://t.me/qingyuan_fabu/7"' in html
    assert "已发布（填网址）" not in page
    assert (await Draft.get(id=d.id)).status == "published"
    assert await Post.filter(account_id=channel.id, url="https://t.me/qingyuan_fabu/7").count() == 1
    _, page, _ = await page_of(editor, "/console/")
    assert "待核实或失败的发布" not in page


async def test_a_manual_publication_offers_its_text_to_copy(
    app,
    deps,
    sender,
    clock,
    demo_units,  # noqa: F811
):
    weibo = await make_account(demo_units["QY-RSJ"], "weibo", "清源人社微博", clock)
    editor_actor = await actor_for(await Staff.get(username="editor").select_related("unit"))
    reviewer_actor = await actor_for(await Staff.get(username="reviewer").select_related("unit"))
    d = await drafts.create_draft(
        deps, editor_actor, {"account_ids": [weibo.id], "title": TITLE, "body": BODY}
    )
    await drafts.submit_draft(deps, editor_actor, d.id)
    await drafts.review_draft(deps, reviewer_actor, d.id, {"approve": True})
    await drafts.schedule_draft(deps, editor_actor, d.id, {"scheduled_at": clock.now().isoformat()})
    assert await runner.publish_due(deps) == 1
    p = await Publication.get(draft_id=d.id)
    assert p.status == "manual" and p.copy_text

    editor = await login_as(app, sender, "editor")
    _, page, html = await page_of(editor, f"/console/drafts/{d.id}")
    assert "待人工发布" in page and "复制正文" in page
    assert re.search(r"<textarea readonly[^>]*>[^<]*集中缴费期", html)
    _, page = await post_form(
        editor,
        f"/console/drafts/publications/{p.id}/resolve",
        {"draft_id": str(d.id), "outcome": "failed", "note": ""},
    )
    assert "请填写说明" in page
    _, page = await post_form(
        editor,
        f"/console/drafts/publications/{p.id}/resolve",
        {"draft_id": str(d.id), "outcome": "failed", "note": "微博账号已停更"},
    )
    assert "「清源人社微博」已放弃发布" in page and "发布失败" in page
