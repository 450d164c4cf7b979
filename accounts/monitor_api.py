"""The activity monitor's JSON API: states, the 12-week table, one account's history.

Each route asks accounts.monitor for the accounts the actor may read and returns its figures.
"""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from accounts import monitor
from accounts.models import Account
from infra.errors import DomainError, Forbidden, NotFound
from org.web import deps, page_args, staff_actor

bp = Blueprint("accounts_monitor_api", __name__, url_prefix="/api")


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError as exc:
        raise DomainError("bad_field", f"参数 {name} 须为整数") from exc
    if not low <= value <= high:
        raise DomainError("bad_field", f"参数 {name} 须在 {low} 到 {high} 之间")
    return value


@bp.get("/activity")
async def activity():
    a = staff_actor()
    wanted = [s for s in request.args.get("state", "").split(",") if s]
    unknown = [s for s in wanted if s not in monitor.STATES]
    if unknown:
        raise DomainError(
            "bad_field", f"未知的活跃状态：{'、'.join(unknown)}（可选 {'、'.join(monitor.STATES)}）"
        )
    limit, offset = page_args()
    d = deps()
    items = await monitor.account_activity(d, await monitor.visible_accounts(a))
    counts = dict.fromkeys(monitor.STATES, 0)
    for item in items:
        counts[item.state] += 1
    if wanted:
        items = [i for i in items if i.state in wanted]
    items.sort(key=lambda i: (-i.idle_days, i.account_id))
    return jsonify(
        {
            "today": d.clock.today().isoformat(),
            "counts": counts,
            "total": len(items),
            "items": [i.as_dict() for i in items[offset : offset + limit]],
        }
    )


@bp.get("/activity/weekly")
async def activity_weekly():
    a = staff_actor()
    weeks = _int_arg("weeks", 12, 1, 53)
    limit, offset = page_args()
    qs = await monitor.visible_accounts(a)
    total = await qs.count()
    ids = await qs.order_by("id").offset(offset).limit(limit).values_list("id", flat=True)
    table = await monitor.weekly_compliance(deps(), ids, weeks=weeks)
    return jsonify({"total": total, **table.as_dict()})


@bp.get("/accounts/<int:account_id>/activity/history")
async def activity_history(account_id: int):
    a = staff_actor()
    days = _int_arg("days", 90, 1, 366)
    account = await Account.get_or_none(id=account_id).prefetch_related("unit")
    if account is None:
        raise NotFound("账号")
    if not a.reads_unit(account.unit.path):
        raise Forbidden("只能查看本单位（或所辖单位）账号的活跃情况")
    history = await monitor.activity_history(account_id, days, today=deps().clock.today())
    return jsonify({"account_id": account_id, "days": days, "items": history})
