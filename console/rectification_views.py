"""Console pages of the monthly rectification list (月整改): a month's list with its counts per
unit (supervisors: every unit, and the build; a unit's staff: their own items), an item with its
evidence, the unit's answer (note and file), the supervisor's verification or return, and the
history; the XLSX and PDF exports. A blueprint nested in the supervision one, so its endpoints are
console_supervision.rectification.*."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from quart import Blueprint, Response, flash, redirect, render_template, request, url_for

from console.views import act, login_required
from infra.errors import DomainError, NotFound
from org.web import actor, deps, record_domain_failure
from supervision import rectification as rect
from supervision.bulletin import issuing_office
from supervision.export import rectification_xlsx
from supervision.models import RECTIFY_STATUSES

bp = Blueprint("rectification", __name__, url_prefix="/rectification")

FILTERS = {"open": "待整改", "submitted": "待核验", "overdue": "逾期", "done": "已整改"}
ACCEPT = ",".join(rect.FILE_TYPES)


def _month_url(month) -> str:
    return url_for("console_supervision.rectification.index", month=f"{month:%Y-%m}")


def _item_url(item_id: int) -> str:
    return url_for("console_supervision.rectification.item", item_id=item_id)


async def _month_list(month):
    a = actor()
    today = deps().clock.today()
    report = await rect.get_month(a, month)
    items = await rect.month_items(a, month) if report else []
    views = [rect.item_view(i, month, today) for i in items]
    return report, views, rect.unit_counts(items, month, today), today


def _shown(views: list[dict], unit: str, status: str) -> list[dict]:
    if unit.isdigit():
        views = [v for v in views if v["unit_id"] == int(unit)]
    if status == "overdue":
        return [v for v in views if v["overdue"] and v["status"] != "done"]
    if status in RECTIFY_STATUSES:
        return [v for v in views if v["status"] == status]
    return views


@bp.get("")
@login_required
async def index():
    a = actor()
    months = await rect.list_months(a)
    value = request.args.get("month", "")
    if value:
        month = rect.parse_month(value)
    else:  # the newest list: it holds every item still open
        month = months[0].period_start if months else rect.last_month(deps().clock.today())
    report, views, counts, today = await _month_list(month)
    unit, status = request.args.get("unit", ""), request.args.get("status", "")
    shown = _shown(views, unit, status)
    return await render_template(
        "supervision_rectification.html",
        month=month,
        month_label=rect.month_label(month),
        report=report,
        months=months,
        counts=counts,
        total=rect.totals(counts),
        items=shown[: rect.LIST_LIMIT],
        more=max(0, len(shown) - rect.LIST_LIMIT),
        unit=unit,
        status=status,
        FILTERS=FILTERS,
        can_build=rect.may_review(a),
        all_units=a.has("supervisor"),
        finished=rect.next_month(month) <= today,
        due_days=rect.RECTIFY_WORKING_DAYS,
    )


@bp.post("")
@login_required
async def build():
    form = await request.form
    try:
        month = rect.parse_month(form.get("month", ""))
        report, made = await rect.build_month(
            deps(), actor(), month, rebuild=form.get("rebuild") == "1"
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_supervision.rectification.index"))
    await flash(
        f"已生成{rect.month_label(report.period_start)}整改清单，新增整改事项 {made} 项", "ok"
    )
    return redirect(_month_url(report.period_start))


@bp.get("/<int:item_id>")
@login_required
async def item(item_id: int):
    a = actor()
    found, events, files = await rect.get_item(a, item_id)
    today = deps().clock.today()
    view = rect.item_view(found, found.month, today)
    return await render_template(
        "supervision_rectify_item.html",
        i=view,
        events=events,
        files=files,
        EVENT_LABELS=rect.EVENT_LABELS,
        can_answer=rect.may_answer(a, found) and found.status == "open",
        can_review=rect.may_review(a) and found.status == "submitted",
        max_mb=rect.MAX_FILE_BYTES // (1024 * 1024),
        accept=ACCEPT,
        created_on=found.created_at,
    )


@bp.post("/<int:item_id>/answer")
@login_required
async def answer(item_id: int):
    form = await request.form
    upload = (await request.files).get("file")
    given = (upload.filename, upload.read()) if upload is not None and upload.filename else None
    return await act(
        lambda: rect.answer_item(deps(), actor(), item_id, {"note": form.get("note", "")}, given),
        "已上报整改情况，等待督查人员核验",
        back=_item_url(item_id),
    )


@bp.post("/<int:item_id>/review")
@login_required
async def review(item_id: int):
    form = await request.form
    decision = form.get("decision", "")
    data = {
        "approve": {"verify": True, "return": False}.get(decision),
        "note": form.get("note", ""),
        "reason": form.get("reason", ""),
    }
    return await act(
        lambda: rect.review_item(deps(), actor(), item_id, data),
        lambda done: (
            "已核验通过" if done.status == "done" else "已退回，单位会收到短信通知和退回理由"
        ),
        back=_item_url(item_id),
    )


@bp.get("/files/<int:file_id>")
@login_required
async def file(file_id: int):
    f = await rect.get_file(actor(), file_id)
    ext = f.name.rsplit(".", 1)[-1]
    disposition = f"attachment; filename=\"rectify-{f.id}.{ext}\"; filename*=UTF-8''{quote(f.name)}"
    return Response(f.data, mimetype=f.content_type, headers={"Content-Disposition": disposition})


@bp.get("/<month>.xlsx")
@login_required
async def export(month: str):
    report, views, counts, today = await _month_list(rect.parse_month(month))
    if report is None:
        raise NotFound("该月整改清单")
    name = f"rectification-{report.period_start:%Y-%m}.xlsx"
    return Response(
        rectification_xlsx(report, views, counts, today),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/<month>.pdf")
@login_required
async def export_pdf(month: str):
    from supervision.pdf import rectification_pdf

    report, views, counts, today = await _month_list(rect.parse_month(month))
    if report is None:
        raise NotFound("该月整改清单")
    office = await issuing_office(report.built_by_id)
    body = await asyncio.to_thread(rectification_pdf, report, views, counts, today, office)
    name = f"{rect.month_label(report.period_start)}政务新媒体问题整改清单.pdf"
    disposition = (
        f'attachment; filename="rectification-{report.period_start:%Y-%m}.pdf"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": disposition})
