"""Console page of the schedule (排期日历): a week or a month of scheduled and published items
per account, the accounts with nothing this week, and the repost tasks falling due."""

from __future__ import annotations

from quart import Blueprint, render_template, request

from accounts.models import PLATFORMS
from console.views import login_required
from org.service import list_units
from org.web import actor, deps
from publishing.schedule import TONES, VIEWS, WEEKDAYS, build_schedule

bp = Blueprint("console_schedule", __name__, url_prefix="/console/schedule")


@bp.get("")
@login_required
async def page():
    a = actor()
    schedule = await build_schedule(deps(), a, request.args)
    return await render_template(
        "schedule.html",
        s=schedule,
        args=request.args,
        VIEWS=VIEWS,
        WEEKDAYS=WEEKDAYS,
        TONES=TONES,
        PLATFORMS=PLATFORMS,
        units=await list_units(a) if a.has("leader", "supervisor", "admin") else [],
    )
