"""The posts and ad-screening JSON API: a thin blueprint over accounts.posts."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from accounts import posts
from infra.errors import DomainError
from org.web import deps, json_body, page_args, staff_actor

bp = Blueprint("account_posts", __name__, url_prefix="/api")


def _arg_flag(name: str) -> bool:
    return request.args.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@bp.get("/accounts/<int:account_id>/posts")
async def list_posts(account_id: int):
    limit, offset = page_args()
    flagged_only = _arg_flag("flagged")
    status = request.args.get("status", "").strip()
    total, rows = await posts.list_posts(
        staff_actor(), account_id, flagged_only, limit, offset, status=status
    )
    return jsonify({"total": total, "items": [posts.post_view(p) for p in rows]})


@bp.post("/accounts/<int:account_id>/posts")
async def add_post(account_id: int):
    added = await posts.add_post(deps(), staff_actor(), account_id, await json_body())
    return jsonify(posts.post_view(added.post)), 201 if added.created else 200


@bp.post("/accounts/<int:account_id>/posts/import")
async def import_posts(account_id: int):
    a = staff_actor()
    upload = (await request.files).get("file")
    if upload is None or not upload.filename:
        raise DomainError("missing_file", "请选择要导入的文件（CSV 或 .xlsx）", field="file")
    report = await posts.import_posts(deps(), a, account_id, upload.filename, upload.read())
    return jsonify(report)


@bp.post("/posts/<int:post_id>/clear")
async def clear_post(post_id: int):
    a = staff_actor()
    data = await json_body()
    post = await posts.clear_post(deps(), a, post_id, data.get("note") or "")
    return jsonify(posts.post_view(post))


@bp.post("/posts/<int:post_id>/confirm")
async def confirm_post(post_id: int):
    a = staff_actor()
    data = await json_body()
    post = await posts.confirm_post(
        deps(), a, post_id, data.get("note") or "", serious=data.get("serious") is True
    )
    return jsonify(posts.post_view(post))


@bp.post("/posts/<int:post_id>/removed")
async def mark_post_removed(post_id: int):
    a = staff_actor()
    data = await json_body()
    post = await posts.mark_post_removed(deps(), a, post_id, data.get("note") or "")
    return jsonify(posts.post_view(post))


@bp.get("/ad-rules")
async def list_ad_rules():
    include_inactive = _arg_flag("all")
    rows = await posts.list_ad_rules(staff_actor(), include_inactive)
    return jsonify(
        {"rules": [posts.ad_rule_view(r) for r in rows], "defaults": posts.default_rules_view()}
    )


@bp.post("/ad-rules")
async def add_ad_rule():
    rule = await posts.add_ad_rule(deps(), staff_actor(), await json_body())
    return jsonify(posts.ad_rule_view(rule)), 201


@bp.delete("/ad-rules/<int:rule_id>")
async def remove_ad_rule(rule_id: int):
    rule = await posts.remove_ad_rule(deps(), staff_actor(), rule_id)
    return jsonify(posts.ad_rule_view(rule))


@bp.post("/screen")
async def screen():
    findings = await posts.screen_draft(staff_actor(), await json_body())
    return jsonify({"findings": [f.to_dict() for f in findings], "clean": not findings})
