"""The 节假日 page through the Quart test client: the top unit's admin enters next year's days from
the State Council's notice, audited, and deadlines computed afterwards count them; the banner
from 1 November while next year is missing; who may change the calendar."""

from __future__ import annotations

import datetime as dt

from infra.clock import WorkCalendar
from infra.models import CalendarDay
from letters.deadlines import compute_due
from org.models import AuditRecord
from tests.accounts.conftest import actors, demo_units  # noqa: F401 (fixtures)
from tests.console.test_knowledge_pages import page_of, post_form
from tests.org.conftest import login_as

PAGE = "/console/calendar"
NOTICE = "国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕7号）"
BANNER = "2027 年的节假日安排尚未录入"


async def test_admin_enters_next_year_and_deadlines_count_it_at_once(
    app,
    sender,
    deps,
    demo_units,  # noqa: F811
):
    other_process = WorkCalendar()
    await other_process.refresh(deps.redis)
    due = compute_due(deps.settings, deps.calendar, "site_error", dt.date(2026, 12, 31))
    assert due == dt.date(2027, 1, 4)  # weekdays only: 2027 unknown so far

    admin = await login_as(app, sender, "admin")
    status, page = await page_of(admin, "/console/")
    assert status == 200 and BANNER in page  # it is November 2026

    resp, page = await post_form(
        admin, PAGE, {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "note": NOTICE}
    )
    assert resp.status_code == 200
    assert "已保存 2027-01-01 放假" in page and NOTICE in page
    assert BANNER not in page
    row = await CalendarDay.get(day=dt.date(2027, 1, 1))
    assert (row.kind, row.source, row.note) == ("holiday", "admin", NOTICE)
    audit = await AuditRecord.get(action="calendar.set_day")
    assert audit.object_id == "2027-01-01" and NOTICE in audit.summary

    due = compute_due(deps.settings, deps.calendar, "site_error", dt.date(2026, 12, 31))
    assert due == dt.date(2027, 1, 5)
    other_process.checked_at -= 1
    await other_process.refresh(deps.redis)
    assert other_process.add_working_days(dt.date(2026, 12, 31), 2) == dt.date(2027, 1, 5)

    # A make-up workday must be a weekend day; the form says why in Chinese.
    resp, page = await post_form(
        admin, PAGE, {"day": "2027-01-04", "kind": "workday", "note": NOTICE}
    )
    assert "调休上班日应为周六或周日" in page
    resp, page = await post_form(admin, PAGE, {"day": "2027-01-09", "kind": "workday", "note": ""})
    assert "请填写依据" in page
    assert await CalendarDay.filter(day__gte=dt.date(2027, 1, 2)).count() == 0

    resp, page = await post_form(admin, f"{PAGE}/2027-01-01/delete")
    assert "已删除 2027-01-01 的安排" in page
    assert await AuditRecord.exists(action="calendar.delete_day", object_id="2027-01-01")
    assert compute_due(
        deps.settings, deps.calendar, "site_error", dt.date(2026, 12, 31)
    ) == dt.date(2027, 1, 4)


async def test_only_the_top_units_admin_changes_the_calendar(app, sender, deps, demo_units):  # noqa: F811
    district_admin = await login_as(app, sender, "hxadmin")
    # no link to a page that would refuse them; the banner says who enters the year
    html = await (await district_admin.get("/console/")).get_data(as_text=True)
    assert BANNER in html and "请提醒最上级单位的系统管理员" in html
    assert f'href="{PAGE}' not in html
    admin = await login_as(app, sender, "admin")
    html = await (await admin.get("/console/")).get_data(as_text=True)
    assert f'href="{PAGE}"' in html and f'href="{PAGE}?year=2027"' in html
    _, page = await post_form(
        district_admin, PAGE, {"day": "2027-01-01", "kind": "holiday", "note": NOTICE}
    )
    assert "节假日安排由最上级单位的系统管理员维护" in page
    handler = await login_as(app, sender, "handler")
    _, page = await page_of(handler, "/console/")
    assert BANNER not in page  # the banner is for admins
    _, page = await post_form(
        handler, PAGE, {"day": "2027-01-01", "kind": "holiday", "note": NOTICE}
    )
    assert "系统管理员" in page
    assert not await CalendarDay.exists(day=dt.date(2027, 1, 1))
    assert await AuditRecord.filter(action="calendar.set_day", outcome="ok").count() == 0
