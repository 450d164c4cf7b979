"""The monthly rectification list with hand-built records: a finished month's vetoes and
deductions become items with their evidence and a due date on the working-day calendar, once per
month, account and problem; the unit answers, a supervisor verifies or returns it (the unit told);
open items carry over to later months' lists and are counted open, overdue or done on time; the
overdue reminder goes out once; other units neither see nor answer. The clock stands on Monday
23 November 2026, 10:00 Beijing, unless a test moves it."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Post
from infra.clock import SHANGHAI
from infra.errors import Conflict, DomainError, Forbidden, NotFound
from org.models import AuditRecord, Staff
from supervision import rectification as rect
from supervision.models import RectifyEvent, RectifyFile, RectifyItem, Report, ReportRow

OCT, SEP = dt.date(2026, 10, 1), dt.date(2026, 9, 1)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    """A moment of 2026, Beijing time."""
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


async def account(unit, name: str, platform: str = "wechat") -> Account:
    return await Account.create(
        code=f"{unit.code}-{platform}".lower(),
        unit=unit,
        platform=platform,
        name=name,
        certified_subject=unit.name,
        status="active",
        opened_on=dt.date(2025, 1, 1),
        live_slot=f"{unit.id}:{platform}",
        created_at=at(1, 1),
        updated_at=at(1, 1),
    )


async def post(acc: Account, month: int, day: int, **kw) -> Post:
    return await Post.create(
        account=acc,
        title=kw.pop("title", f"{month}月{day}日信息"),
        published_at=at(month, day),
        created_at=at(month, day),
        **kw,
    )


@pytest.fixture
async def city(demo_units):
    """人社局 posts on the last day of September and every week of October, but two reposts
    lack their source; 公积金 last posted on 2 September (no post in the 14 days before either
    month's end: a veto; every whole week of both months empty)."""
    rsj = await account(demo_units["QY-RSJ"], "清源人社")
    await post(rsj, 9, 30)
    for day in (5, 12, 19, 26, 30):
        await post(rsj, 10, day)
    for day in (8, 9):
        await post(rsj, 10, day, title=f"转载{day}日", is_repost=True, source_name="")
    gjj = await account(demo_units["QY-GJJ"], "清源公积金")
    await post(gjj, 9, 2)
    return {"rsj": rsj, "gjj": gjj}


def by_problem(items) -> dict[tuple[str, str], RectifyItem]:
    return {(i.account_name, i.code): i for i in items}


async def test_a_finished_month_becomes_items_with_evidence_and_a_working_day_due_date(
    db, deps, actors, city, sender
):
    report, made = await rect.build_month(deps, actors["supervisor"], OCT)
    assert (report.kind, report.period_start, report.period_end) == (
        "monthly", OCT, dt.date(2026, 10, 31),
    )  # fmt: skip
    items = by_problem(await RectifyItem.all())
    assert made == len(items) == 3
    # The month's scores are kept like a patrol's: a row per account, the units on the report.
    assert await ReportRow.filter(report_id=report.id).count() == 2
    assert "accounts" not in report.data and len(report.data["units"]) == 2
    repost = items[("清源人社", "repost_no_source")]
    assert (repost.kind, repost.count, repost.points, repost.label) == (
        "deduction", 2, 4.0, "转载未注明来源",
    )  # fmt: skip
    assert sorted(e["label"] for e in repost.evidence) == ["转载8日", "转载9日"]
    veto = items[("清源公积金", "no_post")]
    assert veto.kind == "veto" and veto.points == 0 and "14天" in veto.label
    weeks = items[("清源公积金", "weekly_minimum")]
    assert (weeks.count, weeks.points) == (3, 15.0)  # October's three whole weeks
    assert [e["kind"] for e in weeks.evidence] == ["week"] * 3
    # 10 working days from Monday 23 November: Monday 7 December.
    assert {i.due_on for i in items.values()} == {dt.date(2026, 12, 7)}
    assert {i.status for i in items.values()} == {"open"}
    assert {i.unit_id for i in items.values() if i.account_name == "清源公积金"} == {  # type: ignore[attr-defined]
        city["gjj"].unit_id  # type: ignore[attr-defined]
    }
    # One SMS per unit with the count, to its editors and leader.
    editor, leader = await Staff.get(username="editor"), await Staff.get(username="leader")
    gjj_editor = await Staff.get(username="gjjeditor")
    texts = dict(sender.sent)
    assert "整改清单列入贵单位问题 1 项" in texts[editor.mobile]
    assert texts[leader.mobile] == texts[editor.mobile] and "12月7日前" in texts[leader.mobile]
    assert "2026年10月整改清单列入贵单位问题 2 项" in texts[gjj_editor.mobile]
    audit = await AuditRecord.get(action="rectify.build")
    assert "新增整改事项 3 项" in audit.summary


async def test_the_due_date_counts_the_official_calendar(db, deps, actors, city, clock):
    """Built on 1 October (National Day): the holiday does not count, the make-up Saturday does."""
    clock.set(at(10, 1, 9))
    await rect.build_month(deps, actors["supervisor"], SEP)
    assert {i.due_on for i in await RectifyItem.all()} == {dt.date(2026, 10, 20)}


async def test_building_again_adds_nothing_and_a_rebuild_only_what_is_missing(
    db, deps, actors, city, sender
):
    await rect.build_month(deps, actors["supervisor"], OCT)
    first = {i.id for i in await RectifyItem.all()}
    sent = len(sender.sent)
    _, made = await rect.build_month(deps, actors["supervisor"], OCT)
    assert made == 0 and {i.id for i in await RectifyItem.all()} == first
    _, made = await rect.build_month(deps, actors["supervisor"], OCT, rebuild=True)
    assert made == 0 and await RectifyItem.all().count() == 3 and len(sender.sent) == sent
    # A post entered late, published in October without its source: the rebuild adds nothing
    # new for the problem already listed (one item per month, account and problem) ...
    await post(city["rsj"], 10, 20, title="补录转载", is_repost=True, source_name="")
    _, made = await rect.build_month(deps, actors["supervisor"], OCT, rebuild=True)
    assert made == 0
    # ... but a new problem of the month becomes an item, and its unit is told.
    await post(city["rsj"], 10, 21, review_status="flagged")
    _, made = await rect.build_month(deps, actors["supervisor"], OCT, rebuild=True)
    assert made == 1
    assert await RectifyItem.filter(code="ads_unhandled").count() == 1
    assert "问题 1 项" in sender.sent[-1][1]
    assert await Report.filter(kind="monthly").count() == 1
    assert await ReportRow.all().count() == 2  # replaced, not added to


async def test_only_supervisors_build_and_only_finished_months(db, deps, actors, city):
    with pytest.raises(Forbidden):
        await rect.build_month(deps, actors["editor"], OCT)
    with pytest.raises(DomainError, match="尚未结束"):
        await rect.build_month(deps, actors["supervisor"], dt.date(2026, 11, 1))
    assert await RectifyItem.all().count() == 0


async def test_the_worker_builds_last_month_once(db, deps, city, clock):
    clock.set(at(12, 1, 1))
    assert await rect.monthly_rectification_job(deps) == 4  # November: both units, 2 each
    assert await rect.monthly_rectification_job(deps) == 0
    assert await Report.filter(kind="monthly", period_start=dt.date(2026, 11, 1)).exists()


async def _item(account_name: str, code: str) -> RectifyItem:
    return await RectifyItem.get(account_name=account_name, code=code)


async def test_answer_then_verify(db, deps, actors, city):
    await rect.build_month(deps, actors["supervisor"], OCT)
    item = await _item("清源人社", "repost_no_source")
    with pytest.raises(DomainError, match="请填写整改情况说明"):
        await rect.answer_item(deps, actors["editor"], item.id, {"note": " "})
    done = await rect.answer_item(
        deps, actors["editor"], item.id, {"note": "两篇转载已补注来源"}, ("整改说明.pdf", PDF)
    )
    assert done.status == "submitted"
    stored = await RectifyFile.get(item_id=item.id)
    assert (stored.name, stored.content_type, stored.size, bytes(stored.data)) == (
        "整改说明.pdf", "application/pdf", len(PDF), PDF,
    )  # fmt: skip
    with pytest.raises(Conflict):
        await rect.answer_item(deps, actors["leader"], item.id, {"note": "再报一次"})
    with pytest.raises(Forbidden):
        await rect.review_item(deps, actors["editor"], item.id, {"approve": True})
    await rect.review_item(deps, actors["supervisor"], item.id, {"approve": True, "note": "属实"})
    item = await RectifyItem.get(id=item.id)
    assert item.status == "done" and item.verified_at is not None
    assert [e.action for e in await RectifyEvent.filter(item_id=item.id).order_by("id")] == [
        "answer", "verify",
    ]  # fmt: skip
    actions = set(
        await AuditRecord.filter(object_type="rectify_item").values_list("action", flat=True)
    )
    assert actions == {"rectify.answer", "rectify.verify"}
    with pytest.raises(Conflict):
        await rect.review_item(
            deps, actors["supervisor"], item.id, {"approve": False, "reason": "x"}
        )


async def test_a_return_needs_a_reason_reopens_the_item_and_tells_the_unit(
    db, deps, actors, city, sender
):
    await rect.build_month(deps, actors["supervisor"], OCT)
    item = await _item("清源公积金", "no_post")
    gjj = await Staff.get(username="gjjeditor")
    await rect.answer_item(deps, actors["gjjeditor"], item.id, {"note": "已恢复更新"})
    with pytest.raises(DomainError, match="退回理由"):
        await rect.review_item(deps, actors["supervisor"], item.id, {"approve": False})
    await rect.review_item(
        deps, actors["supervisor"], item.id, {"approve": False, "reason": "未见十一月更新记录"}
    )
    item = await RectifyItem.get(id=item.id)
    assert (item.status, item.returns, item.return_reason) == ("open", 1, "未见十一月更新记录")
    to, body = sender.sent[-1]
    assert to == gjj.mobile and "被督查人员退回：未见十一月更新记录" in body and "12月7日前" in body
    assert (await rect.count_todo(actors["gjjeditor"]))["returned"] == 1
    # Answered again and verified.
    await rect.answer_item(deps, actors["gjjeditor"], item.id, {"note": "已补发 3 条"})
    assert (await rect.count_todo(actors["supervisor"]))["submitted"] == 1
    await rect.review_item(deps, actors["supervisor"], item.id, {"approve": True})
    events = await RectifyEvent.filter(item_id=item.id).order_by("id").values_list("action", "note")
    assert [a for a, _ in events] == ["answer", "return", "answer", "verify"]


async def test_other_units_neither_see_nor_answer(db, deps, actors, city):
    await rect.build_month(deps, actors["supervisor"], OCT)
    gjj_item = await _item("清源公积金", "no_post")
    rsj_item = await _item("清源人社", "repost_no_source")
    with pytest.raises(NotFound):
        await rect.get_item(actors["editor"], gjj_item.id)
    with pytest.raises(NotFound):
        await rect.answer_item(deps, actors["editor"], gjj_item.id, {"note": "越权"})
    seen = {i.account_name for i in await rect.month_items(actors["editor"], OCT)}
    assert seen == {"清源人社"}
    assert {i.account_name for i in await rect.month_items(actors["supervisor"], OCT)} == {
        "清源人社", "清源公积金",
    }  # fmt: skip
    # The unit's reviewer reads but does not answer; a handler does not read the list at all.
    await rect.get_item(actors["reviewer"], rsj_item.id)
    with pytest.raises(Forbidden):
        await rect.answer_item(deps, actors["reviewer"], rsj_item.id, {"note": "审核员"})
    with pytest.raises(Forbidden):
        await rect.month_items(actors["handler"], OCT)
    assert await RectifyItem.filter(status="submitted").count() == 0


async def test_attachments_are_images_pdf_or_office_up_to_5_mb(db, deps, actors, city):
    await rect.build_month(deps, actors["supervisor"], OCT)
    item = await _item("清源人社", "repost_no_source")
    for name, data, message in (
        ("说明.exe", b"MZ\x90\x00", "只能是图片"),
        ("说明.html", b"<html>", "只能是图片"),
        ("说明.pdf", b"", "空文件"),
        ("说明.pdf", b"GIF89a....", "与扩展名 .pdf 不符"),
        ("照片.jpg", PDF, "与扩展名 .jpg 不符"),
        ("大.pdf", b"%PDF-" + b"0" * rect.MAX_FILE_BYTES, "不能超过 5 MB"),
    ):
        with pytest.raises(DomainError, match=message):
            await rect.answer_item(
                deps, actors["editor"], item.id, {"note": "已整改"}, (name, data)
            )
    assert (await RectifyItem.get(id=item.id)).status == "open"
    assert await RectifyFile.all().count() == 0
    exactly = b"%PDF-" + b"0" * (rect.MAX_FILE_BYTES - 5)
    await rect.answer_item(deps, actors["editor"], item.id, {"note": "已整改"}, ("足.pdf", exactly))
    assert (await RectifyFile.get(item_id=item.id)).size == rect.MAX_FILE_BYTES


def test_file_names_and_types_are_ours():
    assert rect.check_file("C:\\Users\\李\\截图.PNG", b"\x89PNG\r\n\x1a\n...") == (
        "截图.PNG", "image/png",
    )  # fmt: skip
    assert rect.check_file("报告.docx", b"PK\x03\x04...")[1].endswith("wordprocessingml.document")
    assert rect.check_file("表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1...")[1] == (
        "application/vnd.ms-excel"
    )
    assert rect.check_file("../../etc/passwd.pdf", PDF)[0] == "passwd.pdf"
    with pytest.raises(DomainError):
        rect.check_file(".pdf", PDF)


async def test_open_items_carry_over_and_are_counted_on_the_working_day_calendar(
    db, deps, actors, city, clock, sender
):
    """September's list is made on 1 October (due 20 October, after the holiday); October's on
    23 November. September's items not verified by the end of October are on October's list."""
    clock.set(at(10, 1, 9))
    await rect.build_month(deps, actors["supervisor"], SEP)
    sep = {i.account_name + i.code: i for i in await RectifyItem.filter(month=SEP)}
    assert {i.due_on for i in sep.values()} == {dt.date(2026, 10, 20)}
    on_time = sep["清源人社weekly_minimum"]  # 人社 posted nothing in September's whole weeks
    late = sep["清源公积金weekly_minimum"]
    clock.set(at(10, 19))
    await rect.answer_item(deps, actors["editor"], on_time.id, {"note": "已恢复每周更新"})
    await rect.review_item(deps, actors["supervisor"], on_time.id, {"approve": True})

    # Tuesday 20 October is the last day: not yet overdue; on the 21st it is, and is reminded
    # once (one SMS to each of the unit's people, whatever the number of items).
    assert await rect.remind_overdue_items(deps) == 0
    clock.set(at(10, 21))
    gjj = await Staff.get(username="gjjeditor")
    before = len(sender.sent)
    assert await rect.remind_overdue_items(deps) == 2  # 公积金's veto and its empty weeks
    told = [body for to, body in sender.sent[before:] if to == gjj.mobile]
    assert told == [
        "【民声】贵单位有 2 项整改事项已超过整改期限，请尽快整改，并在控制台上报整改情况。"
    ]
    assert await rect.remind_overdue_items(deps) == 0
    clock.set(at(10, 22))
    await rect.answer_item(deps, actors["gjjeditor"], late.id, {"note": "已补发"})

    clock.set(at(11, 2))
    await rect.review_item(deps, actors["supervisor"], late.id, {"approve": True})
    clock.set(at(11, 23))
    await rect.build_month(deps, actors["supervisor"], OCT)
    today = clock.today()
    listed = await rect.month_items(actors["supervisor"], OCT)
    carried = {i.account_name + i.code for i in listed if i.month == SEP}
    # Verified on 19 October, in October: not carried. Verified on 2 November: carried, late.
    assert carried == {"清源公积金no_post", "清源公积金weekly_minimum"}
    counts = {c["unit_name"]: c for c in rect.unit_counts(listed, OCT, today)}
    gjj_row = counts["清源市住房公积金管理中心"]
    assert {k: gjj_row[k] for k in rect.COUNT_KEYS} == {
        "total": 4, "new": 2, "carried": 2, "open": 3, "submitted": 0, "overdue": 1,
        "done": 0, "done_late": 1,
    }  # fmt: skip
    rsj_row = counts["清源市人力资源和社会保障局"]
    assert (rsj_row["total"], rsj_row["new"], rsj_row["carried"], rsj_row["open"]) == (1, 1, 0, 1)
    # September's own list still shows all of September's items, with their states.
    sep_counts = rect.totals(
        rect.unit_counts(await rect.month_items(actors["supervisor"], SEP), SEP, today)
    )
    assert (sep_counts["total"], sep_counts["done"], sep_counts["done_late"]) == (3, 1, 1)
    assert sep_counts["overdue"] == 1  # 公积金's veto, open since 20 October

    # October's items fall due on 7 December: overdue from the 8th, September's carried on.
    clock.set(at(12, 8))
    counts = rect.unit_counts(await rect.month_items(actors["supervisor"], OCT), OCT, clock.today())
    assert rect.totals(counts)["overdue"] == 4


async def test_dashboard_counts(db, deps, actors, city):
    await rect.build_month(deps, actors["supervisor"], OCT)
    assert await rect.count_todo(actors["editor"]) == {"open": 1, "returned": 0, "submitted": 0}
    assert await rect.count_todo(actors["leader"]) == {"open": 1, "returned": 0, "submitted": 0}
    assert await rect.count_todo(actors["gjjeditor"]) == {"open": 2, "returned": 0, "submitted": 0}
    assert await rect.count_todo(actors["reviewer"]) == {"open": 0, "returned": 0, "submitted": 0}
    item = await _item("清源人社", "repost_no_source")
    await rect.answer_item(deps, actors["editor"], item.id, {"note": "已补注来源"})
    assert await rect.count_todo(actors["supervisor"]) == {
        "open": 0, "returned": 0, "submitted": 1,
    }  # fmt: skip
