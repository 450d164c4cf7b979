"""Posts: screening at insert, sources of reposts, idempotent external ids, imports, who may do
what, and the audit trail (002 §11, 004 §6(五), 000 §14(五))."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from accounts import posts
from accounts.models import AdRule, Post
from infra.errors import DomainError
from org.models import AuditRecord
from tests.accounts.conftest import OTHER_PASSWORD
from tests.org.conftest import login_as

CLEAN = {"title": "关于2026年城乡居民医保缴费的通知", "published_at": "2026-11-20T09:30:00+08:00"}
AD = {
    "title": "年终福利来袭",
    "summary": "限时抢购，扫码领取优惠券，详情见 https://s.click.taobao.com/abc",
    "published_at": "2026-11-21 10:00",
}
REPOST = {
    "title": "国务院关于进一步优化政务服务的意见",
    "published_at": "2026-11-22T08:00:00Z",
    "is_repost": True,
    "source_name": "中国政府网",
    "source_url": "https://www.gov.cn/zhengce/content/2026-11/20/content_1.htm",
}


async def audits(action: str) -> list[AuditRecord]:
    return await AuditRecord.filter(action=action).order_by("id")


# ---------------------------------------------------------------- recording a post


async def test_clean_post_is_recorded_in_utc_and_audited(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    added = await posts.add_post(deps, actors["editor"], acc.id, CLEAN)
    assert added.created
    post = await Post.get(id=added.post.id)
    assert post.review_status == "ok" and post.findings == []
    assert post.published_at == dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
    [rec] = await audits("post.create")
    assert rec.object_id == str(post.id) and rec.actor_name == "李晓梅"
    assert CLEAN["title"] in rec.summary


async def test_post_with_ad_content_is_flagged_with_evidence(deps, actors, demo_accounts):
    added = await posts.add_post(deps, actors["editor"], demo_accounts["rsj"].id, AD)
    post = await Post.get(id=added.post.id)
    assert post.review_status == "flagged"
    found = {(f["kind"], f["pattern"]) for f in post.findings}
    assert {("word", "限时抢购"), ("word", "扫码领取"), ("domain", "s.click.taobao.com")} <= found
    assert all(f["evidence"] for f in post.findings)
    [rec] = await audits("post.create")
    assert "疑似广告" in rec.summary


@pytest.mark.parametrize(
    ("missing", "field"), [("source_name", "source_name"), ("source_url", "source_url")]
)
async def test_repost_without_its_source_is_refused(deps, actors, demo_accounts, missing, field):
    data = {k: v for k, v in REPOST.items() if k != missing}
    with pytest.raises(DomainError) as exc:
        await posts.add_post(deps, actors["editor"], demo_accounts["rsj"].id, data)
    assert exc.value.details["field"] == field and "来源" in exc.value.message
    assert await Post.all().count() == 0
    assert await audits("post.create") == []


async def test_repost_source_must_be_a_web_address(deps, actors, demo_accounts):
    data = {**REPOST, "source_url": "javascript:alert(1)"}
    with pytest.raises(DomainError) as exc:
        await posts.add_post(deps, actors["editor"], demo_accounts["rsj"].id, data)
    assert exc.value.details["field"] == "source_url" and "http" in exc.value.message
    added = await posts.add_post(deps, actors["editor"], demo_accounts["rsj"].id, REPOST)
    assert added.post.is_repost and added.post.source_name == "中国政府网"


BAD_FIELDS = [
    ({"published_at": "2026-11-20"}, "title", "标题"),
    ({"title": "通知"}, "published_at", "发布时间"),
    ({"title": "通知", "published_at": "上周三"}, "published_at", "发布时间"),
    ({"title": "通知", "published_at": "2026-12-25T09:00:00+08:00"}, "published_at", "晚于"),
    ({**CLEAN, "is_repost": "也许"}, "is_repost", "是否转载"),
    ({**CLEAN, "url": "mp.weixin.qq.com/s/a"}, "url", "http"),
    ({**CLEAN, "title": "长" * 301}, "title", "300"),
]


async def test_bad_fields_are_named(deps, actors, demo_accounts):
    for data, field, words in BAD_FIELDS:
        with pytest.raises(DomainError) as exc:
            await posts.add_post(deps, actors["editor"], demo_accounts["rsj"].id, data)
        assert exc.value.details["field"] == field and words in exc.value.message, data
    assert await Post.all().count() == 0


async def test_same_external_id_returns_the_existing_post(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    first = await posts.add_post(deps, actors["editor"], acc.id, {**CLEAN, "external_id": "wx-1"})
    again = await posts.add_post(
        deps, actors["editor"], acc.id, {**CLEAN, "title": "改过的标题", "external_id": "wx-1"}
    )
    assert first.created and not again.created and again.post.id == first.post.id
    assert await Post.filter(account_id=acc.id).count() == 1
    assert len(await audits("post.create")) == 1
    # The same external id on another account is another post.
    other = await posts.add_post(
        deps, actors["gjjeditor"], demo_accounts["gjj"].id, {**CLEAN, "external_id": "wx-1"}
    )
    assert other.created and other.post.id != first.post.id


# ---------------------------------------------------------------- who may do what


async def test_editor_of_another_unit_can_neither_see_nor_add(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    await posts.add_post(deps, actors["editor"], acc.id, CLEAN)
    for call in (
        posts.add_post(deps, actors["gjjeditor"], acc.id, {**CLEAN, "external_id": "x"}),
        posts.list_posts(actors["gjjeditor"], acc.id),
        posts.import_posts(deps, actors["gjjeditor"], acc.id, "a.csv", b"title,published_at\n"),
    ):
        with pytest.raises(DomainError) as exc:
            await call
        assert exc.value.status == 404
    assert await Post.all().count() == 1


async def test_supervisor_and_leader_read_but_do_not_add(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    await posts.add_post(deps, actors["editor"], acc.id, CLEAN)
    for who in ("supervisor", "leader", "reviewer"):
        total, rows = await posts.list_posts(actors[who], acc.id)
        assert total == 1 and rows[0].title == CLEAN["title"]
        with pytest.raises(DomainError) as exc:
            await posts.add_post(deps, actors[who], acc.id, {**CLEAN, "external_id": who})
        assert exc.value.status == 403
    assert await Post.all().count() == 1


async def test_reviewer_of_the_unit_clears_a_flagged_post(deps, actors, demo_accounts, clock):
    acc = demo_accounts["rsj"]
    post = (await posts.add_post(deps, actors["editor"], acc.id, AD)).post
    total, flagged = await posts.list_posts(actors["reviewer"], acc.id, flagged_only=True)
    assert total == 1 and flagged[0].id == post.id

    for who, status in (("editor", 403), ("gjjreviewer", 404), ("supervisor", 403)):
        with pytest.raises(DomainError) as exc:
            await posts.clear_post(deps, actors[who], post.id, "不是广告")
        assert exc.value.status == status, who
    with pytest.raises(DomainError) as exc:
        await posts.clear_post(deps, actors["reviewer"], post.id, "  ")
    assert exc.value.details["field"] == "note"
    assert (await Post.get(id=post.id)).review_status == "flagged"

    await posts.clear_post(deps, actors["reviewer"], post.id, "系本地消费券发放通知，非商业广告")
    cleared = await Post.get(id=post.id)
    # When, for supervision's reports of past weeks (an ad unhandled at that check).
    assert cleared.review_status == "cleared" and cleared.cleared_at == clock.now()
    [rec] = await audits("post.clear")
    assert rec.actor_name == "张志强" and rec.after["note"].startswith("系本地消费券")
    assert rec.before["review_status"] == "flagged"
    assert await posts.list_posts(actors["reviewer"], acc.id, flagged_only=True) == (0, [])
    with pytest.raises(DomainError) as exc:
        await posts.clear_post(deps, actors["reviewer"], post.id, "再次")
    assert exc.value.status == 409
    assert len(await audits("post.clear")) == 1


# ---------------------------------------------------------------- import

ROWS_ZH = [
    ["标题", "摘要", "链接", "发布时间", "是否转载", "来源名称", "来源链接", "编号"],
    [
        "医保缴费开始了",
        "请按时缴费",
        "https://mp.weixin.qq.com/s/a",
        "2026-11-18 09:00",
        "否",
        "",
        "",
        "a1",
    ],
    ["转载：优化营商环境条例", "", "", "2026/11/19 10:30", "是", "", "", "a2"],  # no source
    ["社保卡换发指南", "包邮到家，加微信领取", "", "2026年11月20日 08:15", "否", "", "", "a3"],
    ["国务院常务会议要点", "", "", "2026-11-21", "是", "中国政府网", "https://www.gov.cn/a", "a4"],
]


def csv_bytes(rows, encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _check_imported(acc, report) -> None:
    assert report["imported"] == 3 and report["duplicates"] == 0
    assert report["errors"] == [{"row": 3, "message": "转载信息须注明来源：请填写来源名称"}]
    rows = {p.external_id: p for p in await Post.filter(account_id=acc.id)}
    assert set(rows) == {"a1", "a3", "a4"}
    assert rows["a3"].review_status == "flagged" and rows["a1"].review_status == "ok"
    assert rows["a4"].is_repost and rows["a4"].source_url == "https://www.gov.cn/a"
    assert rows["a3"].published_at == dt.datetime(2026, 11, 20, 0, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
async def test_csv_import_reports_bad_rows_and_imports_the_rest(
    deps, actors, demo_accounts, encoding
):
    acc = demo_accounts["rsj"]
    content = csv_bytes(ROWS_ZH, encoding)
    report = await posts.import_posts(deps, actors["editor"], acc.id, "发布记录.csv", content)
    await _check_imported(acc, report)
    [rec] = await audits("post.import")
    assert rec.object_id == str(acc.id) and "导入 3 条" in rec.summary
    again = await posts.import_posts(deps, actors["editor"], acc.id, "发布记录.csv", content)
    assert again["imported"] == 0 and again["duplicates"] == 3
    assert await Post.filter(account_id=acc.id).count() == 3


async def test_xlsx_import_with_english_headers_and_excel_values(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    rows = [
        ["Title", "Summary", "URL", "Published_At", "Is_Repost", "Source_Name", "Source_URL", "ID"],
        ["医保缴费开始了", None, None, dt.datetime(2026, 11, 18, 9, 0), False, None, None, "a1"],
        ["转载：优化营商环境条例", None, None, dt.datetime(2026, 11, 19, 10, 30), "是"],
        [None, None, None, None, None],  # Excel's empty rows are skipped silently
        ["社保卡换发指南", "包邮到家", None, dt.datetime(2026, 11, 20, 8, 15), 0, None, None, "a3"],
        ["国务院常务会议要点", "", "", dt.date(2026, 11, 21), 1, "中国政府网",
         "https://www.gov.cn/a", "a4"],
    ]  # fmt: skip
    report = await posts.import_posts(
        deps, actors["editor"], acc.id, "posts.xlsx", xlsx_bytes(rows)
    )
    await _check_imported(acc, report)


async def test_rows_without_external_id_are_not_imported_twice(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    content = csv_bytes([["标题", "发布时间"], ["通知一", "2026-11-18 09:00"]], "utf-8")
    for _ in range(2):
        await posts.import_posts(deps, actors["editor"], acc.id, "a.csv", content)
    assert await Post.filter(account_id=acc.id).count() == 1


UNUSABLE_FILES = [
    ("a.pdf", b"%PDF-1.4", "文件格式"),
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
    ("a.xlsx", b"PK\x03\x04 not really a zip", "无法读取"),
    ("a.csv", b"", "空"),
    ("a.csv", b"\xff\xfe\x00\xd8garbage\x81", "编码"),
    ("a.csv", "摘要,链接\n一,二\n".encode(), "标题、发布时间"),
    ("a.csv", "标题,标题,发布时间\n".encode(), "不止一次"),
    ("a.csv", "标题,发布时间\n".encode(), "没有可导入"),
]


async def test_unusable_files_are_refused_clearly(deps, actors, demo_accounts):
    for filename, content, words in UNUSABLE_FILES:
        with pytest.raises(DomainError) as exc:
            await posts.import_posts(
                deps, actors["editor"], demo_accounts["rsj"].id, filename, content
            )
        assert words in exc.value.message, (filename, content, exc.value.message)
    assert await Post.all().count() == 0
    assert await audits("post.import") == []


async def test_more_than_5000_rows_is_refused_and_nothing_imported(deps, actors, demo_accounts):
    rows = [["标题", "发布时间", "编号"]] + [
        [f"第{i}条", "2026-11-18 09:00", str(i)] for i in range(5001)
    ]
    with pytest.raises(DomainError) as exc:
        await posts.import_posts(
            deps, actors["editor"], demo_accounts["rsj"].id, "big.csv", csv_bytes(rows, "utf-8")
        )
    assert exc.value.code == "too_many_rows" and "5000" in exc.value.message
    assert await Post.all().count() == 0


# ---------------------------------------------------------------- ad rules


async def test_admin_maintains_ad_rules_and_posts_follow_them(deps, actors, demo_accounts):
    acc = demo_accounts["rsj"]
    with pytest.raises(DomainError) as exc:
        await posts.add_ad_rule(deps, actors["editor"], {"kind": "word", "pattern": "团购热线"})
    assert exc.value.status == 403

    rule = await posts.add_ad_rule(
        deps, actors["admin"], {"kind": "word", "pattern": "团购热线", "note": "本地商家"}
    )
    domain = await posts.add_ad_rule(
        deps, actors["admin"], {"kind": "domain", "pattern": "https://Shop.Example.cn/x"}
    )
    assert domain.pattern == "shop.example.cn"
    assert {r.id for r in await posts.list_ad_rules(actors["editor"])} == {rule.id, domain.id}

    flagged = await posts.add_post(
        deps, actors["editor"], acc.id, {**CLEAN, "summary": "团购热线：12345", "external_id": "1"}
    )
    assert flagged.post.review_status == "flagged"
    assert flagged.post.findings[0]["pattern"] == "团购热线"

    await posts.remove_ad_rule(deps, actors["admin"], rule.id)
    assert not (await AdRule.get(id=rule.id)).active
    later = await posts.add_post(
        deps, actors["editor"], acc.id, {**CLEAN, "summary": "团购热线：12345", "external_id": "2"}
    )
    assert later.post.review_status == "ok"
    actions = [r.action for r in await AuditRecord.filter(object_type="ad_rule").order_by("id")]
    assert actions == ["ad_rule.create", "ad_rule.create", "ad_rule.remove"]


BAD_RULES = [
    ({"kind": "phrase", "pattern": "团购"}, "规则类型"),
    ({"kind": "word", "pattern": "购"}, "至少2个字"),
    ({"kind": "lure", "pattern": "([未闭合"}, "正则表达式有误"),
    ({"kind": "lure", "pattern": "(a+)+b"}, "嵌套"),
    ({"kind": "lure", "pattern": "x*"}, "空文本"),
    ({"kind": "domain", "pattern": "不是域名"}, "域名格式"),
    ({"kind": "domain", "pattern": "gov.cn"}, "公共后缀"),
    ({"kind": "word", "pattern": "包邮"}, "内置规则"),
]


async def test_bad_ad_rules_are_refused(deps, actors):
    for data, words in BAD_RULES:
        with pytest.raises(DomainError) as exc:
            await posts.add_ad_rule(deps, actors["admin"], data)
        assert words in exc.value.message, data
    await posts.add_ad_rule(deps, actors["admin"], {"kind": "word", "pattern": "团购热线"})
    with pytest.raises(DomainError) as exc:
        await posts.add_ad_rule(deps, actors["admin"], {"kind": "word", "pattern": "团购热线"})
    assert exc.value.status == 409
    assert await AdRule.all().count() == 1


# ---------------------------------------------------------------- over HTTP


async def test_http_posts_screening_import_and_clearing(app, sender, demo_accounts):
    acc = demo_accounts["rsj"]
    editor = await login_as(app, sender, "editor")
    url = f"/api/accounts/{acc.id}/posts"

    r = await editor.post(url, json={**AD, "external_id": "wx-9"})
    assert r.status_code == 201
    post = await r.get_json()
    assert post["review_status"] == "flagged" and post["findings"]
    r = await editor.post(url, json={**AD, "external_id": "wx-9"})
    assert r.status_code == 200 and (await r.get_json())["id"] == post["id"]

    r = await editor.post(url, json={k: v for k, v in REPOST.items() if k != "source_url"})
    assert r.status_code == 400
    assert (await r.get_json())["error"]["details"]["field"] == "source_url"

    r = await editor.post("/api/screen", json={"title": "好消息", "body": "全场包邮", "urls": []})
    assert r.status_code == 200 and not (await r.get_json())["clean"]

    content = csv_bytes(ROWS_ZH, "gbk")
    r = await editor.client.post(
        f"{url}/import",
        files={"file": FileStorage(io.BytesIO(content), filename="发布记录.csv")},
        headers={"X-CSRF-Token": editor.csrf},
    )
    assert r.status_code == 200, await r.get_json()
    assert (await r.get_json())["imported"] == 3

    r = await editor.get(f"{url}?flagged=1")
    body = await r.get_json()
    assert body["total"] == 2 and all(p["review_status"] == "flagged" for p in body["items"])

    reviewer = await login_as(app, sender, "reviewer")
    r = await reviewer.post(f"/api/posts/{post['id']}/clear", json={"note": "核实为政务信息"})
    assert r.status_code == 200 and (await r.get_json())["review_status"] == "cleared"
    assert await AuditRecord.filter(action="post.clear", object_id=str(post["id"])).exists()


async def test_http_other_unit_is_refused_and_the_attempt_audited(app, sender, demo_accounts):
    acc = demo_accounts["rsj"]
    other = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    last = (await AuditRecord.all().order_by("-id").first()).id
    r = await other.post(f"/api/accounts/{acc.id}/posts", json=CLEAN)
    assert r.status_code == 404
    assert await Post.all().count() == 0
    [rec] = await AuditRecord.filter(id__gt=last)
    assert rec.outcome == "rejected" and rec.actor_name.startswith("公积金")


async def test_http_ad_rules_admin(app, sender, demo_units):
    admin = await login_as(app, sender, "admin")
    r = await admin.post("/api/ad-rules", json={"kind": "domain", "pattern": "shop.example.cn"})
    assert r.status_code == 201
    rule_id = (await r.get_json())["id"]
    editor = await login_as(app, sender, "editor")
    r = await editor.delete(f"/api/ad-rules/{rule_id}")
    assert r.status_code == 403
    body = await (await editor.get("/api/ad-rules")).get_json()
    assert [x["pattern"] for x in body["rules"]] == ["shop.example.cn"] and body["defaults"]
    r = await admin.delete(f"/api/ad-rules/{rule_id}")
    assert r.status_code == 200 and not (await r.get_json())["active"]
    assert await AuditRecord.filter(action="ad_rule.remove", object_id=str(rule_id)).exists()


# ---------------------------------------------------------------- author and self-clearing


async def editor_reviewer(deps, demo_units) -> None:
    """One person of the unit holding both editor and reviewer, which the roles allow."""
    from org.access import Actor
    from org.service import create_staff

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


async def test_the_author_is_kept_and_may_not_clear_their_own_post(
    deps, actors, demo_units, demo_accounts
):
    acc = demo_accounts["rsj"]
    await editor_reviewer(deps, demo_units)
    from org.auth import actor_for
    from org.models import Staff

    both = await actor_for(await Staff.get(username="both").select_related("unit"))
    added = await posts.add_post(deps, both, acc.id, AD)
    assert added.post.created_by_id == both.staff_id
    assert posts.post_view(added.post)["created_by_name"] == "吴双"
    content = csv_bytes(ROWS_ZH, "utf-8")
    await posts.import_posts(deps, both, acc.id, "posts.csv", content)
    assert {p.created_by_id for p in await Post.all()} == {both.staff_id}

    _, flagged = await posts.list_posts(actors["reviewer"], acc.id, flagged_only=True)
    assert {posts.post_view(p)["created_by_name"] for p in flagged} == {"吴双"}
    for p in flagged:
        with pytest.raises(DomainError) as exc:
            await posts.clear_post(deps, both, p.id, "不是广告")
        assert exc.value.status == 403 and exc.value.code == "self_review"
        assert "不得审核本人录入的发文" in exc.value.message
    assert await Post.filter(review_status="flagged").count() == len(flagged)
    assert await audits("post.clear") == []
    # Someone else of the unit may: the post is cleared.
    await posts.clear_post(deps, actors["reviewer"], flagged[0].id, "核实为政务信息")
    assert (await Post.get(id=flagged[0].id)).review_status == "cleared"


async def test_http_self_clearing_is_refused_and_audited(
    app, sender, deps, demo_units, demo_accounts
):
    acc = demo_accounts["rsj"]
    await editor_reviewer(deps, demo_units)
    both = await login_as(app, sender, "both", OTHER_PASSWORD)
    r = await both.post(f"/api/accounts/{acc.id}/posts", json=AD)
    assert r.status_code == 201
    post = await r.get_json()
    assert post["created_by_name"] == "吴双" and post["created_by"] is not None
    last = (await AuditRecord.all().order_by("-id").first()).id
    r = await both.post(f"/api/posts/{post['id']}/clear", json={"note": "自己看过了"})
    assert r.status_code == 403
    error = (await r.get_json())["error"]
    assert error["code"] == "self_review" and "不得审核本人录入的发文" in error["message"]
    assert (await Post.get(id=post["id"])).review_status == "flagged"
    [rec] = await AuditRecord.filter(id__gt=last)
    assert rec.outcome in ("rejected", "denied") and rec.actor_name == "吴双"

    reviewer = await login_as(app, sender, "reviewer")
    body = await (await reviewer.get(f"/api/accounts/{acc.id}/posts?flagged=1")).get_json()
    assert [p["created_by_name"] for p in body["items"]] == ["吴双"]
    r = await reviewer.post(f"/api/posts/{post['id']}/clear", json={"note": "核实为政务信息"})
    assert r.status_code == 200 and (await r.get_json())["review_status"] == "cleared"


# ---------------------------------------------------------------- confirming an ad, its removal

AD_NOTE = "推销社保卡套并附淘宝推广链接，属商业广告"


async def _flagged_post(deps, actors, acc) -> Post:
    post = (await posts.add_post(deps, actors["editor"], acc.id, AD)).post
    assert post.review_status == "flagged"
    return post


async def test_a_reviewer_confirms_an_ad_and_the_editors_are_told_to_delete_it(
    deps, actors, demo_accounts, sender, clock
):
    """Issue 13 item 13: a flagged post can be confirmed as an ad, not only cleared."""
    from infra.models import Notification

    acc = demo_accounts["rsj"]
    post = await _flagged_post(deps, actors, acc)
    sender.sent.clear()
    # Not the editor, not a reviewer of another unit, not a supervisor or the unit's leader.
    for who, status in (
        ("editor", 403),
        ("gjjreviewer", 404),
        ("supervisor", 403),
        ("leader", 403),
    ):
        with pytest.raises(DomainError) as exc:
            await posts.confirm_post(deps, actors[who], post.id, AD_NOTE)
        assert exc.value.status == status, who
    # The reason is required, and kept within bounds.
    for note in ("", "   ", None):
        with pytest.raises(DomainError) as exc:
            await posts.confirm_post(deps, actors["reviewer"], post.id, note)
        assert exc.value.details["field"] == "note" and "认定意见" in exc.value.message
    with pytest.raises(DomainError) as exc:
        await posts.confirm_post(deps, actors["reviewer"], post.id, "广" * 1001)
    assert exc.value.details["field"] == "note"
    assert (await Post.get(id=post.id)).review_status == "flagged"
    assert await audits("post.confirm_ad") == [] and sender.sent == []

    confirmed = await posts.confirm_post(deps, actors["reviewer"], post.id, f"  {AD_NOTE} ")
    row = await Post.get(id=post.id)
    assert row.review_status == "confirmed" and row.confirm_note == AD_NOTE
    assert row.confirmed_by_id == actors["reviewer"].staff_id and row.confirmed_at == clock.now()
    assert row.removed_at is None and row.removed_by_id is None
    view = posts.post_view(confirmed)
    assert view["review_status_label"] == "广告已确认，待删除"
    assert view["confirmed_by_name"] == "张志强" and view["confirm_note"] == AD_NOTE
    [rec] = await audits("post.confirm_ad")
    assert rec.actor_name == "张志强" and rec.object_id == str(post.id)
    assert rec.before["review_status"] == "flagged" and rec.before["findings"]
    assert rec.after == {"review_status": "confirmed", "note": AD_NOTE, "serious": False}
    assert row.serious is False  # an ad, not a serious content error

    # One SMS, to the unit's editor: which account, which post, what to do; nothing else.
    [(mobile, body)] = sender.sent
    assert mobile == "13800000002"  # 李晓梅, the editor of 人社局
    assert "清源人社" in body and AD["title"] in body and "请立即删除并在系统中登记" in body
    for private in (AD_NOTE, "淘宝", "taobao", "张志强", "李晓梅", "13800000003", "限时抢购"):
        assert private not in body, private
    assert len(body) <= 70  # one text message
    assert await Notification.filter(purpose="post.take_down").count() == 1

    # Decided: neither confirmed again nor cleared, and nothing more recorded or sent.
    with pytest.raises(DomainError) as exc:
        await posts.confirm_post(deps, actors["reviewer"], post.id, AD_NOTE)
    assert exc.value.status == 409 and "广告已确认，待删除" in exc.value.message
    with pytest.raises(DomainError) as exc:
        await posts.clear_post(deps, actors["reviewer"], post.id, "不是广告")
    assert exc.value.status == 409
    assert len(await audits("post.confirm_ad")) == 1 and len(sender.sent) == 1
    assert await audits("post.clear") == []
    # A post that was never flagged cannot be confirmed either.
    clean = (await posts.add_post(deps, actors["editor"], acc.id, CLEAN)).post
    with pytest.raises(DomainError) as exc:
        await posts.confirm_post(deps, actors["reviewer"], clean.id, AD_NOTE)
    assert exc.value.status == 409
    assert (await Post.get(id=clean.id)).review_status == "ok"


async def test_the_author_may_not_confirm_their_own_post(deps, actors, demo_units, demo_accounts):
    acc = demo_accounts["rsj"]
    await editor_reviewer(deps, demo_units)
    from org.auth import actor_for
    from org.models import Staff

    both = await actor_for(await Staff.get(username="both").select_related("unit"))
    post = (await posts.add_post(deps, both, acc.id, AD)).post
    with pytest.raises(DomainError) as exc:
        await posts.confirm_post(deps, both, post.id, AD_NOTE)
    assert exc.value.status == 403 and exc.value.code == "self_review"
    assert (await Post.get(id=post.id)).review_status == "flagged"
    assert await audits("post.confirm_ad") == []


async def test_two_reviewers_confirming_at_once_leave_one_decision(
    deps, actors, demo_units, demo_accounts, sender
):
    import asyncio

    from org.access import Actor
    from org.auth import actor_for
    from org.models import Staff
    from org.service import create_staff

    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "reviewer2",
            "real_name": "钱多多",
            "mobile": "13700000032",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["reviewer"],
            "password": OTHER_PASSWORD,
        },
    )
    second = await actor_for(await Staff.get(username="reviewer2").select_related("unit"))
    post = await _flagged_post(deps, actors, demo_accounts["rsj"])
    sender.sent.clear()
    results = await asyncio.gather(
        posts.confirm_post(deps, actors["reviewer"], post.id, AD_NOTE),
        posts.confirm_post(deps, second, post.id, "确属广告"),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, Post)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].status == 409
    assert len(await audits("post.confirm_ad")) == 1
    assert len(sender.sent) == 1
    row = await Post.get(id=post.id)
    assert row.confirmed_by_id == wins[0].confirmed_by_id


async def test_the_unit_records_the_removal_and_the_to_do_count_follows(
    deps, actors, demo_accounts, clock
):
    acc = demo_accounts["rsj"]
    post = await _flagged_post(deps, actors, acc)
    # Before the confirmation there is nothing to take down, and no removal to record.
    assert await posts.count_to_take_down(actors["editor"]) == 0
    with pytest.raises(DomainError) as exc:
        await posts.mark_post_removed(deps, actors["editor"], post.id)
    assert exc.value.status == 409 and exc.value.code == "not_confirmed"
    await posts.confirm_post(deps, actors["reviewer"], post.id, AD_NOTE)

    counts = {who: await posts.count_to_take_down(actors[who]) for who in actors}
    assert counts["editor"] == 1 and counts["reviewer"] == 1
    assert {w for w, n in counts.items() if n} == {"editor", "reviewer"}  # not other units
    assert await posts.first_to_take_down(actors["editor"]) == acc.id
    assert await posts.first_to_take_down(actors["gjjeditor"]) is None
    total, rows = await posts.list_posts(actors["supervisor"], acc.id, status="confirmed")
    assert total == 1 and rows[0].id == post.id
    with pytest.raises(DomainError) as exc:
        await posts.list_posts(actors["editor"], acc.id, status="gone")
    assert exc.value.details["field"] == "status"

    # Only the unit's editors and reviewers record it.
    for who, status in (("gjjeditor", 404), ("supervisor", 403), ("leader", 403)):
        with pytest.raises(DomainError) as exc:
            await posts.mark_post_removed(deps, actors[who], post.id, "已删除")
        assert exc.value.status == status, who
    with pytest.raises(DomainError) as exc:
        await posts.mark_post_removed(deps, actors["editor"], post.id, "删" * 1001)
    assert exc.value.details["field"] == "note"
    assert (await Post.get(id=post.id)).review_status == "confirmed"

    clock.advance(hours=3)
    removed = await posts.mark_post_removed(deps, actors["editor"], post.id)  # no note needed
    row = await Post.get(id=post.id)
    assert row.review_status == "removed" and row.removal_note == ""
    assert row.removed_by_id == actors["editor"].staff_id and row.removed_at == clock.now()
    assert row.confirm_note == AD_NOTE  # the decision stays on record
    view = posts.post_view(removed)
    assert view["review_status_label"] == "已删除" and view["removed_by_name"] == "李晓梅"
    assert view["confirmed_by_name"] == "张志强"
    [rec] = await audits("post.mark_removed")
    assert rec.actor_name == "李晓梅" and rec.object_id == str(post.id)
    assert rec.before == {"review_status": "confirmed"} and rec.after["review_status"] == "removed"
    assert await posts.count_to_take_down(actors["editor"]) == 0
    with pytest.raises(DomainError) as exc:
        await posts.mark_post_removed(deps, actors["reviewer"], post.id, "我也删了")
    assert exc.value.status == 409 and "已删除" in exc.value.message
    assert len(await audits("post.mark_removed")) == 1


async def test_a_reviewer_may_record_the_removal_with_a_note(deps, actors, demo_accounts):
    post = await _flagged_post(deps, actors, demo_accounts["rsj"])
    await posts.confirm_post(deps, actors["reviewer"], post.id, AD_NOTE)
    await posts.mark_post_removed(deps, actors["reviewer"], post.id, "已在公众号后台删除")
    row = await Post.get(id=post.id)
    assert row.review_status == "removed" and row.removal_note == "已在公众号后台删除"
    [rec] = await audits("post.mark_removed")
    assert "已在公众号后台删除" in rec.summary


async def test_a_unit_without_editors_has_its_leaders_told(deps, actors, demo_units, sender, clock):
    from accounts.models import Account
    from org.access import Actor
    from org.auth import actor_for
    from org.models import Staff
    from org.service import create_staff
    from tests.accounts.conftest import make_account

    unit = demo_units["QY-HX-JYJ"]
    for username, roles, mobile in (
        ("jyjreviewer", ["reviewer"], "13700000041"),
        ("jyjleader", ["leader"], "13700000042"),
        ("jyjhandler", ["handler"], "13700000043"),
    ):
        await create_staff(
            deps,
            Actor.system(),
            {
                "username": username,
                "real_name": f"教育局{username}",
                "mobile": mobile,
                "unit_id": unit.id,
                "roles": roles,
                "password": OTHER_PASSWORD,
            },
        )
    acc: Account = await make_account(unit, "weibo", "河西教育", clock)
    post = (await posts.add_post(deps, Actor.system(), acc.id, AD)).post
    reviewer = await actor_for(await Staff.get(username="jyjreviewer").select_related("unit"))
    sender.sent.clear()
    await posts.confirm_post(deps, reviewer, post.id, AD_NOTE)
    assert [m for m, _ in sender.sent] == ["13700000042"]
    assert "河西教育" in sender.sent[0][1]


async def test_http_confirming_an_ad_and_recording_its_removal(app, sender, demo_accounts):
    acc = demo_accounts["rsj"]
    editor = await login_as(app, sender, "editor")
    r = await editor.post(f"/api/accounts/{acc.id}/posts", json=AD)
    post = await r.get_json()
    url = f"/api/posts/{post['id']}"

    r = await editor.post(f"{url}/confirm", json={"note": AD_NOTE})
    assert r.status_code == 403
    reviewer = await login_as(app, sender, "reviewer")
    r = await reviewer.post(f"{url}/confirm", json={})
    assert r.status_code == 400
    assert (await r.get_json())["error"]["details"]["field"] == "note"
    sender.sent.clear()
    r = await reviewer.post(f"{url}/confirm", json={"note": AD_NOTE})
    assert r.status_code == 200
    body = await r.get_json()
    assert body["review_status"] == "confirmed" and body["confirmed_by_name"] == "张志强"
    assert body["confirm_note"] == AD_NOTE and body["confirmed_at"]
    assert [m for m, _ in sender.sent] == ["13800000002"]
    r = await reviewer.post(f"{url}/confirm", json={"note": AD_NOTE})
    assert r.status_code == 409

    r = await editor.get(f"/api/accounts/{acc.id}/posts?status=confirmed")
    listed = await r.get_json()
    assert listed["total"] == 1 and listed["items"][0]["confirmed_by_name"] == "张志强"
    assert (await editor.get(f"/api/accounts/{acc.id}/posts?status=x")).status_code == 400

    other = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    r = await other.post(f"{url}/removed", json={})
    assert r.status_code == 404
    r = await editor.post(f"{url}/removed", json={"note": "已于平台删除"})
    assert r.status_code == 200
    body = await r.get_json()
    assert body["review_status"] == "removed" and body["removed_by_name"] == "李晓梅"
    assert body["removal_note"] == "已于平台删除" and body["removed_at"]
    assert (await editor.post(f"{url}/removed", json={})).status_code == 409
    for action in ("post.confirm_ad", "post.mark_removed"):
        assert await AuditRecord.filter(action=action, object_id=str(post["id"])).count() == 1
