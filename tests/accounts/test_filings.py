"""The register's rules and the filing approval chains (RULES.md section 1)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from accounts import service
from accounts.models import Account, Filing, FilingEvent
from infra.errors import DomainError
from org.access import Actor
from org.auth import actor_for
from org.demo import seed_demo
from org.models import AuditRecord, Staff, Unit
from org.service import create_staff, create_unit
from tests.org.conftest import login_as


@pytest.fixture
async def people(deps):
    deps.settings.filing_final_unit_code = "QY-BGS"  # the city government office signs last
    await seed_demo(deps)
    return {s.username: await actor_for(s) for s in await Staff.all().select_related("unit")}


OPEN = {
    "platform": "wechat",
    "name": "清源人社",
    "reason": "发布社保政策，回应群众咨询",
    "certified_subject": "清源市人力资源和社会保障局",
}


async def test_opening_is_approved_level_by_level(deps, people):
    editor, leader, city = people["editor"], people["leader"], people["cityleader"]
    filing = await service.file_opening(deps, editor, OPEN)
    account = await Account.get(id=filing.account_id)
    assert account.status == "applying"
    assert [s["unit_name"] for s in filing.chain] == [
        "清源市人力资源和社会保障局",
        "清源市人民政府办公室",
    ]
    assert [f.id for f in await service.approver_inbox(leader)] == [filing.id]
    assert await service.approver_inbox(city) == []
    with pytest.raises(DomainError) as exc:
        await service.approve_filing(deps, city, filing.id)
    assert exc.value.status == 403 and "人力资源" in exc.value.message

    await service.approve_filing(deps, leader, filing.id, "同意")
    assert (await Account.get(id=account.id)).status == "applying"  # not yet: one more level
    assert [f.id for f in await service.approver_inbox(city)] == [filing.id]
    await service.approve_filing(deps, city, filing.id, "同意开设")
    account = await Account.get(id=account.id)
    assert account.status == "active" and account.opened_on == deps.clock.today()
    events = await FilingEvent.filter(filing_id=filing.id).order_by("id")
    assert [e.action for e in events] == ["submitted", "approved", "approved"]
    assert await AuditRecord.filter(action="account.open", object_id=str(account.id)).exists()
    with pytest.raises(DomainError):
        await service.approve_filing(deps, city, filing.id)  # already decided


async def test_second_account_on_a_platform_is_refused_naming_the_first(deps, people):
    await service.file_opening(deps, people["editor"], OPEN)
    with pytest.raises(DomainError) as exc:
        await service.file_opening(deps, people["editor"], {**OPEN, "name": "清源社保"})
    assert exc.value.status == 409 and "清源人社" in exc.value.message
    assert await Account.filter(name="清源社保").count() == 0
    # Another platform is fine.
    await service.file_opening(deps, people["editor"], {**OPEN, "platform": "weibo"})


async def test_concurrent_registrations_only_one_wins(deps, people):
    results = await asyncio.gather(
        *[
            service.file_opening(deps, people["editor"], {**OPEN, "name": f"账号{i}"})
            for i in range(4)
        ],
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, Filing)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(losses) == 3, results
    assert all(e.status == 409 for e in losses)
    unit = await Unit.get(code="QY-RSJ")
    assert await Account.filter(unit_id=unit.id, platform="wechat").count() == 1


async def _editor_in(deps, unit: Unit, username: str) -> Actor:
    staff = await create_staff(
        deps,
        Actor.system(),
        {
            "username": username,
            "real_name": "测试编辑",
            "mobile": "13700000000",
            "unit_id": unit.id,
            "roles": ["editor"],
            "password": "Strong2026x",
        },
    )
    return await actor_for(await Staff.get(id=staff.id).select_related("unit"))


async def test_internal_section_owns_no_account(deps, people):
    editor = await _editor_in(deps, await Unit.get(code="QY-RSJ-BGS"), "sectioneditor")
    with pytest.raises(DomainError) as exc:
        await service.file_opening(deps, editor, OPEN)
    assert exc.value.code == "internal_section" and "内设机构" in exc.value.message
    assert await Account.all().count() == 0


async def test_non_legal_entity_is_told_to_use_parent_account(deps, people):
    rsj = await Unit.get(code="QY-RSJ")
    unit = await create_unit(
        deps,
        Actor.system(),
        {
            "code": "QY-RSJ-JYZX",
            "name": "市就业服务中心",
            "kind": "other",
            "parent_id": rsj.id,
            "is_legal_entity": False,
        },
    )
    editor = await _editor_in(deps, unit, "centreeditor")
    with pytest.raises(DomainError) as exc:
        await service.file_opening(deps, editor, OPEN)
    assert (
        exc.value.code == "use_parent_account" and "清源市人力资源和社会保障局" in exc.value.message
    )


async def test_rejection_ends_the_request_and_frees_the_place(deps, people):
    filing = await service.file_opening(deps, people["editor"], OPEN)
    with pytest.raises(DomainError) as exc:
        await service.reject_filing(deps, people["leader"], filing.id, "  ")
    assert exc.value.code == "missing_field"
    await service.reject_filing(deps, people["leader"], filing.id, "名称不规范，请使用单位全称")
    assert (await Account.get(id=filing.account_id)).status == "cancelled"
    _, events = await service.get_filing(people["editor"], filing.id)
    assert events[-1].action == "rejected" and "名称不规范" in events[-1].comment
    await service.file_opening(deps, people["editor"], OPEN)  # the place is free again


async def test_nobody_approves_their_own_request(deps, people):
    rsj = await Unit.get(code="QY-RSJ")
    both = await create_staff(
        deps,
        Actor.system(),
        {
            "username": "chief",
            "real_name": "兼职",
            "mobile": "13700000001",
            "unit_id": rsj.id,
            "roles": ["editor", "leader"],
            "password": "Strong2026x",
        },
    )
    chief = await actor_for(await Staff.get(id=both.id).select_related("unit"))
    filing = await service.file_opening(deps, chief, OPEN)
    with pytest.raises(DomainError) as exc:
        await service.approve_filing(deps, chief, filing.id)
    assert exc.value.status == 403 and "自己" in exc.value.message
    await service.approve_filing(deps, people["leader"], filing.id)  # another leader may


async def _active(deps, people, **extra) -> Account:
    filing = await service.file_opening(deps, people["editor"], {**OPEN, **extra})
    await service.approve_filing(deps, people["leader"], filing.id)
    await service.approve_filing(deps, people["cityleader"], filing.id)
    return await Account.get(id=filing.account_id)


async def test_change_applies_only_at_last_approval(deps, people):
    account = await _active(deps, people)
    filing = await service.file_request(
        deps,
        people["editor"],
        account.id,
        "change",
        {"reason": "机构更名", "changes": {"name": "清源人社发布"}},
    )
    assert (await Account.get(id=account.id)).status == "changing"
    with pytest.raises(DomainError) as exc:  # one request at a time
        await service.file_request(deps, people["editor"], account.id, "close", {"reason": "x"})
    assert exc.value.status == 409 and "变更中" in exc.value.message
    await service.approve_filing(deps, people["leader"], filing.id)
    assert (await Account.get(id=account.id)).name == "清源人社"
    await service.approve_filing(deps, people["cityleader"], filing.id)
    account = await Account.get(id=account.id)
    assert account.name == "清源人社发布" and account.status == "active"


async def test_closing_frees_the_platform(deps, people):
    account = await _active(deps, people)
    filing = await service.file_request(
        deps, people["editor"], account.id, "close", {"reason": "职能调整，停止运营"}
    )
    await service.approve_filing(deps, people["leader"], filing.id)
    await service.approve_filing(deps, people["cityleader"], filing.id)
    account = await Account.get(id=account.id)
    assert account.status == "closed" and account.live_slot is None
    await service.file_opening(deps, people["editor"], OPEN)


async def test_checks_report_name_and_subject_mismatch(deps, people):
    wechat = await _active(deps, people)
    await _active(
        deps,
        people,
        platform="weibo",
        name="清源市人社局",
        certified_subject="清源市某某文化传媒有限公司",
    )
    warnings = await service.account_warnings(wechat)
    assert any("名称不一致" in w for w in warnings)
    weibo = await Account.get(platform="weibo")
    assert any("认证主体" in w for w in await service.account_warnings(weibo))
    assert not any("认证主体" in w for w in warnings)
    # The register's list computes the same warnings in one query for all accounts.
    listed = {a.id: w for a, w in await service.list_accounts(people["supervisor"], {})}
    assert listed[wechat.id] == warnings and listed[weibo.id] == await service.account_warnings(
        weibo
    )
    flagged = await service.list_accounts(people["supervisor"], {"warnings": "1"})
    assert {a.id for a, _ in flagged} == {wechat.id, weibo.id}


async def test_credentials_are_encrypted_and_never_returned(app, deps, people, sender, caplog):
    caplog.set_level(logging.DEBUG)
    account = await _active(deps, people)
    editor = await login_as(app, sender, "editor")
    secret = "s3cr3t-app-secret-value"
    creds = {
        "app_id": "wx1234567890",
        "app_secret": secret,
        "token": "tok-en",
        "mode": "safe",
        "aes_key": "a" * 43,
    }
    r = await editor.client.put(
        f"/api/accounts/{account.id}/credentials", json=creds, headers={"X-CSRF-Token": editor.csrf}
    )
    assert r.status_code == 200 and secret not in (await r.get_data()).decode()
    stored = await Account.get(id=account.id)
    assert stored.credentials and secret not in stored.credentials
    assert (await service.read_credentials(deps, stored))["app_secret"] == secret
    body = (await (await editor.get(f"/api/accounts/{account.id}")).get_data()).decode()
    assert secret not in body and '"has_credentials": true' in body.replace('":true', '": true')
    assert secret not in caplog.text
    assert not await AuditRecord.filter(summary__contains=secret).exists()
    r = await editor.client.put(
        f"/api/accounts/{account.id}/credentials",
        json={**creds, "mode": "safe", "aes_key": "short"},
        headers={"X-CSRF-Token": editor.csrf},
    )
    assert r.status_code == 400


async def test_api_flow_and_visibility(app, deps, people, sender):
    editor = await login_as(app, sender, "editor")
    r = await editor.post("/api/filings", json=OPEN)
    assert r.status_code == 201
    fid = (await r.get_json())["id"]
    r = await editor.post("/api/filings", json=OPEN)
    assert r.status_code == 409 and "清源人社" in (await r.get_json())["error"]["message"]
    leader = await login_as(app, sender, "leader")
    inbox = await (await leader.get("/api/filings?inbox=1")).get_json()
    assert [f["id"] for f in inbox] == [fid]
    assert (await leader.post(f"/api/filings/{fid}/approve", json={})).status_code == 200
    city = await login_as(app, sender, "cityleader")
    assert (await city.post(f"/api/filings/{fid}/approve", json={})).status_code == 200
    detail = await (await editor.get(f"/api/filings/{fid}")).get_json()
    assert detail["status"] == "approved" and len(detail["timeline"]) == 3
    # Another county's admin does not see the city department's account.
    hx = await login_as(app, sender, "hxadmin")
    assert await (await hx.get("/api/accounts")).get_json() == []
    sup = await login_as(app, sender, "supervisor")
    accounts = await (await sup.get("/api/accounts")).get_json()
    assert [a["status"] for a in accounts] == ["active"]
    assert (await sup.post("/api/filings", json=OPEN)).status_code == 403


async def test_the_approval_page_shows_what_is_approved_and_leaders_list_it(
    app, deps, people, sender
):
    """Issue 13 items 10 and 12: the page names the platform, the account and its ID, the
    certified subject and, for a change, each field before and after; the city leader's
    全部申请 lists what waits for them (it was empty while 待我审批 said 1)."""
    import html
    import re

    account = await _active(deps, people, handle="qy_rsj")
    filing = await service.file_request(
        deps,
        people["editor"],
        account.id,
        "change",
        {
            "reason": "机构更名",
            "changes": {"name": "清源人社发布", "certified_subject": "清源市人社局"},
        },
    )
    await service.approve_filing(deps, people["leader"], filing.id)
    city = await login_as(app, sender, "cityleader")

    async def read(url):
        body = (await (await city.get(url)).get_data()).decode()
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))

    page = await read(f"/console/filings/{filing.id}")
    for shown in ("微信公众号", "清源人社", "qy_rsj", "清源市人力资源和社会保障局", "李晓梅"):
        assert shown in page, shown
    assert "账号名称 清源人社 清源人社发布" in page
    assert "认证主体 清源市人力资源和社会保障局 清源市人社局" in page
    listing = await read("/console/filings")
    mine = listing[listing.index("全部申请") :]
    assert f"#{filing.id}" in mine and "待我审批（1）" in listing
    await service.approve_filing(deps, people["cityleader"], filing.id)
    page = await read(f"/console/filings/{filing.id}")  # after: the values it had
    assert "账号名称 清源人社 清源人社发布" in page


async def test_each_approver_is_told_by_sms_when_a_request_reaches_them(deps, people, sender):
    """Issue 13 item 8: the unit's leader when the editor files, the city leader after that."""
    sender.sent.clear()
    filing = await service.file_opening(deps, people["editor"], OPEN)
    [(mobile, body)] = sender.sent
    assert mobile == "13800000005" and f"开设账号申请#{filing.id}" in body
    assert "微信公众号「清源人社」" in body and "待您审批" in body
    await service.approve_filing(deps, people["leader"], filing.id)
    assert sender.sent[-1][0] == "13800000006" and len(sender.sent) == 2
    await service.approve_filing(deps, people["cityleader"], filing.id)
    assert len(sender.sent) == 2  # approved: nobody else to tell
