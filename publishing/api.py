"""The drafts JSON API (先审后发): a thin blueprint over publishing.drafts."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from org.web import deps, json_body, page_args, staff_actor
from publishing import drafts

bp = Blueprint("account_drafts", __name__, url_prefix="/api/drafts")


@bp.get("")
async def list_drafts():
    limit, offset = page_args()
    total, rows = await drafts.list_drafts(
        staff_actor(), status=request.args.get("status", "").strip(), limit=limit, offset=offset
    )
    return jsonify({"total": total, "items": [drafts.draft_view(d) for d in rows]})


@bp.post("")
async def create_draft():
    d = await drafts.create_draft(deps(), staff_actor(), await json_body())
    return jsonify(drafts.draft_view(d)), 201


@bp.get("/<int:draft_id>")
async def get_draft(draft_id: int):
    d, events = await drafts.get_draft(staff_actor(), draft_id)
    return jsonify({**drafts.draft_view(d), "timeline": [drafts.event_view(e) for e in events]})


@bp.put("/<int:draft_id>")
async def edit_draft(draft_id: int):
    d = await drafts.edit_draft(deps(), staff_actor(), draft_id, await json_body())
    return jsonify(drafts.draft_view(d))


@bp.post("/<int:draft_id>/submit")
async def submit_draft(draft_id: int):
    return jsonify(drafts.draft_view(await drafts.submit_draft(deps(), staff_actor(), draft_id)))


@bp.post("/<int:draft_id>/accept-finding")
async def accept_finding(draft_id: int):
    d = await drafts.accept_finding(deps(), staff_actor(), draft_id, await json_body())
    return jsonify(drafts.draft_view(d))


@bp.post("/<int:draft_id>/review")
async def review_draft(draft_id: int):
    d = await drafts.review_draft(deps(), staff_actor(), draft_id, await json_body())
    return jsonify(drafts.draft_view(d))


@bp.post("/<int:draft_id>/schedule")
async def schedule_draft(draft_id: int):
    d = await drafts.schedule_draft(deps(), staff_actor(), draft_id, await json_body())
    return jsonify(drafts.draft_view(d))


@bp.post("/<int:draft_id>/withdraw")
async def withdraw_draft(draft_id: int):
    d = await drafts.withdraw_draft(deps(), staff_actor(), draft_id, await json_body())
    return jsonify(drafts.draft_view(d))
