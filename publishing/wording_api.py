"""The 错敏词 lists' JSON API: a thin blueprint over publishing.wording_rules."""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from org.web import deps, json_body, staff_actor
from publishing import wording_rules as rules
from publishing.wording import KINDS

bp = Blueprint("wording_rules", __name__, url_prefix="/api/wording-rules")


@bp.get("")
async def list_rules():
    include_inactive = request.args.get("all", "").strip().lower() in {"1", "true", "yes", "on"}
    rows = await rules.list_wording_rules(
        deps(),
        staff_actor(),
        kind=request.args.get("kind", "").strip(),
        include_inactive=include_inactive,
    )
    return jsonify({"kinds": KINDS, "rules": [rules.rule_view(r) for r in rows]})


@bp.post("")
async def add_rule():
    rule = await rules.add_wording_rule(deps(), staff_actor(), await json_body())
    return jsonify(rules.rule_view(rule)), 201


@bp.put("/<int:wording_rule_id>")
async def edit_rule(wording_rule_id: int):
    rule = await rules.edit_wording_rule(deps(), staff_actor(), wording_rule_id, await json_body())
    return jsonify(rules.rule_view(rule))


@bp.post("/<int:wording_rule_id>/deactivate")
async def deactivate_rule(wording_rule_id: int):
    rule = await rules.set_wording_rule_active(deps(), staff_actor(), wording_rule_id, False)
    return jsonify(rules.rule_view(rule))


@bp.post("/<int:wording_rule_id>/activate")
async def activate_rule(wording_rule_id: int):
    rule = await rules.set_wording_rule_active(deps(), staff_actor(), wording_rule_id, True)
    return jsonify(rules.rule_view(rule))
