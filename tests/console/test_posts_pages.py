"""The console's posts pages through the Quart test client: an editor records and imports posts
on the account page, ad posts show flagged with their evidence and a reviewer clears them, staff of
another unit are refused; the activity page shows each account's state and its 12 weeks; admins
maintain the ad rules.

Asserted on the HTML people see and on what the database holds.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from werkzeug.datastructures import FileStorage

from accounts.models import Account, AdRule, Post
from infra.clock import SHANGHAI
from org.models import AuditRecord
from tests.accounts.conftest import demo_accounts, demo_units  # noqa: F401 (fixtures)
from tests.org.conftest import login_as

AD_TITLE = "限时抢购！扫码领取社保卡套"


def text(body: bytes) -> str:
    """The page as people read it: tags dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", body.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


async def post_form(session, url: str, form: dict | None = None, files: dict | None = None):
    resp = await session.client.post(
        url,
        form={"csrf_token": session.csrf, **(form or {})},
        files=files,
        follow_redirects=True,
    )
    return resp, text(await resp.get_data())


def upload(name: str, content: str) -> dict[str, FileStorage]:
    import io

    return {"file": FileStorage(io.BytesIO(content.encode()), filename=name)}


def local_input(moment: dt.datetime) -> str:
    """How a datetime-local input sends a moment: Beijing wall time, no zone."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


# ------------------------------------------------------------------ the account page


async def test_editor_adds_a_post_and_sees_it(app, sender, clock, demo_accounts):  # noqa: F811
    acc = demo_accounts["rsj"]
    editor = await login_as(app, sender, "editor")
    published = clock.now() - dt.timedelta(hours=2)
    resp, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts",
        {
            "title": "2026年城乡居民医保缴费指南",
            "url": "https://rsj.example.gov.cn/a/1",
            "published_at": local_input(published),
            "summary": "缴费时间和渠道",
            "source_name": "",
            "source_url": "",
        },
    )
    assert resp.status_code == 200
    assert "已登记「2026年城乡居民医保缴费指南」" in page
    assert "2026年城乡居民医保缴费指南" in page and "原创" in page
    assert "2026-11-23 08:00" in page  # shown in Beijing time
    body = (await resp.get_data()).decode()
    assert 'href="https://rsj.example.gov.cn/a/1"' in body
    assert "确认无广告" not in page  # no flagged post, and the editor is no reviewer
    [post] = await Post.filter(account_id=acc.id)
    assert post.title == "2026年城乡居民医保缴费指南" and post.review_status == "ok"
    assert post.published_at == published.replace(second=0, microsecond=0)

    # A repost names its source on the page; without one it is refused with the reason.
    resp, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts",
        {
            "title": "国务院关于养老保险的通知",
            "published_at": local_input(published),
            "is_repost": "1",
            "source_name": "中国政府网",
            "source_url": "https://www.gov.cn/zhengce/1",
        },
    )
    assert re.search(r"转载 来源：\s*中国政府网", page)
    resp, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts",
        {"title": "无来源转载", "published_at": local_input(published), "is_repost": "1"},
    )
    assert "转载信息须注明来源" in page
    assert await Post.filter(account_id=acc.id).count() == 2


async def test_ad_post_is_flagged_with_evidence_and_a_reviewer_clears_it(
    app,
    sender,
    clock,
    demo_accounts,  # noqa: F811
):
    acc = demo_accounts["rsj"]
    editor = await login_as(app, sender, "editor")
    _, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts",
        {"title": AD_TITLE, "published_at": local_input(clock.now())},
    )
    assert "发现疑似广告" in page
    assert "疑似广告待核查" in page
    # The title is short: the quote is all of it, not cut in the middle of a word.
    assert "广告用语（限时抢购）：“限时抢购！扫码领取社保卡套”" in page
    assert "诱导购买（扫码领取或购买）：" in page
    assert "确认无广告" not in page  # the editor may not clear it
    post = await Post.get(account_id=acc.id)
    assert post.review_status == "flagged"

    # A reviewer of another unit cannot clear it: refused, and it stays flagged.
    other = await login_as(app, sender, "gjjreviewer", "Other2026ms")
    await post_form(other, f"/console/posts/{post.id}/clear", {"note": "不是广告"})
    assert (await Post.get(id=post.id)).review_status == "flagged"

    reviewer = await login_as(app, sender, "reviewer")
    page = text(await (await reviewer.get(f"/console/accounts/{acc.id}")).get_data())
    assert "确认无广告" in page and "核查意见" in page
    # Without a note the reviewer is asked for one.
    _, page = await post_form(
        reviewer, f"/console/posts/{post.id}/clear", {"account_id": str(acc.id), "note": ""}
    )
    assert "请填写核查意见" in page
    assert (await Post.get(id=post.id)).review_status == "flagged"
    _, page = await post_form(
        reviewer,
        f"/console/posts/{post.id}/clear",
        {"account_id": str(acc.id), "note": "系社保卡服务通知，非商业广告"},
    )
    assert f"已核查放行「{AD_TITLE}」" in page
    assert "已核查放行" in page and "疑似广告待核查" not in page
    assert "确认无广告" not in page
    assert (await Post.get(id=post.id)).review_status == "cleared"
    rec = await AuditRecord.filter(action="post.clear").first()
    assert rec is not None and "非商业广告" in rec.summary


async def test_upload_shows_the_import_report(app, sender, clock, demo_accounts):  # noqa: F811
    acc = demo_accounts["rsj"]
    editor = await login_as(app, sender, "editor")
    csv_text = (
        "标题,发布时间,链接,是否转载,来源名称,来源链接\n"
        "社保待遇调整公告,2026-11-20 09:30,https://rsj.example.gov.cn/a/2,否,,\n"
        f"{AD_TITLE},2026/11/21 10:00,,否,,\n"
        "缺少时间的一行,,,否,,\n"
        "转载没有来源,2026-11-22 08:00,,是,,\n"
    )
    _, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts/import",
        files=upload("posts.csv", csv_text),
    )
    assert "导入完成：导入 2 条，重复 0 条，疑似广告 1 条，出错 2 行" in page
    assert "第 4 行：请填写发布时间" in page
    assert "第 5 行：转载信息须注明来源" in page
    assert "社保待遇调整公告" in page and "2026-11-20 09:30" in page
    assert "疑似广告待核查" in page
    assert set(await Post.filter(account_id=acc.id).values_list("title", flat=True)) == {
        "社保待遇调整公告",
        AD_TITLE,
    }

    # The same file again adds nothing: each good row is a duplicate.
    _, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts/import",
        files=upload("posts.csv", csv_text),
    )
    assert "导入 0 条，重复 2 条" in page
    assert await Post.filter(account_id=acc.id).count() == 2

    # No file, or a file of an unknown kind: the reason, nothing stored.
    _, page = await post_form(editor, f"/console/accounts/{acc.id}/posts/import")
    assert "请选择要导入的文件" in page
    _, page = await post_form(
        editor,
        f"/console/accounts/{acc.id}/posts/import",
        files=upload("posts.doc", "标题"),
    )
    assert "无法识别的文件格式" in page
    assert await Post.filter(account_id=acc.id).count() == 2


async def test_editor_of_another_unit_is_refused(app, sender, clock, demo_accounts):  # noqa: F811
    rsj = demo_accounts["rsj"]
    other = await login_as(app, sender, "gjjeditor", "Other2026ms")
    page_of_own = text(
        await (await other.get(f"/console/accounts/{demo_accounts['gjj'].id}")).get_data()
    )
    assert "登记发布信息" in page_of_own  # their own unit's account has the forms
    resp = await other.get(f"/console/accounts/{rsj.id}")
    assert resp.status_code == 404
    before = await AuditRecord.all().count()
    await post_form(
        other,
        f"/console/accounts/{rsj.id}/posts",
        {"title": "越权登记", "published_at": local_input(clock.now())},
    )
    await post_form(
        other,
        f"/console/accounts/{rsj.id}/posts/import",
        files=upload("p.csv", "标题,发布时间\n越权导入,2026-11-20 09:30\n"),
    )
    assert await Post.all().count() == 0
    refused = await AuditRecord.filter(id__gt=before, outcome__not="ok").count()
    assert refused >= 2

    # A leader of the unit reads the posts but gets no forms to add or clear them.
    leader = await login_as(app, sender, "leader")
    page = text(await (await leader.get(f"/console/accounts/{rsj.id}")).get_data())
    assert "发布信息" in page and "登记发布信息" not in page and "批量导入" not in page
    _, page = await post_form(
        leader,
        f"/console/accounts/{rsj.id}/posts",
        {"title": "领导登记", "published_at": local_input(clock.now())},
    )
    assert "此操作需要以下角色之一：编辑" in page
    assert await Post.all().count() == 0


# ------------------------------------------------------------------ the activity page


@pytest.fixture
async def accounts_in_each_state(demo_units, clock):  # noqa: F811
    """One account of 市人社局 per state, its last post so many days before today."""
    now = clock.now()
    unit = demo_units["QY-RSJ"]
    made = {}
    for n, (state, days) in enumerate((("ok", 1), ("warn", 8), ("fail", 20), ("zombie", 100)), 1):
        platform = f"p{n}"
        acc = await Account.create(
            code=f"act-{state}",
            unit=unit,
            platform=platform,
            name=f"监测{state}号",
            status="active",
            live_slot=f"{unit.id}:{platform}",
            opened_on=dt.date(2025, 1, 1),
            created_at=now - dt.timedelta(days=400),
            updated_at=now,
        )
        await Post.create(
            account=acc,
            title=f"{state}的最后一条",
            published_at=now - dt.timedelta(days=days),
            created_at=now,
        )
        made[state] = acc
    # Another unit's account, out of reach of the unit's own leader.
    gjj = demo_units["QY-GJJ"]
    made["gjj"] = await Account.create(
        code="act-gjj",
        unit=gjj,
        platform="p9",
        name="公积金监测号",
        status="active",
        live_slot=f"{gjj.id}:p9",
        opened_on=dt.date(2025, 1, 1),
        created_at=now - dt.timedelta(days=400),
        updated_at=now,
    )
    return made


def row_of(body: bytes, name: str) -> str:
    for row in re.findall(r"<tr>.*?</tr>", body.decode(), flags=re.S):
        if name in row:
            return row
    raise AssertionError(f"no row for {name}")


async def test_activity_page_shows_each_state(app, sender, accounts_in_each_state):
    supervisor = await login_as(app, sender, "supervisor")
    resp = await supervisor.get("/console/activity")
    assert resp.status_code == 200
    body = await resp.get_data()
    page = text(body)
    assert "更新监测" in page
    expected = {"ok": ("正常", 1), "warn": ("预警", 8), "fail": ("不合格", 20)}
    for state, (label, days) in expected.items():
        row = row_of(body, f"监测{state}号")
        assert f'<span class="state {state}">{label}</span>' in row
        assert f"{days} 天" in text(row.encode())
    zombie = row_of(body, "监测zombie号")
    assert '<span class="state zombie">僵尸账号</span>' in zombie
    never = row_of(body, "公积金监测号")
    assert "从未发布" in text(never.encode()) and "僵尸账号" in never

    # 12 week cells: the ok account met the last full week; the zombie missed all eleven.
    ok_row = row_of(body, "监测ok号")
    cells = re.findall(r'<td class="wk ([a-z]*) ?"[^>]*>([^<]*)</td>', ok_row)
    assert len(cells) == 12
    assert cells[-2] == ("met", "✔")  # last week (the post of yesterday, a Sunday)
    zombie_cells = re.findall(r'<td class="wk ([a-z]*) ?"[^>]*>([^<]*)</td>', zombie)
    assert [c for c in zombie_cells[:11]] == [("missed", "✖")] * 11
    assert zombie_cells[11] == ("", "")  # this week is still running

    # Filtering by state shows only those accounts.
    page = text(await (await supervisor.get("/console/activity?state=warn")).get_data())
    assert "监测warn号" in page and "监测ok号" not in page and "监测zombie号" not in page

    # A leader sees the accounts of their unit only; an editor is refused.
    leader = await login_as(app, sender, "leader")
    page = text(await (await leader.get("/console/activity")).get_data())
    assert "监测ok号" in page and "公积金监测号" not in page
    editor = await login_as(app, sender, "editor")
    resp = await editor.get("/console/activity")
    assert resp.status_code == 403
    assert "更新监测" not in text(await (await editor.get("/console/")).get_data())


# ------------------------------------------------------------------ the ad rules page


async def test_admin_adds_and_deactivates_an_ad_rule(app, sender, demo_units):  # noqa: F811
    admin = await login_as(app, sender, "admin")
    page = text(await (await admin.get("/console/")).get_data())
    assert "广告规则" in page
    _, page = await post_form(
        admin, "/console/ad-rules", {"kind": "word", "pattern": "特价秒杀", "note": "促销"}
    )
    assert "已添加广告用语规则“特价秒杀”" in page
    assert "特价秒杀 促销" in page and "启用" in page
    rule = await AdRule.get(pattern="特价秒杀")
    assert rule.active and rule.kind == "word"

    # A bad rule is refused with its reason.
    _, page = await post_form(admin, "/console/ad-rules", {"kind": "word", "pattern": "秒"})
    assert "广告用语至少2个字" in page
    assert await AdRule.all().count() == 1

    # Editors read the rules but get no form, and cannot change them.
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.get("/console/ad-rules")).get_data())
    assert "特价秒杀" in page and "添加规则" not in page and "停用" not in page
    _, page = await post_form(editor, f"/console/ad-rules/{rule.id}/remove")
    assert "此操作需要以下角色之一" in page
    assert (await AdRule.get(id=rule.id)).active

    _, page = await post_form(admin, f"/console/ad-rules/{rule.id}/remove")
    assert "已停用规则“特价秒杀”" in page
    assert "已停用" in page
    assert not (await AdRule.get(id=rule.id)).active
    actions = set(await AuditRecord.filter(object_type="ad_rule").values_list("action", flat=True))
    assert actions == {"ad_rule.create", "ad_rule.remove"}


async def test_reviewer_sees_the_author_and_may_not_clear_their_own(
    app,
    sender,
    clock,
    deps,
    demo_units,  # noqa: F811
    demo_accounts,  # noqa: F811
):
    """One person may hold editor and reviewer; a post they recorded waits for someone else."""
    from org.access import Actor
    from org.service import create_staff

    acc = demo_accounts["rsj"]
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "both",
            "real_name": "吴双",
            "mobile": "13700000031",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["editor", "reviewer"],
            "password": "Other2026ms",
        },
    )
    both = await login_as(app, sender, "both", "Other2026ms")
    _, page = await post_form(
        both,
        f"/console/accounts/{acc.id}/posts",
        {"title": AD_TITLE, "published_at": local_input(clock.now())},
    )
    assert "疑似广告待核查" in page and "录入人" in page and "吴双" in page
    assert "本人录入，须由其他审核人员核查" in page
    assert "确认无广告" not in page
    post = await Post.get(account_id=acc.id)
    _, page = await post_form(
        both,
        f"/console/posts/{post.id}/clear",
        {"account_id": str(acc.id), "note": "我看过了，不是广告"},
    )
    assert "不得审核本人录入的发文" in page
    assert (await Post.get(id=post.id)).review_status == "flagged"

    reviewer = await login_as(app, sender, "reviewer")
    page = text(await (await reviewer.get(f"/console/accounts/{acc.id}")).get_data())
    assert "吴双" in page and "确认无广告" in page
    _, page = await post_form(
        reviewer,
        f"/console/posts/{post.id}/clear",
        {"account_id": str(acc.id), "note": "系社保卡服务通知，非商业广告"},
    )
    assert f"已核查放行「{AD_TITLE}」" in page
    assert (await Post.get(id=post.id)).review_status == "cleared"


async def test_a_reviewer_confirms_an_ad_and_the_editor_records_its_removal(
    app,
    sender,
    clock,
    demo_accounts,  # noqa: F811
):
    """Issue 13 item 13: 确认为广告 beside 确认无广告; the unit's editor is told by SMS, sees
    待删除的广告发文 on the dashboard and records the deletion with 登记已删除."""
    acc = demo_accounts["rsj"]
    account_page = f"/console/accounts/{acc.id}"
    editor = await login_as(app, sender, "editor")
    await post_form(
        editor,
        f"{account_page}/posts",
        {"title": AD_TITLE, "published_at": local_input(clock.now())},
    )
    post = await Post.get(account_id=acc.id)
    confirm, removed = f"/console/posts/{post.id}/confirm", f"/console/posts/{post.id}/removed"
    page = text(await (await editor.get(account_page)).get_data())
    assert "确认为广告" not in page and "登记已删除" not in page

    reviewer = await login_as(app, sender, "reviewer")
    body = (await (await reviewer.get(account_page)).get_data()).decode()
    assert "确认无广告" in text(body.encode()) and "确认为广告" in text(body.encode())
    assert f'formaction="{confirm}"' in body
    # Without a reason the reviewer is asked for one.
    _, page = await post_form(reviewer, confirm, {"account_id": str(acc.id), "note": " "})
    assert "请填写认定意见" in page
    assert (await Post.get(id=post.id)).review_status == "flagged"

    sender.sent.clear()
    assert "属严重错误" in text(body.encode())  # a serious error is a veto in supervision
    _, page = await post_form(
        reviewer,
        confirm,
        {"account_id": str(acc.id), "note": "推销社保卡套，属商业广告", "serious": "1"},
    )
    assert f"已认定「{AD_TITLE}」为商业广告" in page
    assert (await Post.get(id=post.id)).serious is True
    assert "广告已确认，待删除" in page and "疑似广告待核查" not in page
    assert "张志强于 2026-11-23 10:00 认定为广告：推销社保卡套，属商业广告" in page
    assert "确认为广告" not in page and "确认无广告" not in page
    assert "说明（选填）" in page and "登记已删除" in page  # a reviewer may record it too
    assert [mobile for mobile, _ in sender.sent] == ["13800000002"]
    assert (await Post.get(id=post.id)).review_status == "confirmed"

    # The editor's to-do list counts it and leads to the account.
    body = (await (await editor.get("/console/")).get_data()).decode()
    assert "待删除的广告发文 1" in text(body.encode())
    assert f'href="{account_page}"' in body
    page = text(await (await editor.get(account_page)).get_data())
    assert "广告已确认，待删除" in page and "登记已删除" in page and "确认为广告" not in page

    # A supervisor sees where it stands but records nothing; another unit's editor is refused.
    supervisor = await login_as(app, sender, "supervisor")
    page = text(await (await supervisor.get(account_page)).get_data())
    assert "广告已确认，待删除" in page and "待本单位删除后登记" in page
    assert "说明（选填）" not in page
    other = await login_as(app, sender, "gjjeditor", "Other2026ms")
    await post_form(other, removed, {"account_id": str(acc.id)})
    assert (await Post.get(id=post.id)).review_status == "confirmed"

    clock.advance(hours=2)
    _, page = await post_form(
        editor, removed, {"account_id": str(acc.id), "note": "已在公众号后台删除"}
    )
    assert f"已登记「{AD_TITLE}」已删除" in page
    assert "李晓梅于 2026-11-23 12:00 登记已删除：已在公众号后台删除" in page
    assert "广告已确认，待删除" not in page and "说明（选填）" not in page
    row = await Post.get(id=post.id)
    assert row.review_status == "removed" and row.removal_note == "已在公众号后台删除"
    page = text(await (await editor.get("/console/")).get_data())
    assert "待删除的广告发文" not in page
    for action in ("post.confirm_ad", "post.mark_removed"):
        assert await AuditRecord.filter(action=action, object_id=str(post.id)).count() == 1
