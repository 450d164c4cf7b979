"""The drafts JSON API (先审后发): a thin blueprint over publishing.drafts."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from org.web import deps, json_body, page_args, staff_actor
from publishing import drafts, runner, sources

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
    publications = await runner.publications_of(d.id)
    return jsonify(
        {
            **drafts.draft_view(d),
            "timeline": [drafts.event_view(e) for e in events],
            "publications": [runner.publication_view(p) for p in publications],
        }
    )


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


@bp.post("/publications/<int:publication_id>/resolve")
async def resolve_publication(publication_id: int):
    p = await runner.resolve_publication(deps(), staff_actor(), publication_id, await json_body())
    return jsonify(runner.publication_view(p))


tasks_bp = Blueprint("repost_tasks", __name__, url_prefix="/api/repost-tasks")


@tasks_bp.get("")
async def list_tasks():
    actor = staff_actor()
    now = deps().clock.now()
    if request.args.get("overdue"):
        rows = await sources.list_overdue(deps(), actor)
    else:
        rows = await sources.list_tasks(actor, status=request.args.get("status", "open"))
    return jsonify({"items": [sources.task_view(t, now) for t in rows]})


@tasks_bp.post("/<int:task_id>/dismiss")
async def dismiss_task(task_id: int):
    t = await sources.dismiss_task(deps(), staff_actor(), task_id, await json_body())
    return jsonify(sources.task_view(t, deps().clock.now()))


sources_bp = Blueprint("sources", __name__, url_prefix="/api/sources")


@sources_bp.get("")
async def list_sources():
    staff_actor()
    return jsonify({"items": [sources.source_view(s) for s in await sources.list_sources()]})


@sources_bp.post("")
async def add_source():
    s = await sources.add_source(deps(), staff_actor(), await json_body())
    return jsonify(sources.source_view(s)), 201


@sources_bp.post("/<int:source_id>/subscribe")
async def subscribe(source_id: int):
    await sources.subscribe(deps(), staff_actor(), source_id)
    return jsonify({"ok": True})
