"""The accounts JSON API: the register, filings and their approval, credentials."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from accounts import service
from org.web import deps, json_body, staff_actor

bp = Blueprint("accounts_api", __name__, url_prefix="/api")


@bp.get("/accounts")
async def list_accounts():
    filters = {
        k: request.args.get(k, "").strip() for k in ("unit_id", "platform", "status", "warnings")
    }
    rows = await service.list_accounts(staff_actor(), filters)
    return jsonify([service.account_view(a, w) for a, w in rows])


@bp.get("/accounts/<int:account_id>")
async def get_account(account_id: int):
    account = await service.get_account(staff_actor(), account_id)
    return jsonify(service.account_view(account, await service.account_warnings(account)))


@bp.put("/accounts/<int:account_id>/credentials")
async def set_credentials(account_id: int):
    account = await service.set_credentials(deps(), staff_actor(), account_id, await json_body())
    return jsonify(service.account_view(account))


@bp.post("/filings")
async def file_opening():
    filing = await service.file_opening(deps(), staff_actor(), await json_body())
    return jsonify(service.filing_view(filing)), 201


@bp.post("/accounts/<int:account_id>/filings")
async def file_request(account_id: int):
    data = await json_body()
    filing = await service.file_request(
        deps(), staff_actor(), account_id, str(data.get("kind") or ""), data
    )
    return jsonify(service.filing_view(filing)), 201


@bp.get("/filings")
async def list_filings():
    a = staff_actor()
    if request.args.get("inbox"):
        rows = await service.approver_inbox(a)
    else:
        rows = await service.list_filings(a)
    return jsonify([service.filing_view(f) for f in rows])


@bp.get("/filings/<int:filing_id>")
async def get_filing(filing_id: int):
    filing, events = await service.get_filing(staff_actor(), filing_id)
    return jsonify(service.filing_view(filing, events))


@bp.post("/filings/<int:filing_id>/approve")
async def approve(filing_id: int):
    data = await json_body()
    filing = await service.approve_filing(
        deps(), staff_actor(), filing_id, str(data.get("comment") or "")
    )
    return jsonify(service.filing_view(filing))


@bp.post("/filings/<int:filing_id>/reject")
async def reject(filing_id: int):
    data = await json_body()
    filing = await service.reject_filing(
        deps(), staff_actor(), filing_id, str(data.get("reason") or "")
    )
    return jsonify(service.filing_view(filing))
