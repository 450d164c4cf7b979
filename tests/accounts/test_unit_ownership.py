"""A unit with live accounts stays a unit that may own them (002 §7(二)(三)): it cannot be made an
internal section, nor (below the top) a unit that is not an independent legal entity, while an
account of it is not closed; the refusal names the accounts."""

from __future__ import annotations

import pytest

from accounts.models import Account
from infra.errors import DomainError
from org.models import AuditRecord, Unit
from org.service import update_unit
from quart_app import compose
from tests.accounts.conftest import make_account
from tests.org.conftest import login_as


@pytest.fixture
async def gjj_accounts(deps, demo_units, clock) -> dict[str, Account]:
    compose(deps)  # as create_app, the worker and the command line wire accounts into org
    unit = demo_units["QY-GJJ"]
    closed = await make_account(unit, "douyin", "清源公积金抖音号", clock)
    closed.status, closed.live_slot = "closed", None
    await closed.save()
    wechat = await make_account(unit, "wechat", "清源公积金", clock)
    weibo = await make_account(unit, "weibo", "清源公积金微博", clock)
    weibo.status = "suspended"  # not closed: still live
    await weibo.save()
    return {"wechat": wechat, "weibo": weibo, "closed": closed}


@pytest.mark.parametrize(
    ("change", "field", "what"),
    [
        ({"is_internal": True, "is_legal_entity": False}, "is_internal", "内设机构"),
        ({"is_legal_entity": False}, "is_legal_entity", "非独立法人单位"),
    ],
)
async def test_unit_with_live_accounts_keeps_its_standing(
    deps, actors, demo_units, gjj_accounts, change, field, what
):
    unit = demo_units["QY-GJJ"]
    with pytest.raises(DomainError) as exc:
        await update_unit(deps, actors["admin"], unit.id, change)
    err = exc.value
    assert err.status == 409 and err.code == "unit_has_accounts"
    assert err.details["field"] == field
    assert "微信公众号「清源公积金」" in err.message and "微博「清源公积金微博」" in err.message
    assert "抖音" not in err.message  # a closed account is no obstacle
    assert f"再改为{what}" in err.message
    stored = await Unit.get(id=unit.id)
    assert stored.is_legal_entity and not stored.is_internal
    assert not await AuditRecord.filter(action="unit.update").exists()

    # Once the accounts are closed, the change goes through.
    await Account.filter(unit_id=unit.id).update(status="closed", live_slot=None)
    await update_unit(deps, actors["admin"], unit.id, change)
    stored = await Unit.get(id=unit.id)
    assert stored.is_legal_entity is False
    assert await AuditRecord.filter(action="unit.update", object_id=str(unit.id)).exists()


async def test_other_changes_and_units_without_accounts_are_not_held(
    deps, actors, demo_units, gjj_accounts
):
    unit = demo_units["QY-GJJ"]
    await update_unit(deps, actors["admin"], unit.id, {"name": "清源市人社局"})
    assert (await Unit.get(id=unit.id)).name == "清源市人社局"
    jyj = demo_units["QY-HX-JYJ"]
    await update_unit(deps, actors["admin"], jyj.id, {"is_legal_entity": False})
    assert not (await Unit.get(id=jyj.id)).is_legal_entity


async def test_http_refusal_names_the_accounts_and_is_audited(
    app, sender, demo_units, gjj_accounts
):
    unit = demo_units["QY-GJJ"]
    admin = await login_as(app, sender, "admin")
    last = (await AuditRecord.all().order_by("-id").first()).id
    r = await admin.patch(
        f"/api/units/{unit.id}", json={"is_internal": True, "is_legal_entity": False}
    )
    assert r.status_code == 409
    error = (await r.get_json())["error"]
    assert error["code"] == "unit_has_accounts"
    assert "微信公众号「清源公积金」" in error["message"]
    assert error["details"]["accounts"] == ["微信公众号「清源公积金」", "微博「清源公积金微博」"]
    assert not (await Unit.get(id=unit.id)).is_internal
    [rec] = await AuditRecord.filter(id__gt=last)
    assert rec.outcome == "rejected" and rec.actor_name == "王建国"
