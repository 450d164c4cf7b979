"""The 错敏词 lists as admins' data (issue 14): seeded once with the starter set, kept by the
admins of the top unit through the API and the console, every change audited, and what the
draft check applies from then on."""

from __future__ import annotations

import pytest

from infra.deps import build_deps
from infra.errors import Conflict
from org.models import AuditRecord
from publishing import drafts
from publishing.models import WordingRule
from publishing.wording import DEMO_LEADERS, STARTER_RULES, check_wording
from publishing.wording_rules import (
    active_wording_rules,
    seed_demo_leaders,
    seed_wording_rules,
)
from tests.org.conftest import login_as

TEXT = {"title": "我市城乡居民医保开始缴费", "body": "即日起可通过“清源人社”公众号缴纳。"}


def found(findings, kind: str | None = None) -> dict[str, str]:
    return {f.found: f.correction for f in findings if kind is None or f.kind == kind}


async def check(deps, body: str):
    return check_wording("", body, await active_wording_rules(deps))


async def put(session, path: str, json: dict):
    return await session.client.put(path, json=json, headers={"X-CSRF-Token": session.csrf})


async def rule_id(kind: str, pattern: str) -> int:
    return (await WordingRule.get(kind=kind, pattern=pattern)).id


# Seeding


async def test_the_starter_set_is_seeded_once_and_a_switched_off_rule_stays_off(db, clock):
    assert await seed_wording_rules(clock) == len(STARTER_RULES)
    assert await WordingRule.filter(builtin=True, active=True).count() == len(STARTER_RULES)
    assert await seed_wording_rules(clock) == 0
    await WordingRule.filter(kind="style", pattern="其它").update(active=False)
    assert await seed_wording_rules(clock) == 0
    assert not (await WordingRule.get(kind="style", pattern="其它")).active
    assert await WordingRule.filter(kind="leader").count() == 0  # no built-in leaders
    assert await seed_demo_leaders(clock) == len(DEMO_LEADERS)
    assert await seed_demo_leaders(clock) == 0
    ranks = await WordingRule.filter(kind="leader").order_by("rank").values_list("pattern", "rank")
    assert ranks == [(r.pattern, i) for i, r in enumerate(DEMO_LEADERS, 1)]


async def test_the_first_check_on_an_empty_database_seeds_the_starter_set(deps):
    assert await WordingRule.all().count() == 0
    findings = await check(deps, "请再接再励，如有其它问题请咨询")
    assert found(findings) == {"再接再励": "再接再厉", "其它": "其他"}
    assert await WordingRule.filter(builtin=True).count() == len(STARTER_RULES)


# The admins' API: adding, editing, switching off and on, each audited


async def test_admins_keep_the_lists_through_the_api_and_every_change_is_audited(
    app, sender, deps, demo_units
):
    admin = await login_as(app, sender, "admin")
    r = await admin.post(
        "/api/wording-rules",
        json={
            "kind": "outdated",
            "pattern": "清源县",
            "correction": "清源区",
            "note": "2025年撤县设区",
        },
    )
    assert r.status_code == 201, await r.get_json()
    added = await r.get_json()
    assert added["kind_label"] == "过时名称" and added["active"] and not added["builtin"]
    rid = added["id"]

    r = await admin.get("/api/wording-rules", query_string={"kind": "outdated"})
    listed = (await r.get_json())["rules"]
    assert "清源县" in {x["pattern"] for x in listed}
    assert all(x["kind"] == "outdated" for x in listed) and len(listed) > 30  # with the starter

    r = await put(
        admin,
        f"/api/wording-rules/{rid}",
        {"pattern": r"清源县(?!志)", "regex": True, "correction": "清源区", "note": "撤县设区"},
    )
    assert r.status_code == 200, await r.get_json()
    assert (await r.get_json())["regex"] is True
    assert found(await check(deps, "清源县人民政府")) == {"清源县": "清源区"}
    assert found(await check(deps, "据清源县志记载")) == {}

    r = await admin.post(f"/api/wording-rules/{rid}/deactivate")
    assert r.status_code == 200 and (await r.get_json())["active"] is False
    assert found(await check(deps, "清源县人民政府")) == {}
    r = await admin.post(f"/api/wording-rules/{rid}/deactivate")
    assert r.status_code == 409
    r = await admin.post(f"/api/wording-rules/{rid}/activate")
    assert r.status_code == 200 and (await r.get_json())["active"] is True
    assert found(await check(deps, "清源县人民政府")) == {"清源县": "清源区"}

    # Switched off by one admin and added again by another: the same row comes back.
    await admin.post(f"/api/wording-rules/{rid}/deactivate")
    r = await admin.post(
        "/api/wording-rules",
        json={"kind": "outdated", "pattern": r"清源县(?!志)", "regex": "1", "correction": "清源区"},
    )
    assert r.status_code == 201 and (await r.get_json())["id"] == rid

    rows = await AuditRecord.filter(object_type="wording_rule", object_id=str(rid)).order_by("id")
    assert [a.action for a in rows] == [
        "wording_rule.create",
        "wording_rule.update",
        "wording_rule.deactivate",
        "wording_rule.activate",
        "wording_rule.deactivate",
        "wording_rule.restore",
    ]
    update = rows[1]
    assert update.actor_name == "王建国" and update.outcome == "ok"
    assert update.before["pattern"] == "清源县" and update.after["pattern"] == r"清源县(?!志)"
    assert "清源县" in update.summary and "过时名称" in update.summary
    assert rows[2].before["active"] is True and rows[2].after["active"] is False


