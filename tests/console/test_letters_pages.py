"""The letters console pages through the Quart test client: screening, the pending list, the
letter with its actions, the leaders' approvals, supervision and the daily check, and entry on a
citizen's behalf. Asserted on the HTML people see and on what the database holds."""

from __future__ import annotations

import datetime as dt
import html
import re

from knowledge.models import Entry
from letters.models import Extension, InboxOpen, Letter, LetterEvent, LetterUnit, Reply
from letters.routing import accept_letter, instruct_letter
from letters.supervision import record_missed_checks, send_letter_reminders
from tests.letters import conftest as letter_fixtures
from tests.org.conftest import login_as

# The letters tests' fixtures, used here by name.
units = letter_fixtures.units
actors = letter_fixtures.actors
submit = letter_fixtures.submit
handling = letter_fixtures.handling
WRITER = letter_fixtures.WRITER
L = "/console/letters"
REPLY = (
    "您好！灵活就业人员可持身份证到市社保经办窗口登记参加职工养老保险，缴费基数可在规定范围内自选。"
)


def text(body: bytes) -> str:
    """The page as people read it: tags dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", body.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


async def page_of(session, url: str, **params) -> tuple[int, str]:
    resp = await session.get(url, query_string=params or None)
    return resp.status_code, text(await resp.get_data())


async def post_form(session, url: str, form: dict | None = None, *, csrf: bool = True):
    data = {"csrf_token": session.csrf} if csrf else {}
    resp = await session.client.post(url, form={**data, **(form or {})}, follow_redirects=True)
    return resp, text(await resp.get_data())


# ------------------------------------------------------------------ lists and who sees them


async def test_inbox_sorted_by_deadline_with_colours_and_the_daily_check(
    app,
    sender,
    deps,
    units,
    handling,
):
    far = await handling(content="请问公租房申请需要满足哪些条件，在哪里递交材料？")
    soon = await handling(content="请问失业保险金怎么申领，需要准备哪些材料？")
    late = await handling(content="请问社保卡丢了怎么补办，补办要多长时间？")
    today = deps.clock.today()
    await Letter.filter(id=soon.id).update(due_on=today + dt.timedelta(days=2))
    await Letter.filter(id=late.id).update(due_on=today - dt.timedelta(days=3))
    await send_letter_reminders(deps)  # the overdue one goes on the supervision list

    handler = await login_as(app, sender, "handler")
    resp = await handler.get(L)
    body = (await resp.get_data()).decode()
    page = text(body.encode())
    assert resp.status_code == 200 and "待办来信" in page and "共 3 件" in page
    # Soonest deadline first, overdue in red with its badges, ≤3 days in orange.
    assert page.index(f"#{late.id}") < page.index(f"#{soon.id}") < page.index(f"#{far.id}")
    assert '<span class="days overdue">逾期 3 天</span>' in body
    assert '<span class="days soon">剩 2 天</span>' in body
    assert '<span class="days">剩 15 天</span>' in body
    row = page[page.index(f"#{late.id}") : page.index(f"#{soon.id}")]
    assert "逾期" in row and "督办" in row
    # Opening the pending list is the unit's daily check (001 §28).
    assert await InboxOpen.filter(unit_id=units["QY-RSJ"].id, day=today).exists()
    assert "来信" in text(await (await handler.get("/console/")).get_data())

    editor = await login_as(app, sender, "editor")
    status, page = await page_of(editor, L)
    assert status == 403 and "只有办理人、审核员和领导有待办来信" in page
    _, page = await page_of(editor, "/console/")
    assert "来信" not in page
    status, _ = await page_of(editor, f"{L}/{far.id}")
    assert status == 404
    status, page = await page_of(handler, f"{L}/approvals")
    assert status == 403 and "只有领导" in page
    status, page = await page_of(handler, f"{L}/supervision")
    assert status == 403 and "只有督查人员和领导" in page

    supervisor = await login_as(app, sender, "supervisor")
    resp = await supervisor.get(L)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{L}/supervision")


async def test_screening_accepts_and_declines_with_the_proposals(app, sender, deps, units, submit):
    first = await submit(
        "complaint", content="小区门口夜间施工噪音扰民，每天夜里十一点后还在打桩。"
    )
    repeat = await submit(
        "complaint", content="小区门口夜间施工噪音扰民，每天夜里十一点以后还在打桩！"
    )
    ad = await submit("suggestion", content="限时抢购！加微信abc12345领取优惠券，全网最低价。")

    xf = await login_as(app, sender, "xfhandler")
    status, page = await page_of(xf, f"{L}/screening")
    assert status == 200 and "来信甄别" in page and "共 3 件" in page
    assert f"疑似重复来信 与来信 #{first.id}" in page and "疑似广告" in page
    body = (await (await xf.get(f"{L}/screening")).get_data()).decode()
    assert f'href="/console/letters/{first.id}"' in body

    # Bad input: a Chinese error, nothing changed.
    _, page = await post_form(xf, f"{L}/{ad.id}/decline", {"reason": "", "note": "广告"})
    assert "请选择不予受理的理由" in page
    assert (await Letter.get(id=ad.id)).status == "new"
    _, page = await post_form(xf, f"{L}/{first.id}/accept", {"unit_id": "999999"})
    assert "不存在" in page and (await Letter.get(id=first.id)).status == "new"

    _, page = await post_form(xf, f"{L}/{ad.id}/decline", {"reason": "ad", "note": "商业广告"})
    assert f"来信 #{ad.id} 不予受理：含广告内容" in page
    ad = await Letter.get(id=ad.id)
    assert ad.status == "declined" and ad.decline_reason == "ad" and ad.decline_note == "商业广告"
    _, page = await post_form(xf, f"{L}/{repeat.id}/decline", {"reason": "repeat"})
    assert (await Letter.get(id=repeat.id)).repeat_of_id == first.id  # type: ignore[attr-defined]

    _, page = await post_form(xf, f"{L}/{first.id}/accept", {"unit_id": str(units["QY-RSJ"].id)})
    assert f"已受理来信 #{first.id}，交「清源市人力资源和社会保障局」办理" in page
    first = await Letter.get(id=first.id)
    assert first.status == "handling" and first.unit_id == units["QY-RSJ"].id  # type: ignore[attr-defined]
    assert first.due_on == dt.date(2026, 12, 8)

    # The wrong unit's handler: the letter is not theirs to screen.
    other = await submit("complaint", content="菜市场占道经营严重，早晚高峰车辆无法通行。")
    rsj = await login_as(app, sender, "handler")
    _, page = await page_of(rsj, f"{L}/screening")
    assert f"#{other.id}" not in page
    resp, page = await post_form(rsj, f"{L}/{other.id}/accept", {"unit_id": ""})  # noqa: RUF059
    assert "来信不存在" in page and (await Letter.get(id=other.id)).status == "new"


async def test_letters_without_a_title_are_listed_by_their_first_line(
    app, sender, deps, units, actors, submit
):
    # The chat's letters have no title: the citizen's question, then what they added.
    chat = await submit(
        "complaint",
        content="尊敬的领导：\n我家楼下烧烤店每天晚上油烟很大，还吵到半夜，请问该找哪个部门管？"
        "\n地址是清源市幸福路12号，已经持续半年了",
    )
    titled = await submit("complaint", title="菜市场占道经营", content="早晚高峰车辆无法通行。")
    # The writer named in the first line: masked wherever the writer is.
    named = await submit("complaint", content="我是张三丰，电话13812345678，小区路灯坏了三个月")

    xf = await login_as(app, sender, "xfhandler")
    _, page = await page_of(xf, f"{L}/screening")
    assert "（无标题）" not in page and f"#{chat.id} 尊敬的领导" not in page
    assert f"#{chat.id} 我家楼下烧烤店每天晚上油烟很大，还吵到半夜，请问该找哪个部…" in page
    assert f"#{titled.id} 菜市场占道经营" in page
    _, page = await page_of(xf, f"{L}/{chat.id}")
    assert f"来信 #{chat.id}：我家楼下烧烤店每天晚上油烟很大" in page

    await accept_letter(deps, actors["xfhandler"], named.id, {"unit_id": units["QY-RSJ"].id})
    supervisor = await login_as(app, sender, "supervisor")
    _, page = await page_of(supervisor, f"{L}/search", q="路灯")
    assert "我是张**，电话138****5678，小区路灯坏了三个月" in page
    assert "张三丰" not in page and "13812345678" not in page
    handler = await login_as(app, sender, "handler")
    _, page = await page_of(handler, f"{L}/{named.id}")
    assert f"来信 #{named.id}：我是张三丰，电话13812345678，小区路灯坏了三个月" in page


async def test_mayors_mailbox_goes_to_a_leader_who_names_the_units(app, sender, units, submit):
    letter = await submit("mayor", content="建议在河西县增开通往市区的早班公交，方便通勤群众。")
    leader = await login_as(app, sender, "cityleader")
    status, page = await page_of(leader, f"{L}/screening")
    assert status == 200 and "市长信箱来信受理后交领导批示" in page
    _, page = await post_form(leader, f"{L}/{letter.id}/accept", {"note": "请领导阅示"})
    assert "待领导批示" in page
    assert (await Letter.get(id=letter.id)).status == "instructing"

    status, page = await page_of(leader, f"{L}/approvals")
    assert status == 200 and "待批示的市长信箱来信（1）" in page and f"#{letter.id}" in page
    _, page = await post_form(leader, f"{L}/{letter.id}/instruct", {"instruction": "请研究"})
    assert "请指定办理单位" in page
    assert (await Letter.get(id=letter.id)).status == "instructing"
    form = {
        "instruction": "请市人社局牵头研究答复",
        "unit_id": str(units["QY-RSJ"].id),
        "co_unit_ids": str(units["QY-GJJ"].id),
    }
    _, page = await post_form(leader, f"{L}/{letter.id}/instruct", form)
    assert "交「清源市人力资源和社会保障局」主办" in page
    letter = await Letter.get(id=letter.id)
    assert letter.status == "handling" and letter.unit_id == units["QY-RSJ"].id  # type: ignore[attr-defined]
    assert await LetterUnit.filter(letter_id=letter.id, unit_id=units["QY-GJJ"].id).exists()


# ------------------------------------------------------------------ the letter page


async def test_writer_shown_to_the_handling_unit_and_masked_for_others(
    app,
    sender,
    deps,
    units,
    actors,
    submit,
):
    letter = await submit("mayor", channel="web")
    await accept_letter(deps, actors["cityleader"], letter.id, {})
    await instruct_letter(
        deps,
        actors["cityleader"],
        letter.id,
        {"instruction": "请办理", "unit_ids": [units["QY-RSJ"].id, units["QY-GJJ"].id]},
    )
    handler = await login_as(app, sender, "handler")
    status, page = await page_of(handler, f"{L}/{letter.id}")
    assert status == 200 and "张三丰" in page and WRITER["mobile"] in page
    assert "已脱敏" not in page
    assert "领导批示" in page and "交办" in page  # the timeline, newest last
    timeline = page[page.index("办理过程") :]
    assert timeline.index("收到来信") < timeline.index("甄别受理") < timeline.index("领导批示")
    assert "答复来信人" in page and "申请延期" in page and "转办" in page

    for username in ("gjjhandler", "supervisor"):  # a co-handling unit; the supervisor
        session = await login_as(app, sender, username)
        status, page = await page_of(session, f"{L}/{letter.id}")
        assert status == 200, username
        assert WRITER["mobile"] not in page and "张三丰" not in page
        assert "138****5678" in page and "张**" in page and "已脱敏" in page
        assert "答复来信人" not in page and "申请延期" not in page


async def test_reply_reviewed_then_proposed_to_the_knowledge_base(app, sender, deps, handling):
    letter = await handling(content="请问社保卡丢了怎么补办？\n我上周在公交车上丢的，卡里还有钱。")
    handler = await login_as(app, sender, "handler")
    _, page = await page_of(handler, f"{L}/{letter.id}")
    assert "您好！您咨询的问题答复如下" in page  # the consultation template
    _, page = await page_of(handler, f"{L}/{letter.id}", template="complaint")
    assert "您反映的问题我单位已收悉" in page

    # The template alone is refused, and the form comes back as typed.
    template = "您好！您咨询的问题答复如下：\n\n如有疑问，可拨打本单位办事电话咨询。感谢您的关注！"
    resp, page = await post_form(handler, f"{L}/{letter.id}/reply", {"text": template})
    assert resp.status_code == 400 and "答复内容不能只是模板" in page
    resp, page = await post_form(handler, f"{L}/{letter.id}/reply", {"text": ""})
    assert resp.status_code == 400 and "请填写答复内容" in page
    assert not await Reply.filter(letter_id=letter.id).exists()

    _, page = await post_form(handler, f"{L}/{letter.id}/reply", {"text": REPLY + "张三丰先生"})
    assert "答复已提交审核" in page and "审核答复" not in page  # not one's own
    assert (await Letter.get(id=letter.id)).status == "reviewing"

    reviewer = await login_as(app, sender, "reviewer")
    _, page = await page_of(reviewer, f"{L}/{letter.id}")
    assert "审核答复" in page and REPLY in page
    _, page = await post_form(reviewer, f"{L}/{letter.id}/reply/review", {"decision": "reject"})
    assert "请填写审核意见" in page and (await Letter.get(id=letter.id)).status == "reviewing"
    _, page = await post_form(reviewer, f"{L}/{letter.id}/reply/review", {"decision": "approve"})
    assert "答复已审核通过并发送给来信人" in page
    letter = await Letter.get(id=letter.id)
    assert letter.status == "replied"
    assert "转为知识库条目" not in page  # reviewers do not propose entries

    _, page = await page_of(handler, f"{L}/{letter.id}")
    assert "已发送" in page and "转为知识库草稿" in page
    resp, page = await post_form(handler, f"{L}/{letter.id}/kb-entry", {"question": ""})
    [entry] = await Entry.all()
    assert f"已转为知识库条目 #{entry.id}" in page and entry.status == "draft"
    # with no title, the letter's first line (the question the chat could not answer)
    assert entry.question == "请问社保卡丢了怎么补办？"
    assert "张三丰" not in entry.answer and "***" in entry.answer  # the writer's name masked
    body = (await (await handler.get(f"{L}/{letter.id}")).get_data()).decode()
    assert f'href="/console/knowledge/entries/{entry.id}"' in body
    _, page = await post_form(handler, f"{L}/{letter.id}/kb-entry")
    assert "已转为知识库条目" in page and await Entry.all().count() == 1


async def test_extension_requested_then_approved_by_a_leader(app, sender, deps, handling):
    letter = await handling()
    handler = await login_as(app, sender, "handler")
    form = {"days": "20", "reason": "需要现场核查"}
    _, page = await post_form(handler, f"{L}/{letter.id}/extension", form)
    assert "延期天数须在1至15天之间" in page
    _, page = await post_form(
        handler, f"{L}/{letter.id}/extension", {"days": "abc", "reason": "核查"}
    )
    assert "延期天数须为整数" in page
    assert not await Extension.filter(letter_id=letter.id).exists()
    _, page = await post_form(handler, f"{L}/{letter.id}/extension", {**form, "days": "10"})
    assert "已申请延期 10 天，等待领导审批" in page

    leader = await login_as(app, sender, "leader")
    status, page = await page_of(leader, f"{L}/approvals")
    assert status == 200 and "待审批的延期申请（1）" in page and "需要现场核查" in page
    form = {"decision": "reject", "back": "approvals"}
    _, page = await post_form(leader, f"{L}/{letter.id}/extension/decision", form)
    assert "请填写审批意见" in page
    assert (await Extension.get(letter_id=letter.id)).status == "pending"
    form["decision"] = "approve"
    _, page = await post_form(leader, f"{L}/{letter.id}/extension/decision", form)
    assert "已同意延期，新的答复期限 2026-12-18" in page and "待审批的延期申请（0）" in page
    assert (await Letter.get(id=letter.id)).due_on == dt.date(2026, 12, 18)


async def test_transfer_needs_a_reason_and_moves_the_letter(app, sender, units, handling):
    letter = await handling()
    handler = await login_as(app, sender, "handler")
    gjj = str(units["QY-GJJ"].id)
    _, page = await post_form(handler, f"{L}/{letter.id}/transfer", {"unit_id": gjj})
    assert "请填写转办理由" in page
    assert (await Letter.get(id=letter.id)).unit_id == units["QY-RSJ"].id  # type: ignore[attr-defined]
    form = {"unit_id": gjj, "reason": "属公积金业务"}
    _, page = await post_form(handler, f"{L}/{letter.id}/transfer", form)
    assert "已转「清源市住房公积金管理中心」办理" in page and "待办来信" in page
    assert (await Letter.get(id=letter.id)).unit_id == units["QY-GJJ"].id  # type: ignore[attr-defined]


async def test_forms_need_the_csrf_token(app, sender, units, submit):
    letter = await submit("complaint")
    xf = await login_as(app, sender, "xfhandler")
    form = {"unit_id": str(units["QY-RSJ"].id)}
    resp, page = await post_form(xf, f"{L}/{letter.id}/accept", form, csrf=False)
    assert resp.status_code == 403 and "页面已过期或请求来源不明" in page
    resp, _ = await post_form(xf, f"{L}/{letter.id}/accept", {**form, "csrf_token": "forged"})
    assert resp.status_code == 403
    assert (await Letter.get(id=letter.id)).status == "new"


# ------------------------------------------------------------------ supervision and daily check


async def test_supervision_list_notes_and_the_daily_check(
    app,
    sender,
    deps,
    units,
    submit,
    handling,
):
    late = await handling(content="请问灵活就业人员的医保怎么缴纳，每月缴多少钱？")
    await Letter.filter(id=late.id).update(due_on=deps.clock.today() - dt.timedelta(days=4))
    await send_letter_reminders(deps)
    await submit("complaint")  # new at the petitions office, nobody there looks today

    supervisor = await login_as(app, sender, "supervisor")
    status, page = await page_of(supervisor, f"{L}/supervision")
    assert status == 200 and "共 1 件" in page and f"#{late.id}" in page
    assert "清源市人力资源和社会保障局" in page and "4 天" in page
    form = {"text": "", "back": "supervision"}
    _, page = await post_form(supervisor, f"{L}/{late.id}/supervision", form)
    assert "请填写督办意见" in page
    form["text"] = "请于本周内答复来信人"
    _, page = await post_form(supervisor, f"{L}/{late.id}/supervision", form)
    assert "督办意见已记录并通知办理单位" in page and "孙丽：请于本周内答复来信人" in page
    assert await LetterEvent.filter(letter_id=late.id, action="supervised").count() == 1

    handler = await login_as(app, sender, "handler")
    _, page = await post_form(handler, f"{L}/{late.id}/supervision", {"text": "自己督办"})
    assert "此操作需要以下角色之一：督查人员" in page
    await handler.get(L)  # 人社局 opens its pending list today
    day = deps.clock.today()
    assert await record_missed_checks(deps, day) == 1
    status, page = await page_of(supervisor, f"{L}/daily-check")
    assert status == 200 and f"{day.isoformat()}（1 个单位未查看）" in page
    assert "清源市信访局 1 件" in page and "人力资源" not in page.split("未查看）")[-1]
    status, page = await page_of(supervisor, f"{L}/daily-check", since="2026-11-30")
    assert "起始日期不能晚于截止日期" in page and status == 400


# ------------------------------------------------------------------ entry on a citizen's behalf


async def test_staff_enter_a_letter_on_a_citizens_behalf(app, sender, units):
    handler = await login_as(app, sender, "handler")
    status, page = await page_of(handler, f"{L}/new")
    assert status == 200 and "代录来信" in page
    body = (await (await handler.get(f"{L}/new")).get_data()).decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', body).group(1)
    form = {
        "kind": "department",
        "unit_id": str(units["QY-RSJ"].id),
        "title": "退休金调整",
        "content": "",
        "name": "王大爷",
        "mobile": "13912345699",
        "idempotency_key": key,
    }
    resp, page = await post_form(handler, f"{L}/new", form)
    assert resp.status_code == 400 and "请填写来信内容" in page
    assert 'value="王大爷"' in (await resp.get_data()).decode()  # the form as typed
    assert not await Letter.exists()
    form["content"] = "请问今年退休金什么时候调整，调整幅度是多少？"
    _, page = await post_form(handler, f"{L}/new", form)
    [letter] = await Letter.all()
    assert letter.channel == "console" and letter.kind == "department"
    assert "来信已录入，跟踪码" in page and "王大爷" in page and "13912345699" in page
    _, page = await post_form(handler, f"{L}/new", form)  # the same form sent twice
    assert "这封来信已录入过" in page and await Letter.all().count() == 1

    reviewer = await login_as(app, sender, "reviewer")
    status, page = await page_of(reviewer, f"{L}/new")
    assert status == 403 and "只有办理人或领导可以代群众录入来信" in page


async def test_staff_find_a_letter_by_its_tracking_code(app, sender, units, handling, submit):
    """Issue 13 item 12: a code as a citizen reads it out (lower case, no dash) opens the
    letter; another unit's code finds nothing; words search titles and contents."""
    mine = await handling(title="灵活就业参保咨询")
    other = await handling(unit="QY-GJJ", title="公积金提取咨询")
    handler = await login_as(app, sender, "handler")
    code = mine.code.lower()
    resp = await handler.get(f"{L}/search", query_string={"code": f" {code[:5]} {code[5:]} "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{L}/{mine.id}")
    status, page = await page_of(handler, f"{L}/search", code=other.code)
    assert status == 200 and "共 0 件" in page and "公积金提取咨询" not in page
    status, page = await page_of(handler, f"{L}/search", code="ABC")
    assert status == 200 and "跟踪码应为 10 位" in page
    status, page = await page_of(handler, f"{L}/search", q="灵活就业")
    assert "灵活就业参保咨询" in page and f"{mine.code[:5]}-{mine.code[5:]}" in page
    supervisor = await login_as(app, sender, "supervisor")
    status, page = await page_of(supervisor, f"{L}/search", q="咨询")
    assert status == 200 and "共 2 件" in page and "查找" in page
    editor = await login_as(app, sender, "editor")
    assert (await editor.get(f"{L}/search")).status_code == 403


async def test_reviewers_and_approvers_are_told_and_see_their_queues(app, sender, deps, handling):
    """Issue 13 item 8: a reply submitted for review reaches the unit's reviewer by SMS (not
    its text) and the 待审核的答复 queue with its count; an extension request reaches the
    unit's leader; the dashboard shows each person's to-do counts."""
    letter = await handling()
    handler = await login_as(app, sender, "handler")
    sender.sent.clear()
    _, page = await post_form(handler, f"{L}/{letter.id}/reply", {"text": REPLY})
    assert "答复已提交审核" in page
    [(mobile, body)] = sender.sent
    assert mobile == "13800000003"  # 张志强, the unit's reviewer
    assert f"来信#{letter.id}" in body and "待您审核" in body and REPLY[:10] not in body

    reviewer = await login_as(app, sender, "reviewer")
    status, page = await page_of(reviewer, f"{L}/reviews")
    assert status == 200 and "待审核的答复" in page and "共 1 件" in page
    assert f"#{letter.id}" in page and "待审核答复 1" in page
    _, page = await page_of(reviewer, "/console/")
    assert "我的待办" in page and "待审核的答复 1" in page
    _, page = await page_of(handler, "/console/")
    assert "待审核的答复" not in page  # not the handler's to do
    assert (await handler.get(f"{L}/reviews")).status_code == 403

    other = await handling()
    sender.sent.clear()
    form = {"days": "10", "reason": "需要现场核查"}
    _, page = await post_form(handler, f"{L}/{other.id}/extension", form)
    assert "已申请延期 10 天" in page
    [(mobile, body)] = sender.sent
    assert mobile == "13800000005" and "申请延期10天" in body and "待您审批" in body
    leader = await login_as(app, sender, "leader")
    _, page = await page_of(leader, "/console/")
    assert "待审批的延期 1" in page and "待审核的答复 1" in page and "办理中的来信 1" in page
    _, page = await page_of(leader, f"{L}/approvals")
    assert "领导审批 1" in page
