"""Console page of the official calendar (节假日安排): each year's holidays and make-up workdays,
entered one day per row from the State Council's notice (org/calendar.py), and the banner that
tells admins from 1 November when next year's calendar is still missing."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, render_template, request, url_for

from console.views import act, login_required
from infra.calendar_days import missing_next_year, refresh_calendar
from infra.errors import DomainError
from org import calendar
from org.web import actor, deps, record_domain_failure

bp = Blueprint("console_calendar", __name__, url_prefix="/console/calendar")


@bp.app_context_processor
async def calendar_banner() -> dict:
    """The missing year's banner for admins, and whether this one keeps the calendar (the
    节假日 link and the banner's link to enter it; other admins are told who does)."""
    a = actor()
    if a.staff_id is None or not a.has("admin"):
        return {"calendar_missing_year": None, "keeps_calendar": False}
    d = deps()
    await refresh_calendar(d.calendar, d.redis)
    return {
        "calendar_missing_year": missing_next_year(d.calendar, d.clock.today()),
        "keeps_calendar": calendar.keeps_calendar(a),
    }


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = deps().clock.today().year + 1
    return min(max(year, 2004), 2100)


@bp.get("")
@login_required
async def page():
    return await render_template(
        "calendar.html", **await calendar.list_calendar_days(deps(), actor(), _year())
    )


@bp.post("")
@login_required
async def set_day():
    form = await request.form
    data = {k: form.get(k, "") for k in ("day", "kind", "name", "note")}
    year = data["day"][:4]
    try:
        row = await calendar.set_calendar_day(deps(), actor(), data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
    else:
        await flash(f"已保存 {row.day.isoformat()} {calendar.KINDS[row.kind]}", "ok")
        year = str(row.day.year)
    return redirect(url_for("console_calendar.page", year=year if year.isdigit() else None))


@bp.post("/<day>/delete")
@login_required
async def delete_day(day: str):
    return await act(
        lambda: calendar.delete_calendar_day(deps(), actor(), day),
        f"已删除 {day} 的安排",
        back=url_for("console_calendar.page", year=day[:4] if day[:4].isdigit() else None),
    )
