"""Console page of the knowledge base's matcher model (匹配模型): the running model, candidates
fitted on this office's curation with their figures on held-back questions, adopting one,
reverting, and fitting now (knowledge/tuning.py)."""

from __future__ import annotations

from quart import Blueprint, render_template, url_for

from console.views import act, login_required
from knowledge import tuning
from org.web import actor, deps

bp = Blueprint("console_matcher", __name__, url_prefix="/console/knowledge/matcher")


@bp.get("")
@login_required
async def page():
    return await render_template("knowledge_matcher.html", **await tuning.matcher_models(actor()))


async def _action(work, message) -> object:
    return await act(work, message, back=url_for("console_matcher.page"))


def _fitted(row) -> str:
    if row.status == "candidate":
        return f"已评估：候选模型 #{row.id} 在留出问法上优于当前模型，可以采用"
    return f"已评估：候选模型 #{row.id} 在留出问法上不优于当前模型，不采用"


@bp.post("/fit")
@login_required
async def fit():
    return await _action(lambda: tuning.fit_office_model(deps(), actor()), _fitted)


@bp.post("/<int:model_id>/adopt")
@login_required
async def adopt(model_id: int):
    return await _action(
        lambda: tuning.adopt_model(actor(), model_id, deps()),
        lambda row: f"已采用匹配模型 #{row.id}，机器人将在数秒内换用",
    )


@bp.post("/revert")
@login_required
async def revert():
    return await _action(
        lambda: tuning.revert_model(actor(), deps()),
        lambda row: f"已恢复为{f'匹配模型 #{row.id}' if row else '通用模型'}",
    )
