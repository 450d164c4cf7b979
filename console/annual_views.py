"""Console pages of the annual report (年度报表, 004 §13(五)): a year's reports with their status
counts (the unit's own; supervisors all), each report with its figures, the unit's form, the
review and the history, and the year's XLSX and PDF and each report's PDF."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from quart import Blueprint, Response, render_template, request, url_for

from accounts.models import PLATFORMS
from console.views import act, login_required
from org.web import actor, deps
from supervision import annual
from supervision.bulletin import issuing_office
from supervision.export_units import annual_xlsx
from supervision.models import ANNUAL_STATUSES, AnnualReport

bp = Blueprint("console_annual", __name__, url_prefix="/console/supervision")

TONES = {"draft": "", "submitted": "warn", "returned": "bad", "published": "ok"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year() -> int:
    raw = request.args.get("year", "")
    return annual.check_year(raw) if raw else deps().clock.today().year - 1


def _report_url(annual_id: int) -> str:
    return url_for("console_annual.report", annual_id=annual_id)


@bp.get("/annual")
@login_required
async def index():
    a = actor()
    year = _year()
    rows = await annual.list_annual(a, year)
    last = deps().clock.today().year - 1
    years = sorted({*await annual.report_years(), last, year}, reverse=True)
    return await render_template(
        "supervision_annual.html",
        year=year,
        years=years,
        rows=rows,
        counts=annual.status_counts(rows),
        due=annual.due_date(year),
        today=deps().clock.today(),
        can_draft=a.has("supervisor") and year <= last,
        all_rows=a.has("supervisor"),
        STATUSES=ANNUAL_STATUSES,
        TONES=TONES,
        PLATFORMS=PLATFORMS,
    )


@bp.post("/annual/draft")
@login_required
async def draft():
    form = await request.form
    year = form.get("year", "")

    def done(made: int) -> str:
        if not made:
            return f"{year} 年各账号的年度报表草稿均已生成，没有新增"
        return f"已生成 {year} 年度报表草稿 {made} 份，请各单位填报"

    back = url_for("console_annual.index", year=year) if year.isdigit() else None
    return await act(
        lambda: annual.draft_annual_reports(deps(), year, actor()),
        done,
        back=back or url_for("console_annual.index"),
    )


@bp.get("/annual.xlsx")
@login_required
async def export():
    year = _year()
    rows = await annual.list_annual(actor(), year)
    body = annual_xlsx(year, rows, annual.status_counts(rows))
    return Response(
        body,
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="annual-reports-{year}.xlsx"'},
    )


def _pdf(body: bytes, ascii_name: str, name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": disposition})


@bp.get("/annual.pdf")
@login_required
async def export_pdf():
    from supervision.pdf_units import annual_list_pdf, annual_title

    a = actor()
    year = _year()
    rows = await annual.list_annual(a, year)
    # The office compiles the city's list; a unit's staff export their own unit's.
    office = await issuing_office(a.staff_id) if a.has("supervisor") else a.unit_name
    body = await asyncio.to_thread(
        annual_list_pdf, year, rows, annual.status_counts(rows), office, deps().clock.today()
    )
    return _pdf(body, f"annual-reports-{year}.pdf", f"{annual_title(year)}.pdf")


@bp.get("/annual/<int:annual_id>.pdf")
@login_required
async def report_pdf(annual_id: int):
    from supervision.pdf_units import annual_report_pdf

    r = await annual.get_annual(actor(), annual_id)
    body = await asyncio.to_thread(annual_report_pdf, r, deps().clock.today())
    return _pdf(body, f"annual-report-{r.id}.pdf", f"{r.account_name}{r.year}年度报表.pdf")


@bp.get("/annual/<int:annual_id>")
@login_required
async def report(annual_id: int):
    a = actor()
    r = await annual.get_annual(a, annual_id)
    refusal = annual.review_refusal(a, r) if r.status == "submitted" else None
    return await render_template(
        "supervision_annual_report.html",
        r=r,
        history=annual.history_view(r),
        FIGURES=annual.FIGURES,
        ENTERED=annual.ENTERED,
        STATUSES=ANNUAL_STATUSES,
        TONES=TONES,
        PLATFORMS=PLATFORMS,
        due=annual.due_date(r.year),
        missing=annual.missing_of(r),
        can_fill=annual.may_fill(a, r) and r.status in annual.EDITABLE,
        can_review=r.status == "submitted" and refusal is None,
        # Reviewers see why they may not review (they filled it in) instead of the buttons.
        review_refused=(refusal.message if refusal and a.has("reviewer", "leader") else None),
    )


@bp.post("/annual/<int:annual_id>/fill")
@login_required
async def fill(annual_id: int):
    form = await request.form
    data = {k: form.get(k, "") for k in (*annual.ENTERED, "mechanisms")}
    then_submit = form.get("then") == "submit"

    async def work() -> AnnualReport:
        r = await annual.fill_annual(deps(), actor(), annual_id, data)
        return await annual.submit_annual(deps(), actor(), r.id) if then_submit else r

    return await act(work, _saved, back=_report_url(annual_id))


def _saved(r: AnnualReport) -> str:
    if r.status == "submitted":
        return "已提交审核，审核员（填报人以外的人员）审核后公开"
    return "已保存"


@bp.post("/annual/<int:annual_id>/submit")
@login_required
async def submit(annual_id: int):
    return await act(
        lambda: annual.submit_annual(deps(), actor(), annual_id),
        _saved,
        back=_report_url(annual_id),
    )


@bp.post("/annual/<int:annual_id>/review")
@login_required
async def review(annual_id: int):
    form = await request.form
    decision = form.get("decision", "")
    data = {
        "approve": {"approve": True, "return": False}.get(decision),
        "note" if decision == "approve" else "reason": form.get("opinion", ""),
    }
    return await act(
        lambda: annual.review_annual(deps(), actor(), annual_id, data),
        lambda r: "已审核通过，年度报表已公开" if r.status == "published" else "已退回单位修改",
        back=_report_url(annual_id),
    )
