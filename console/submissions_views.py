"""Console pages of information submission (信息报送, 002 §21): the editors' form, the register
with its filters and the office's adopt form, the month's ranking of units, the points per level
(admins), and the month's XLSX and PDF."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import quote

from quart import Blueprint, Response, render_template, request, url_for

from console.views import act, login_required
from org.models import Unit
from org.web import actor, deps
from supervision import submissions
from supervision.bulletin import issuing_office
from supervision.export_units import monthly_submissions_xlsx
from supervision.models import ADOPTION_LEVELS

bp = Blueprint("console_submissions", __name__, url_prefix="/console/supervision")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(raw: str) -> dt.date:
    return submissions.parse_month(raw) if raw else deps().clock.today().replace(day=1)


def _back(form) -> str:
    """Back to the register as it was filtered (the month, unit and state the form carried)."""
    args = {k: form.get(k) for k in ("month", "unit_id", "adopted") if form.get(k)}
    return url_for("console_submissions.page", **args)


@bp.get("/submissions")
@login_required
async def page():
    a = actor()
    month = _month(request.args.get("month", ""))
    unit_id = request.args.get("unit_id", "")
    adopted = request.args.get("adopted", "")
    items = await submissions.list_items(a, month=month, unit_id=unit_id, adopted=adopted)
    table = await submissions.read_table(a, month)
    units = [
        u
        for u in await Unit.filter(is_internal=False, active=True).order_by("path", "id")
        if a.reads_unit(u.path)
    ]
    points = submissions.points_of(await submissions.current_points())
    today = deps().clock.today()
    return await render_template(
        "supervision_submissions.html",
        month=month,
        month_value=f"{month.year}-{month.month:02d}",
        unit_id=unit_id,
        adopted=adopted,
        items=items,
        table=table,
        units=units if len(units) > 1 else [],
        points=points,
        LEVELS=ADOPTION_LEVELS,
        today=today,
        can_submit=a.has("editor") and a.unit_id is not None,
        can_adopt=a.has("supervisor"),
        can_set_points=a.has("admin") and a.unit_path.count("/") == 2,
        own_unit=a.unit_id if not a.has("supervisor") else None,
    )


@bp.post("/submissions")
@login_required
async def submit():
    form = await request.form
    data = {k: form.get(k, "") for k in ("title", "summary", "link", "body")}
    return await act(
        lambda: submissions.submit_item(deps(), actor(), data),
        lambda item: f"已报送「{item.title}」",
        back=_back(form),
    )


@bp.post("/submissions/<int:submission_id>/adopt")
@login_required
async def adopt(submission_id: int):
    form = await request.form
    data = {k: form.get(k, "") for k in ("level", "adopted_on", "note")}
    return await act(
        lambda: submissions.adopt_item(deps(), actor(), submission_id, data),
        lambda ad: f"已登记{ADOPTION_LEVELS[ad.level]}采用，计 {ad.points:g} 分",
        back=_back(form),
    )


@bp.post("/submissions/<int:submission_id>/unadopt")
@login_required
async def unadopt(submission_id: int):
    form = await request.form
    data = {k: form.get(k, "") for k in ("level", "reason")}
    return await act(
        lambda: submissions.unadopt_item(deps(), actor(), submission_id, data),
        "已撤销该采用记录",
        back=_back(form),
    )


@bp.post("/submissions/points")
@login_required
async def set_points():
    form = await request.form
    data = {level: form.get(level, "") for level in ADOPTION_LEVELS}
    return await act(
        lambda: submissions.set_points(deps(), actor(), data),
        "采用分值已更新，之后登记的采用按新分值计分",
        back=_back(form),
    )


@bp.get("/submissions.xlsx")
@login_required
async def export():
    a = actor()
    month = _month(request.args.get("month", ""))
    table = await submissions.read_table(a, month)
    adoptions = await submissions.monthly_adoptions(a, month)
    points = submissions.points_of(await submissions.current_points())
    body = monthly_submissions_xlsx(month, table, adoptions, points)
    name = f"submissions-{month.year}-{month.month:02d}.xlsx"
    return Response(
        body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/submissions.pdf")
@login_required
async def export_pdf():
    from supervision.pdf_units import submissions_pdf, submissions_title

    a = actor()
    month = _month(request.args.get("month", ""))
    table = await submissions.read_table(a, month)
    adoptions = await submissions.monthly_adoptions(a, month)
    points = submissions.points_of(await submissions.current_points())
    # The ranking is the office's bulletin, whoever exports it.
    office = await issuing_office(a.staff_id if a.has("supervisor") else None)
    body = await asyncio.to_thread(
        submissions_pdf, month, table, adoptions, points, office, deps().clock.today()
    )
    name = f"{submissions_title(month)}.pdf"
    disposition = (
        f'attachment; filename="submissions-{month.year}-{month.month:02d}.pdf"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": disposition})
