"""Console pages of supervision (督查): the weekly patrols, each with its accounts, units and
evidence, the XLSX export, and the rubric admins edit."""

from __future__ import annotations

import asyncio
import datetime as dt

from quart import Blueprint, Response, flash, redirect, render_template, request, url_for

from accounts.models import PLATFORMS
from console.bulletin_views import bp as quarterly_bp
from console.rectification_views import bp as rectification_bp
from console.views import act, login_required
from infra.errors import DomainError
from org.web import actor, deps, record_domain_failure
from supervision import charts, patrol
from supervision.bulletin import score_bands
from supervision.export import weekly_xlsx
from supervision.models import Report
from supervision.rubric import DEDUCTIONS, VETOES

bp = Blueprint("console_supervision", __name__, url_prefix="/console/supervision")
bp.register_blueprint(rectification_bp)  # /console/supervision/rectification
bp.register_blueprint(quarterly_bp)  # /console/supervision/quarterly


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError("bad_field", "日期格式应为 2026-11-16", field="date") from None


async def _weekly(value: str) -> tuple[Report, dict]:
    """The report and, of its accounts, the rows this person may read."""
    a = actor()
    report = await patrol.get_weekly(a, _day(value))
    return report, {**report.data, "accounts": await patrol.report_rows(a, report)}


@bp.get("")
@login_required
async def index():
    a = actor()
    reports = await patrol.list_reports(a)
    last_week = deps().clock.today() - dt.timedelta(days=7)
    return await render_template(
        "supervision_index.html",
        reports=reports,
        last_week=patrol.week_of(last_week)[0],
        can_build=a.has("supervisor", "admin"),
    )


@bp.post("/weekly")
@login_required
async def build():
    form = await request.form
    try:
        report = await patrol.build_weekly(
            deps(), actor(), _day(form.get("date", "")), rebuild=form.get("rebuild") == "1"
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_supervision.index"))
    await flash(f"已生成 {report.period_start} 至 {report.period_end} 周巡查报告", "ok")
    return redirect(url_for("console_supervision.weekly", day=report.period_start.isoformat()))


@bp.get("/weekly/<day>")
@login_required
async def weekly(day: str):
    report, data = await _weekly(day)
    before = await patrol.previous_of(report)
    rows = sorted(data["accounts"], key=lambda r: (r["passed"], r["score"], r["unit_name"]))
    unit = request.args.get("unit_id", "")
    if unit.isdigit():
        rows = [r for r in rows if r["unit_id"] == int(unit)]
    if request.args.get("failed") == "1":
        rows = [r for r in rows if not r["passed"]]
    earlier = await patrol.report_rows(actor(), before) if before else None
    return await render_template(
        "supervision_weekly.html",
        report=report,
        data=data,
        rows=rows,
        changes=patrol.changes(rows, earlier),
        has_before=before is not None,
        PLATFORMS=PLATFORMS,
        all_rows=actor().has("supervisor"),
        charts=await _weekly_charts(report, data),
    )


async def _weekly_charts(report: Report, data: dict) -> dict[str, str]:
    """The score distribution of the accounts shown (a unit's staff: their own), drawn once per
    build and reader's scope; and the units ranked, drawn once per build for every reader: it is
    of the report's whole ranking, which each reader sees (the table above it too), so the first
    view of a report draws it and the editors of every other unit find it drawn."""
    a = actor()
    pass_score = (await patrol.rubric_version(deps(), report.rubric_version)).data["pass_score"]
    built = (report.id, report.built_at.isoformat())
    scope = "all" if a.has("supervisor") else f"{a.unit_path}:{a.roles_label}"
    rows = data["accounts"]  # the reader's
    units = report.data["units"]  # everyone's

    def draw() -> dict[str, str]:
        return {
            "scores": charts.cached(
                (*built, scope, "scores"),
                lambda: charts.score_distribution(
                    score_bands([r["score"] for r in rows if not r["vetoes"]]),
                    pass_score,
                    sum(1 for r in rows if r["vetoes"]),
                ),
            ),
            "units": charts.cached(
                (*built, "weekly units"),
                lambda: charts.units_ranked(units, pass_score) if units else "",
            ),
        }

    return await asyncio.to_thread(draw)


@bp.get("/weekly/<day>.xlsx")
@login_required
async def weekly_export(day: str):
    report, data = await _weekly(day)
    body = weekly_xlsx(report, data)
    name = f"weekly-patrol-{report.period_start}.xlsx"
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/weekly/<day>.pdf")
@login_required
async def weekly_pdf(day: str):
    from supervision.pdf import weekly_pdf as render

    report, data = await _weekly(day)
    pass_score = (await patrol.rubric_version(deps(), report.rubric_version)).data["pass_score"]
    body = await asyncio.to_thread(render, report, data, pass_score)
    name = f"weekly-patrol-{report.period_start}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/rubric")
@login_required
async def rubric():
    a = actor()
    a.require("supervisor", "admin")
    current = await patrol.current_rubric(deps())
    return await render_template(
        "supervision_rubric.html",
        rubric=current,
        VETOES=VETOES,
        DEDUCTIONS=DEDUCTIONS,
        can_edit=a.has("admin"),
    )


@bp.post("/rubric")
@login_required
async def edit_rubric():
    form = await request.form
    data: dict = {
        "pass_score": _number(form.get("pass_score")),
        "rollup": form.get("rollup", ""),
        "vetoes": {},
        "deductions": {},
    }
    for code in VETOES:
        data["vetoes"][code] = {"on": form.get(f"veto_{code}_on") == "1"}
        for key, value in form.items():
            prefix = f"veto_{code}_"
            if key.startswith(prefix) and key != f"{prefix}on":
                name = key.removeprefix(prefix)
                data["vetoes"][code][name] = value if name == "legacy_before" else _number(value)
    for code in DEDUCTIONS:
        data["deductions"][code] = {
            "points": _number(form.get(f"ded_{code}_points")),
            "cap": _number(form.get(f"ded_{code}_cap")),
        }
    return await act(
        lambda: patrol.edit_rubric(deps(), actor(), data, form.get("note", "").strip()),
        lambda new: f"评分细则已更新为第 {new.version} 版，之后生成的报告按新版计分",
        back=url_for("console_supervision.rubric"),
    )


def _number(value: str | None) -> float | str:
    """A form's number as a number; anything else as it came, for the rubric to refuse."""
    text = (value or "").strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number
