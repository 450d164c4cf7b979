"""The scoring rubric (国办秘函〔2019〕19号 and the local circulars), kept as data.

Admins edit it in the console; every edit is a new version, audited, and a report records the
version it used, so that an edit changes later reports only. ``DEFAULT_RUBRIC`` is version 1.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from infra.errors import DomainError

VETOES = {
    "no_post": "监测前{days}天内未发布信息",
    "serious_error": "发布内容出现严重错误（经审核员认定）",
    "poor_interaction": "互动回应差",
    "unfiled": "未经备案审批开设账号",
}

DEDUCTIONS = {
    "weekly_minimum": "当周未更新",
    "repost_no_source": "转载未注明来源",
    "ads_unhandled": "疑似广告未处理",
    "urgent_task_missed": "重要转载任务逾期",
    "letter_late": "留言逾期答复",
    "dissatisfied": "答复不满意",
    "name_warning": "账号名称或认证主体不一致",
    "kb_stale": "知识库条目逾期未复核",
}

DEFAULT_RUBRIC: dict[str, Any] = {
    "pass_score": 60,
    "rollup": "mean",  # a unit's score: the mean of its accounts, or "worst"
    "vetoes": {
        "no_post": {"on": True, "days": 14},
        "serious_error": {"on": True},
        # Letters of the account overdue at the check, or bot questions of the account left
        # unanswered, not dealt with and older than ``unanswered_days``, at least ``asks``.
        "poor_interaction": {"on": True, "overdue_letters": 1, "unanswered_days": 7, "asks": 10},
        # Accounts opened before this day came from the paper register, not through filings.
        "unfiled": {"on": True, "legacy_before": "2026-01-01"},
    },
    "deductions": {
        "weekly_minimum": {"points": 5, "cap": 20},
        "repost_no_source": {"points": 2, "cap": 10},
        "ads_unhandled": {"points": 5, "cap": 15},
        "urgent_task_missed": {"points": 3, "cap": 15},
        "letter_late": {"points": 2, "cap": 20},
        "dissatisfied": {"points": 1, "cap": 10},
        "name_warning": {"points": 5, "cap": 10},
        "kb_stale": {"points": 1, "cap": 10},
    },
}


def _number(value: Any, label: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError("bad_field", f"{label}须为数字")
    if not low <= value <= high:
        raise DomainError("bad_field", f"{label}须在 {low:g} 到 {high:g} 之间")
    return value


def clean_rubric(data: Any) -> dict[str, Any]:
    """A complete, checked rubric from an edited one: unknown keys refused, missing ones taken
    from the default, numbers in range. Errors are in Chinese for the admin who edits it."""
    if not isinstance(data, dict):
        raise DomainError("bad_field", "评分细则格式不正确")
    unknown = set(data) - set(DEFAULT_RUBRIC)
    if unknown:
        raise DomainError("bad_field", f"评分细则中有未知项：{'、'.join(sorted(unknown))}")
    out = copy.deepcopy(DEFAULT_RUBRIC)
    if "pass_score" in data:
        out["pass_score"] = _number(data["pass_score"], "及格分", 0, 100)
    if "rollup" in data:
        if data["rollup"] not in ("mean", "worst"):
            raise DomainError("bad_field", "单位得分只能取各账号平均分或最低分")
        out["rollup"] = data["rollup"]
    for group, known in (("vetoes", VETOES), ("deductions", DEDUCTIONS)):
        given = data.get(group, {})
        if not isinstance(given, dict):
            raise DomainError("bad_field", "评分细则格式不正确")
        extra = set(given) - set(known)
        if extra:
            raise DomainError("bad_field", f"评分细则中有未知项：{'、'.join(sorted(extra))}")
        for key, values in given.items():
            if not isinstance(values, dict):
                raise DomainError("bad_field", f"「{known[key]}」格式不正确")
            target = out[group][key]
            for name, value in values.items():
                if name not in target:
                    raise DomainError("bad_field", f"「{known[key]}」中有未知设置：{name}")
                if name == "on":
                    target[name] = bool(value)
                elif name == "legacy_before":
                    try:
                        target[name] = dt.date.fromisoformat(str(value)).isoformat()
                    except ValueError:
                        raise DomainError("bad_field", "存量账号日期格式应为 2026-01-01") from None
                elif name == "cap":
                    target[name] = _number(value, f"「{known[key]}」扣分上限", 0, 100)
                elif name == "points":
                    target[name] = _number(value, f"「{known[key]}」每项扣分", 0, 100)
                else:
                    target[name] = int(_number(value, f"「{known[key]}」的 {name}", 0, 3650))
    return out


def veto_label(code: str, rubric: dict[str, Any]) -> str:
    return VETOES[code].format(**rubric["vetoes"][code])
