"""Console pages of the register: accounts, filing requests and the approver's inbox."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, render_template, request, url_for

from accounts import service
from accounts.models import PLATFORMS, STATUSES
from accounts.monitor import STATES, account_activity
from console.views import login_required
from infra.errors import DomainError
from org.service import list_units
from org.web import actor, deps, record_domain_failure

bp = Blueprint("console_accounts", __name__, url_prefix="/console")


@bp.app_context_processor
def inject() -> dict:
    return {
        "PLATFORMS": PLATFORMS,
        "STATUSES": STATUSES,
        "FILING_KINDS": service.FILING_KINDS,
        "ACTIVITY": STATES,
    }


@bp.get("/accounts")
@login_required
async def accounts():
    filters = {
        k: request.args.get(k, "").strip() for k in ("unit_id", "platform", "status", "warnings")
    }
    rows = await service.list_accounts(actor(), filters)
    activity = {a.account_id: a for a in await account_activity(deps(), [r[0].id for r in rows])}
    return await render_template(
        "accounts.html",
        rows=rows,
        args=request.args,
        activity=activity,
        units=await list_units(actor()),
    )


@bp.get("/accounts/<int:account_id>")
@login_required
async def account(account_id: int):
    a = actor()
    acc = await service.get_account(a, account_id)
    filings = await service.list_filings(a, account_id=acc.id)
    activity = await account_activity(deps(), [acc.id])
    return await render_template(
        "account.html",
        account=acc,
        filings=filings,
        activity=activity[0] if activity else None,
        warnings=await service.account_warnings(acc),
    )


@bp.get("/filings/new")
@login_required
async def new_filing():
    a = actor()
    account_id = request.args.get("account_id")
    acc = await service.get_account(a, account_id) if account_id else None
    return await render_template(
        "filing_new.html", account=acc, kind=request.args.get("kind", "open")
    )


@bp.post("/filings")
@login_required
async def create_filing():
    form = await request.form
    data = {k: form.get(k, "") for k in form}
    try:
        if data.get("account_id"):
            changes = {
                k.removeprefix("new_"): v
                for k, v in data.items()
                if k.startswith("new_") and v.strip()
            }
            filing = await service.file_request(
                deps(),
                actor(),
                data["account_id"],
                data.get("kind", ""),
                {**data, "changes": changes},
            )
        else:
            filing = await service.file_opening(deps(), actor(), data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        back = (
            {"account_id": data["account_id"], "kind": data.get("kind")}
            if data.get("account_id")
            else {}
        )
        return redirect(url_for("console_accounts.new_filing", **back))
    await flash("申请已提交，等待逐级审批", "ok")
    return redirect(url_for("console_accounts.filing", filing_id=filing.id))


@bp.get("/filings")
@login_required
async def filings():
    a = actor()
    return await render_template(
        "filings.html", inbox=await service.approver_inbox(a), mine=await service.list_filings(a)
    )


@bp.get("/filings/<int:filing_id>")
@login_required
async def filing(filing_id: int):
    a = actor()
    f, events = await service.get_filing(a, filing_id)
    step = f.chain[f.step] if f.status == "pending" else None
    can_decide = bool(
        step
        and a.has("leader")
        and a.unit_id == step["unit_id"]
        and a.staff_id != f.requested_by_id
    )  # type: ignore[attr-defined]
    return await render_template(
        "filing.html", f=f, events=events, step=step, can_decide=can_decide, account=await f.account
    )


@bp.post("/filings/<int:filing_id>/decide")
@login_required
async def decide(filing_id: int):
    form = await request.form
    try:
        if form.get("decision") == "approve":
            await service.approve_filing(deps(), actor(), filing_id, form.get("comment", ""))
            await flash("已审批通过", "ok")
        else:
            await service.reject_filing(deps(), actor(), filing_id, form.get("comment", ""))
            await flash("已退回申请", "ok")
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
    return redirect(url_for("console_accounts.filing", filing_id=filing_id))