async def test_only_admins_of_the_top_unit_change_the_lists(app, sender, demo_units):
    rule = {"kind": "misuse", "pattern": "帐户", "correction": "账户"}
    for username in ("editor", "reviewer", "hxadmin"):  # hxadmin: a district's admin
        s = await login_as(app, sender, username)
        r = await s.post("/api/wording-rules", json=rule)
        assert r.status_code == 403, (username, await r.get_json())
        assert (await r.get_json())["error"]["message"]
        # Everyone who writes or reviews may read what drafts are checked against.
        r = await s.get("/api/wording-rules")
        assert r.status_code == 200 and (await r.get_json())["rules"]
    editor = await login_as(app, sender, "editor")
    some = await WordingRule.first()
    r = await put(editor, f"/api/wording-rules/{some.id}", {**rule, "kind": some.kind})
    assert r.status_code == 403
    r = await editor.post(f"/api/wording-rules/{some.id}/deactivate")
    assert r.status_code == 403
    assert (await WordingRule.get(id=some.id)).active
    assert not await WordingRule.filter(pattern="帐户").exists()
    assert (await app.test_client().get("/api/wording-rules")).status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "typo", "pattern": "帐户", "correction": "账户"}, "kind", "词库类别应为"),
        ({"kind": "misuse", "pattern": " ", "correction": "账户"}, "pattern", "请填写词语"),
        ({"kind": "misuse", "pattern": "帐户"}, "correction", "请填写正确写法"),
        (
            {"kind": "misuse", "pattern": "帐(户", "regex": True, "correction": "x"},
            "pattern",
            "正则",
        ),
        (
            {"kind": "misuse", "pattern": "帐?", "regex": True, "correction": "x"},
            "pattern",
            "空文本",
        ),
        ({"kind": "misuse", "pattern": "帐" * 501, "correction": "账"}, "pattern", "不能超过"),
        ({"kind": "leader", "pattern": "钟山岳"}, "title", "请填写职务"),
        ({"kind": "leader", "pattern": "钟", "title": "市长"}, "pattern", "2 至 10 个汉字"),
        ({"kind": "leader", "pattern": "钟山岳", "title": "市长", "rank": "第一"}, "rank", "排序"),
        ({"kind": "leader", "pattern": "钟山岳", "title": "市长", "rank": 0}, "rank", "排序"),
    ],
)
async def test_bad_rules_are_refused_in_chinese(app, sender, demo_units, body, field, message):
    admin = await login_as(app, sender, "admin")
    before = await WordingRule.all().count()
    r = await admin.post("/api/wording-rules", json=body)
    error = (await r.get_json())["error"]
    assert r.status_code == 400 and error["details"]["field"] == field, error
    assert message in error["message"], error
    assert await WordingRule.all().count() == before


async def test_duplicates_and_a_change_of_list_are_refused(app, sender, deps, demo_units):
    admin = await login_as(app, sender, "admin")
    await active_wording_rules(deps)  # seeds
    r = await admin.post(
        "/api/wording-rules", json={"kind": "style", "pattern": "其它", "correction": "其他"}
    )
    assert r.status_code == 409 and "已在词库中" in (await r.get_json())["error"]["message"]
    rid = await rule_id("style", "其它")
    r = await put(
        admin, f"/api/wording-rules/{rid}", {"kind": "misuse", "pattern": "其它", "correction": "x"}
    )
    assert r.status_code == 400 and "不能修改" in (await r.get_json())["error"]["message"]
    r = await put(admin, f"/api/wording-rules/{rid}", {"pattern": "再接再励", "correction": "x"})
    assert r.status_code == 200  # another list's word: not a duplicate in this one
    r = await put(admin, "/api/wording-rules/999999", {"pattern": "x", "correction": "y"})
    assert r.status_code == 404


