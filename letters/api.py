"""The letters JSON API for staff: intake on a citizen's behalf, lists, screening, routing,
extensions, replies, supervision, the daily check, the way into the knowledge base."""

from __future__ import annotations

import datetime as dt

from quart import Blueprint, Response, jsonify, request

from infra.errors import DomainError
from letters import deadlines, intake, replies, routing, service, supervision
from org.web import deps, json_body, page_args, staff_actor

bp = Blueprint("letters_api", __name__, url_prefix="/api/letters")


def _view(letter) -> dict:
    return service.letter_view(deps(), staff_actor(), letter)


def _page(total: int, rows: list) -> Response:
    return jsonify({"total": total, "items": [_view(r) for r in rows]})


FILTERS = ("status", "kind", "unit_id", "overdue", "code", "q")


def _filters() -> dict:
    return {k: request.args.get(k, "").strip() for k in FILTERS}


def _date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError("bad_field", f"日期格式应为YYYY-MM-DD：{name}", field=name) from exc


@bp.post("")
async def submit():
    letter, created = await intake.submit_letter(deps(), staff_actor(), await json_body())
    return jsonify(_view(await service.load_letter(staff_actor(), letter.id))), (
        201 if created else 200
    )


@bp.get("")
async def list_letters():
    limit, offset = page_args()
    return _page(
        *await service.list_letters(deps(), staff_actor(), _filters(), limit=limit, offset=offset)
    )


@bp.get("/inbox")
async def inbox():
    limit, offset = page_args()
    queue = request.args.get("queue", "handling")
    return _page(
        *await service.list_inbox(deps(), staff_actor(), queue=queue, limit=limit, offset=offset)
    )


@bp.get("/export.csv")
async def export_csv():
    body = await service.export_letters_csv(deps(), staff_actor(), _filters())
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=letters.csv"},
    )


@bp.get("/templates")
async def templates():
    staff_actor()
    return jsonify(replies.reply_templates(deps().settings))


@bp.get("/supervision")
async def supervision_list():
    limit, offset = page_args()
    return _page(*await supervision.list_supervision(staff_actor(), limit=limit, offset=offset))


@bp.get("/daily-check")
async def daily_check():
    rows = await supervision.list_missed_checks(
        staff_actor(), since=_date_arg("since"), until=_date_arg("until")
    )
    return jsonify(rows)


@bp.get("/<int:letter_id>")
async def get_letter(letter_id: int):
    return await _detail(letter_id)


async def _detail(letter_id: int) -> Response:
    return jsonify(await service.get_letter(deps(), staff_actor(), letter_id))


@bp.post("/<int:letter_id>/accept")
async def accept(letter_id: int):
    # The letter may have left the actor's unit: answer with what the service returned.
    return jsonify(
        _view(await routing.accept_letter(deps(), staff_actor(), letter_id, await json_body()))
    )


@bp.post("/<int:letter_id>/decline")
async def decline(letter_id: int):
    await routing.decline_letter(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/instruct")
async def instruct(letter_id: int):
    # The letter may have left the actor's unit: answer with what the service returned.
    return jsonify(
        _view(await routing.instruct_letter(deps(), staff_actor(), letter_id, await json_body()))
    )


@bp.post("/<int:letter_id>/transfer")
async def transfer(letter_id: int):
    # The letter may have left the actor's unit: answer with what the service returned.
    return jsonify(
        _view(await routing.transfer_letter(deps(), staff_actor(), letter_id, await json_body()))
    )


@bp.post("/<int:letter_id>/extension")
async def request_extension(letter_id: int):
    await deadlines.request_extension(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/extension/decision")
async def decide_extension(letter_id: int):
    await deadlines.decide_extension(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/reply")
async def write_reply(letter_id: int):
    await replies.write_reply(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/reply/review")
async def review_reply(letter_id: int):
    await replies.review_reply(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/supervision")
async def supervise(letter_id: int):
    await supervision.add_supervision_note(deps(), staff_actor(), letter_id, await json_body())
    return await _detail(letter_id)


@bp.post("/<int:letter_id>/kb-entry")
async def propose_kb_entry(letter_id: int):
    entry = await replies.propose_kb_entry(deps(), staff_actor(), letter_id, await json_body())
    return jsonify({"entry_id": entry.id, "question": entry.question, "answer": entry.answer}), 201
