"""The citizen's status page by tracking code: GET the status, POST satisfaction.

Tracking codes carry about 49 bits of randomness and every client address may look up only
``public_status_rate_limit`` codes per window, here and through the bot together
(letters/lookups.py), so codes cannot be enumerated. An unknown code and a
malformed one answer the same 404 after the same database look-up.
"""

from __future__ import annotations

from quart import Blueprint, jsonify

from letters import replies
from letters.lookups import check_status_lookup
from org.web import actor, client_ip, deps, json_body

bp = Blueprint("letters_public", __name__, url_prefix="/api/public/letters")


async def _limit() -> None:
    # The same count as the bot's "查询 <code>" (letters/lookups.py).
    await check_status_lookup(deps(), client_ip())


@bp.get("/<code>")
async def status(code: str):
    await _limit()
    return jsonify(await replies.public_letter_status(deps(), code))


@bp.post("/<code>")
async def rate(code: str):
    await _limit()
    await replies.rate_letter(deps(), actor(), code, await json_body())
    return jsonify(await replies.public_letter_status(deps(), code))