# What the check applies


async def test_a_switched_off_rule_no_longer_flags(app, sender, deps, demo_units):
    """The office's style guide may allow 其它: the admins switch the rule off."""
    text = "如有其它问题，请拨打12345"
    assert found(await check(deps, text)) == {"其它": "其他"}
    admin = await login_as(app, sender, "admin")
    r = await admin.post(f"/api/wording-rules/{await rule_id('style', '其它')}/deactivate")
    assert r.status_code == 200
    assert await check(deps, text) == []
    assert found(await check(deps, "行政机关应当做出决定")) == {"做出": "作出"}  # the other one


async def test_another_process_sees_a_change_through_the_version_in_redis(deps, settings, clock):
    other = build_deps(settings, clock=clock, redis=deps.redis)  # a second web process
    text = "请登陆官网办理"
    assert found(await check(other, text)) == {"登陆": "登录"}
    await WordingRule.create(
        kind="misuse",
        pattern="官网",
        correction="门户网站",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    assert found(await check(other, text)) == {"登陆": "登录"}  # its copy, still current
    await deps.redis.incr("wording:version")  # what a service change announces
    assert found(await check(other, text)) == {"登陆": "登录", "官网": "门户网站"}


async def test_the_leaders_list_decides_names_titles_and_order(
    app, sender, deps, demo_units, clock
):
    await seed_demo_leaders(clock)
    admin = await login_as(app, sender, "admin")

    async def leader_findings(text: str):
        return [f for f in await check(deps, text) if f.kind == "leader"]

    assert await leader_findings("市委副书记、市长赵明主持会议。") == []
    [f] = await leader_findings("市委书记赵明主持会议。")
    assert f.correction == "市委副书记、市长"

    # The mayor changes: the office renames the entry and gives the new title.
    zm = await rule_id("leader", "赵明")
    r = await put(
        admin,
        f"/api/wording-rules/{zm}",
        {"pattern": "韩立新", "title": "市委副书记，代市长", "note": "2027年1月任"},
    )
    assert r.status_code == 200, await r.get_json()
    assert (await r.get_json())["title"] == "市委副书记、代市长"
    assert await leader_findings("市委书记赵明主持会议。") == []  # no longer on the list
    [f] = await leader_findings("市长韩立新主持会议。")
    assert f.pattern == "韩立新" and f.correction == "市委副书记、代市长"
    assert await leader_findings("代市长韩立新主持会议。") == []

    # Order: 葛一帆 (7th) before 钟山岳 (1st) is wrong, until the list says otherwise.
    [f] = await leader_findings("葛一帆、钟山岳出席。")
    assert f.correction == "钟山岳、葛一帆"
    gyf = await rule_id("leader", "葛一帆")
    r = await put(
        admin, f"/api/wording-rules/{gyf}", {"pattern": "葛一帆", "title": "副市长", "rank": 1}
    )
    assert r.status_code == 200 and (await r.get_json())["rank"] == 1
    assert await leader_findings("葛一帆、钟山岳出席。") == []
    order = await WordingRule.filter(kind="leader", active=True).order_by("rank")
    assert [(x.pattern, x.rank) for x in order][:3] == [("葛一帆", 1), ("钟山岳", 2), ("韩立新", 3)]
    audit = await AuditRecord.filter(action="wording_rule.update", object_id=str(gyf)).first()
    assert audit.after["leaders"][:2] == ["葛一帆", "钟山岳"]

    # A leader who left: switched off, no longer known; the others close up.
    r = await admin.post(f"/api/wording-rules/{gyf}/deactivate")
    assert r.status_code == 200
    assert await leader_findings("市长葛一帆出席。") == []
    ranks = await WordingRule.filter(kind="leader", active=True).order_by("rank")
    assert [x.rank for x in ranks] == list(range(1, len(DEMO_LEADERS)))

    # A new leader without a place goes to the end.
    r = await admin.post(
        "/api/wording-rules", json={"kind": "leader", "pattern": "方志远", "title": "副市长"}
    )
    assert r.status_code == 201 and (await r.get_json())["rank"] == len(DEMO_LEADERS)
    [f] = await leader_findings("副市长方志远、市委书记钟山岳出席。")
    assert f.correction == "钟山岳、方志远"


# End to end: a rule added through the API flags a submitted draft


async def test_a_rule_added_through_the_api_flags_a_submitted_draft(app, sender, demo_accounts):
    admin = await login_as(app, sender, "admin")
    r = await admin.post(
        "/api/wording-rules",
        json={
            "kind": "sensitive",
            "pattern": "缴费大户",
            "correction": "缴费较多的参保人",
            "note": "带有攀比意味",
        },
    )
    assert r.status_code == 201, await r.get_json()
    editor = await login_as(app, sender, "editor")
    body = {
        "account_ids": [demo_accounts["rsj"].id],
        "title": TEXT["title"],
        "body": TEXT["body"] + "去年的缴费大户将获表彰。",
    }
    r = await editor.post("/api/drafts", json=body)
    draft_id = (await r.get_json())["id"]
    r = await editor.post(f"/api/drafts/{draft_id}/submit")
    submitted = await r.get_json()
    [finding] = submitted["blocking"]
    assert finding["check"] == "wording" and finding["kind"] == "sensitive"
    assert finding["found"] == "缴费大户" and finding["correction"] == "缴费较多的参保人"
    assert finding["note"] == "带有攀比意味" and "缴费大户将获表彰" in finding["evidence"]

    reviewer = await login_as(app, sender, "reviewer")
    r = await reviewer.post(f"/api/drafts/{draft_id}/review", json={"approve": True})
    assert r.status_code == 409 and "尚未确认" in (await r.get_json())["error"]["message"]
    r = await reviewer.post(
        f"/api/drafts/{draft_id}/accept-finding",
        json={"index": submitted["findings"].index(finding), "note": "引用表彰文件原文，确属原意"},
    )
    assert r.status_code == 200 and (await r.get_json())["blocking"] == []
    r = await reviewer.post(f"/api/drafts/{draft_id}/review", json={"approve": True})
    assert r.status_code == 200 and (await r.get_json())["status"] == "approved"


async def test_a_rule_added_during_review_blocks_approval(deps, actors, demo_accounts):
    """The lists are read again at approval: a rule added after submission still counts."""
    from publishing.wording_rules import add_wording_rule

    d = await drafts.create_draft(
        deps, actors["editor"], {"account_ids": [demo_accounts["rsj"].id], **TEXT}
    )
    d = await drafts.submit_draft(deps, actors["editor"], d.id)
    assert d.findings == []
    await add_wording_rule(
        deps, actors["admin"], {"kind": "misuse", "pattern": "公众号缴纳", "correction": "x"}
    )
    with pytest.raises(Conflict) as exc:
        await drafts.review_draft(deps, actors["reviewer"], d.id, {"approve": True})
    assert "尚未确认" in exc.value.message


# The console page


async def test_the_console_page_lists_each_list_and_admins_change_it(app, sender, demo_units, deps):
    admin = await login_as(app, sender, "admin")
    r = await admin.get("/console/wording?kind=style")
    page = await r.get_data(as_text=True)
    assert r.status_code == 200 and "其它" in page and "添加规则" in page and "/deactivate" in page
    form = {
        "csrf_token": admin.csrf,
        "kind": "leader",
        "pattern": "钟山岳",
        "title": "市委书记",
        "rank": "",
        "note": "",
    }
    r = await admin.client.post("/console/wording", form=form)
    assert r.status_code == 302 and "kind=leader" in r.headers["Location"]
    page = await (await admin.get("/console/wording?kind=leader")).get_data(as_text=True)
    assert "钟山岳" in page and "市委书记" in page and "已加入词库" in page
    rid = await rule_id("leader", "钟山岳")
    r = await admin.client.post(
        f"/console/wording/{rid}",
        form={**form, "title": "市委书记、市人大常委会主任"},
    )
    assert r.status_code == 302
    assert (await WordingRule.get(id=rid)).title == "市委书记、市人大常委会主任"
    r = await admin.client.post(
        f"/console/wording/{rid}/deactivate", form={"csrf_token": admin.csrf, "kind": "leader"}
    )
    assert not (await WordingRule.get(id=rid)).active
    r = await admin.client.post("/console/wording", form={**form, "pattern": "钟"})
    page = await (await admin.get(r.headers["Location"])).get_data(as_text=True)
    assert "2 至 10 个汉字" in page

    editor = await login_as(app, sender, "editor")
    page = await (await editor.get("/console/wording?kind=style")).get_data(as_text=True)
    assert "其它" in page and "添加规则" not in page and "/deactivate" not in page
