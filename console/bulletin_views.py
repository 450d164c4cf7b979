"""Console pages of the quarterly bulletin (季通报): the list with the build form (supervisors),
the bulletin as a page with its charts (inline SVG), the draft's opening and requirements edited
in place, issuing, and the XLSX and PDF exports. Unit staff read issued bulletins, with their own
units' rows. A blueprint nested in the supervision one: console_supervision.quarterly.*."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from quart import Blueprint, Response, flash, redirect, render_template, request, url_for

from accounts.models import PLATFORMS
from console.views import act, login_required
from infra.errors import DomainError
from org.web import actor, deps, record_domain_failure
from supervision import bulletin, charts
from supervision.export import bulletin_xlsx
from supervision.models import Report

bp = Blueprint("quarterly", __name__, url_prefix="/quarterly")
PAGE_ROWS = 200  # vetoed accounts and units' letters on the page; the exports have them all


def _page_url(year: int, quarter: int) -> str:
    return url_for("console_supervision.quarterly.page", year=year, quarter=quarter)


async def _read(year: int, quarter: int, *, every_problem: bool = False) -> tuple[Report, dict]:
    a = actor()
    report = await bulletin.get_bulletin(a, year, quarter)
    return report, await bulletin.readable(a, report, every_problem=every_problem)


def _svg_charts(report: Report) -> dict[str, str]:
    """The page's charts, drawn once per build of the bulletin (they are of the whole city:
    counts, the ranking and totals, which every reader of the bulletin sees)."""
    d = report.data
    draw = {
        "scores": lambda: charts.score_distribution(d["bands"], d["pass_score"], d["vetoed"]),
        "units": lambda: charts.units_ranked(d["units"], d["pass_score"]) if d["units"] else "",
        "activity": lambda: charts.activity_trend(d["activity"]),
        "letters": lambda: charts.letters_trend(d["letters_trend"]),
    }
    stamp = (report.id, report.built_at.isoformat())
    return {name: charts.cached((*stamp, name), make) for name, make in draw.items()}


@bp.get("")
@login_required
async def index():
    a = actor()
    reports = await bulletin.list_bulletins(a)
    year, quarter = bulletin.previous_quarter(*bulletin.quarter_of(deps().clock.today()))
    return await render_template(
        "supervision_quarterly_list.html",
        reports=reports,
        title=bulletin.title,
        default_year=year,
        default_quarter=quarter,
        can_build=a.has("supervisor"),
    )


@bp.post("")
@login_required
async def build():
    form = await request.form
    try:
        year, quarter = _int(form.get("year")), _int(form.get("quarter"))
        report = await bulletin.build_quarter(
            deps(), actor(), year, quarter, rebuild=form.get("rebuild") == "1"
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_supervision.quarterly.index"))
    year, quarter = report.data["year"], report.data["quarter"]
    await flash(f"已生成{year}年第{bulletin.CN_QUARTERS[quarter]}季度通报（草稿）", "ok")
    return redirect(_page_url(year, quarter))


def _int(value: str | None) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise DomainError("bad_field", "请选择年份和季度", field="quarter") from None


@bp.get("/<int:year>/<int:quarter>")
@login_required
async def page(year: int, quarter: int):
    report, data = await _read(year, quarter)
    a = actor()
    svgs = await asyncio.to_thread(_svg_charts, report)
    return await render_template(
        "supervision_quarterly.html",
        report=report,
        data=data,
        title=bulletin.title(year, quarter),
        charts=svgs,
        PLATFORMS=PLATFORMS,
        can_edit=a.has("supervisor") and report.status == "draft",
        all_rows=a.has("supervisor"),
        cn_quarter=bulletin.CN_QUARTERS[quarter],
        signed_on=bulletin.signed_on(report),
        page_rows=PAGE_ROWS,
    )


@bp.post("/<int:year>/<int:quarter>/edit")
@login_required
async def edit(year: int, quarter: int):
    form = await request.form
    return await act(
        lambda: bulletin.edit_bulletin(
            deps(), actor(), year, quarter, form.get("opening", ""), form.get("requirements", "")
        ),
        "通报的开头和工作要求已保存",
        back=_page_url(year, quarter),
    )


@bp.post("/<int:year>/<int:quarter>/issue")
@login_required
async def issue(year: int, quarter: int):
    return await act(
        lambda: bulletin.issue_bulletin(deps(), actor(), year, quarter),
        "通报已印发，各单位可以查看；印发后不能再修改",
        back=_page_url(year, quarter),
    )


def _download(body: bytes, mimetype: str, ascii_name: str, name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/<int:year>/<int:quarter>.xlsx")
@login_required
async def export_xlsx(year: int, quarter: int):
    report, data = await _read(year, quarter, every_problem=True)
    body = await asyncio.to_thread(bulletin_xlsx, report, data)
    return _download(
        body,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"bulletin-{year}-Q{quarter}.xlsx",
        f"{bulletin.title(year, quarter)}.xlsx",
    )


@bp.get("/<int:year>/<int:quarter>.pdf")
@login_required
async def export_pdf(year: int, quarter: int):
    from supervision.pdf import bulletin_pdf

    report, data = await _read(year, quarter)
    body = await asyncio.to_thread(bulletin_pdf, report, data)
    return _download(
        body,
        "application/pdf",
        f"bulletin-{year}-Q{quarter}.pdf",
        f"{bulletin.title(year, quarter)}.pdf",
    )
