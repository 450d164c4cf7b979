"""The rectification pages through the Quart test client: a supervisor builds October's list and
reads it per unit, with each item's evidence linked; the unit's editor answers with a note and a
PDF (larger than the 2 MB other forms may send), the supervisor returns it with a reason (the
unit told by SMS) and verifies the second answer; the history shows each step; the list exported
and opened with openpyxl; other units' staff neither see nor answer; files over 5 MB or of other
types refused; the dashboard counts what waits for whom."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from accounts.models import Account, Post
from infra.clock import SHANGHAI
from org.models import Staff
from supervision.models import RectifyFile, RectifyItem
from tests.accounts.conftest import OTHER_PASSWORD, actors, demo_units  # noqa: F401
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as
from tests.supervision.test_bulletin import pdf_text, squeezed

PAGE = "/console/supervision/rectification"
PDF = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF\n"  # 3 MB: over the 2 MB of forms


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, tzinfo=SHANGHAI)


def pdf(name: str = "整改说明.pdf", data: bytes = PDF) -> dict[str, FileStorage]:
    return {"file": FileStorage(io.BytesIO(data), filename=name, content_type="application/pdf")}


@pytest.fixture
async def city(demo_units):  # noqa: F811
    """人社局 posted every week of October, one repost without its source; 公积金 last posted
    on 2 September."""
    made = {}
    for code, name, days in (
        ("QY-RSJ", "清源人社", (5, 12, 19, 26, 30)),
        ("QY-GJJ", "清源公积金", ()),
    ):
        unit = demo_units[code]
        acc = await Account.create(
            code=code.lower(), unit=unit, platform="wechat", name=name,
            certified_subject=unit.name, status="active", opened_on=dt.date(2025, 1, 1),
            live_slot=f"{unit.id}:wechat", created_at=at(1, 1), updated_at=at(1, 1),
        )  # fmt: skip
        for day in days:
            await Post.create(account=acc, title=f"{name}{day}日", published_at=at(10, day),
                              created_at=at(10, day))  # fmt: skip
        made[code] = acc
    await Post.create(
        account=made["QY-GJJ"], title="九月", published_at=at(9, 2), created_at=at(9, 2)
    )
    made["repost"] = await Post.create(
        account=made["QY-RSJ"], title="转载无来源", published_at=at(10, 8), created_at=at(10, 8),
        is_repost=True, source_name="",
    )  # fmt: skip
    return made


async def test_a_supervisor_builds_reads_and_exports_the_month(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    page = text(await (await s.client.get(PAGE + "?month=2026-10")).get_data())
    assert "2026年10月的整改清单尚未生成" in page and "生成2026年10月整改清单" in page
    resp, page = await post_form(s, PAGE, {"month": "2026-10"})
    assert "已生成2026年10月整改清单，新增整改事项 3 项" in page
    assert "整改事项 3 本月新增 3 往月结转 0 待整改 3" in page
    assert "清源市住房公积金管理中心 2 2 0 2 0 0 0 0" in page  # units with most open first
    assert page.index("清源市住房公积金管理中心 2") < page.index("清源市人力资源和社会保障局 1")
    assert "监测前14天内未发布信息 单项否决" in page and "转载未注明来源 1 项，扣 2 分" in page
    # The list of the newest month is the default.
    assert "转载未注明来源" in text(await (await s.client.get(PAGE)).get_data())

    item = await RectifyItem.get(code="repost_no_source")
    body = (await (await s.client.get(f"{PAGE}/{item.id}")).get_data()).decode()
    account_id = city["QY-RSJ"].id
    assert f'href="/console/accounts/{account_id}#post-{city["repost"].id}">转载无来源</a>' in body
    page = text(body.encode())
    assert "整改期限 2026-12-07" in page and "列入整改清单" in page
    assert "上报整改情况" not in page  # supervisors do not answer for units
    assert "核验通过" not in page  # nothing to verify yet

    resp = await s.client.get(PAGE + "/2026-10.xlsx")
    assert resp.status_code == 200
    assert (
        resp.headers["Content-Disposition"] == 'attachment; filename="rectification-2026-10.xlsx"'
    )
    wb = openpyxl.load_workbook(io.BytesIO(await resp.get_data()))
    assert wb.sheetnames == ["概况", "单位", "整改清单", "问题依据"]
    units = {r[0]: r for r in wb["单位"].iter_rows(min_row=2, values_only=True)}
    assert units["清源市住房公积金管理中心"][1:5] == (2, 2, 0, 2)
    rows = {r[3]: r for r in wb["整改清单"].iter_rows(min_row=2, values_only=True)}
    assert rows["转载未注明来源"][1:3] == ("清源市人力资源和社会保障局", "清源人社")
    assert rows["转载未注明来源"][8:10] == ("2026-12-07", "待整改")
    assert wb["整改清单"].freeze_panes == "A2"
    evidence = [r for r in wb["问题依据"].iter_rows(min_row=2, values_only=True)]
    assert ("转载无来源", str(city["repost"].id)) in [(r[4], r[5]) for r in evidence]


async def test_evidence_links_only_where_the_reader_may_follow(app, sender, city):
    """A letter links to the letters search for those who read letters, a repost task to the
    task list for those who handle them; others read the same evidence without a link."""
    s = await login_as(app, sender, "supervisor")
    await post_form(s, PAGE, {"month": "2026-10"})
    item = await RectifyItem.get(code="repost_no_source")
    item.evidence = [
        *item.evidence,
        {"kind": "letter", "ref": "ABCDE-FGHJK", "label": "逾期答复", "at": "2026-10-09"},
        {"kind": "task", "ref": "7", "label": "重要政策未转载", "at": "2026-10-10"},
    ]
    await item.save(update_fields=["evidence"])
    letters = 'href="/console/letters/search?code=ABCDE-FGHJK"'
    tasks = 'href="/console/repost-tasks"'
    for who, sees_letters in (("supervisor", True), ("editor", False)):
        session = s if who == "supervisor" else await login_as(app, sender, who)
        resp = await session.client.get(f"{PAGE}/{item.id}")
        body = (await resp.get_data()).decode()
        assert resp.status_code == 200, who
        assert "留言 ABCDE-FGHJK" in text(body.encode()) and "重要政策未转载" in body
        assert (letters in body) is sees_letters, who
        assert tasks in body, who


async def test_answer_return_with_a_reason_and_verify(app, sender, city, deps):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, PAGE, {"month": "2026-10"})
    item = await RectifyItem.get(code="repost_no_source")
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.client.get("/console/")).get_data())
    assert "待整改的问题 1" in page
    resp, page = await post_form(editor, f"{PAGE}/{item.id}/answer", {"note": ""})
    assert "请填写整改情况说明" in page
    resp, page = await post_form(
        editor, f"{PAGE}/{item.id}/answer", {"note": "已在原文末补注来源"}, files=pdf()
    )
    assert resp.status_code == 200 and "已上报整改情况，等待督查人员核验" in page
    assert "待核验" in page and "附件：整改说明.pdf" in page
    stored = await RectifyFile.get(item_id=item.id)
    resp = await editor.client.get(f"{PAGE}/files/{stored.id}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert await resp.get_data() == PDF
    assert "filename*=UTF-8''%E6%95%B4%E6%94%B9" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Disposition"].startswith("attachment;")

    page = text(await (await s.client.get("/console/")).get_data())
    assert "待核验的整改 1" in page
    resp, page = await post_form(s, f"{PAGE}/{item.id}/review", {"decision": "return"})
    assert "请填写退回理由" in page
    resp, page = await post_form(
        s, f"{PAGE}/{item.id}/review", {"decision": "return", "reason": "未见补注的截图"}
    )
    assert "已退回，单位会收到短信通知和退回理由" in page
    mobiles = {(await Staff.get(username=u)).mobile for u in ("editor", "leader")}
    told = [(to, body) for to, body in sender.sent if "被督查人员退回" in body]
    assert {to for to, _ in told} == mobiles and "未见补注的截图" in told[0][1]

    page = text(await (await editor.client.get(f"{PAGE}/{item.id}")).get_data())
    assert "退回理由 未见补注的截图" in page and "上报整改情况" in page
    page = text(await (await editor.client.get("/console/")).get_data())
    assert "被退回的整改 1" in page
    await post_form(editor, f"{PAGE}/{item.id}/answer", {"note": "补充截图"}, files=pdf("截图.pdf"))
    resp, page = await post_form(
        s, f"{PAGE}/{item.id}/review", {"decision": "verify", "note": "已核实"}
    )
    assert "已核验通过" in page and "已整改" in page
    history = page[page.index("办理记录") :]
    pos = 0
    for step in ("列入整改清单", "上报整改情况", "退回重新整改", "上报整改情况", "核验通过"):
        pos = history.index(step, pos) + 1  # each after the one before
    assert "附件：整改说明.pdf" in history and "附件：截图.pdf" in history
    page = text(await (await s.client.get(PAGE + "?month=2026-10")).get_data())
    assert "按期整改 1" in page


async def test_other_units_and_roles_are_refused(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, PAGE, {"month": "2026-10"})
    gjj_item = await RectifyItem.get(code="no_post")
    rsj_item = await RectifyItem.get(code="repost_no_source")
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.client.get(PAGE)).get_data())
    assert "转载未注明来源" in page and "监测前14天" not in page
    assert "清源市住房公积金管理中心" not in page and "重新生成" not in page
    resp = await editor.client.get(f"{PAGE}/{gjj_item.id}")
    assert resp.status_code == 404 and "整改事项不存在" in text(await resp.get_data())
    resp, page = await post_form(editor, f"{PAGE}/{gjj_item.id}/answer", {"note": "越权"})
    assert "整改事项不存在" in page
    resp, page = await post_form(editor, PAGE, {"month": "2026-09"})
    assert "只有督查人员可以生成月整改清单" in page
    resp, page = await post_form(editor, f"{PAGE}/{rsj_item.id}/review", {"decision": "verify"})
    assert "只有督查人员可以核验整改情况" in page

    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    await post_form(gjj, f"{PAGE}/{gjj_item.id}/answer", {"note": "已恢复更新"}, files=pdf())
    stored = await RectifyFile.get(item_id=gjj_item.id)
    resp = await editor.client.get(f"{PAGE}/files/{stored.id}")
    assert resp.status_code == 404
    resp = await editor.client.get(PAGE + "/2026-10.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(await resp.get_data()))
    assert [r[2] for r in wb["整改清单"].iter_rows(min_row=2, values_only=True)] == ["清源人社"]

    handler = await login_as(app, sender, "handler")
    assert (await handler.client.get(PAGE)).status_code == 403
    reviewer = await login_as(app, sender, "reviewer")
    page = text(await (await reviewer.client.get(f"{PAGE}/{rsj_item.id}")).get_data())
    assert "转载无来源" in page and "上报整改情况" not in page
    resp, page = await post_form(reviewer, f"{PAGE}/{rsj_item.id}/answer", {"note": "审核员"})
    assert "只有本单位的编辑或领导可以上报整改情况" in page
    assert (await RectifyItem.get(id=rsj_item.id)).status == "open"


async def test_attachments_over_5_mb_or_of_other_types_are_refused(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, PAGE, {"month": "2026-10"})
    item = await RectifyItem.get(code="repost_no_source")
    editor = await login_as(app, sender, "editor")
    url = f"{PAGE}/{item.id}/answer"
    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)  # one byte over, within the form's allowance
    resp, page = await post_form(editor, url, {"note": "已整改"}, files=pdf("大.pdf", big))
    assert "附件不能超过 5 MB" in page
    huge = b"%PDF-" + b"0" * (6 * 1024 * 1024)  # refused by the request's own limit
    resp = await editor.client.post(
        url, form={"csrf_token": editor.csrf, "note": "已整改"}, files=pdf("巨.pdf", huge)
    )
    assert resp.status_code == 413
    resp, page = await post_form(editor, url, {"note": "已整改"}, files=pdf("页面.html", b"<b>"))
    assert "附件只能是图片（JPG、PNG、GIF）、PDF 或 Office 文档" in page
    assert (await RectifyItem.get(id=item.id)).status == "open"
    assert await RectifyFile.all().count() == 0
    # Other forms keep their 2 MB.
    resp = await editor.client.post(
        f"{PAGE}/{item.id}/review",
        form={"csrf_token": editor.csrf, "note": "x" * (3 * 1024 * 1024)},
    )
    assert resp.status_code == 413


async def test_the_month_as_a_pdf_document(app, sender, city, tmp_path):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, PAGE, {"month": "2026-10"})
    page = (await (await s.client.get(PAGE + "?month=2026-10")).get_data()).decode()
    assert f'href="{PAGE}/2026-10.pdf">导出 PDF</a>' in page
    resp = await s.client.get(PAGE + "/2026-10.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="rectification-2026-10.pdf"; filename*=')
    body = await resp.get_data()
    pdf_ = squeezed(pdf_text(body, tmp_path))
    assert pdf_.startswith("2026年10月政务新媒体问题整改清单（评分细则第1版")
    assert "共列入整改事项3项，其中本月新增3项，往月结转0项；待整改3项" in pdf_
    # The units' counts (most open first), then the items with their due dates and evidence.
    assert "清源市住房公积金管理中心22020000清源市人力资源和社会保障局11010000" in pdf_
    rows = squeezed(pdf_text(body, tmp_path, "-layout"))  # a table's row on one line
    assert "清源人社扣分122026年10月2026-12-07待整改" in rows
    assert "监测前14天内未发布信息" in pdf_ and "转载无来源" in pdf_
    assert pdf_.endswith("清源市政务公开办（电子政务办）2026年11月23日第2页共2页")
    assert "第1页共2页" in pdf_

    # The unit's editor: their own unit's items only.
    editor = await login_as(app, sender, "editor")
    resp = await editor.client.get(PAGE + "/2026-10.pdf")
    pdf_ = squeezed(pdf_text(await resp.get_data(), tmp_path))
    assert "共列入整改事项1项" in pdf_ and "转载未注明来源" in pdf_ and "清源人社" in pdf_
    assert "公积金" not in pdf_ and "监测前14天" not in pdf_
    assert (await s.client.get(PAGE + "/2026-09.pdf")).status_code == 404
