"""Demo letters of our own for the demo city: one in each state worth showing - waiting for
screening, for a leader's instruction, in handling, overdue on the supervision list, answered,
and declined as an ad. Also a handler at the petitions office, who screens complaints."""

from __future__ import annotations

import datetime as dt

from infra.deps import Deps
from letters.intake import submit_letter
from letters.models import Letter
from letters.replies import review_reply, write_reply
from letters.routing import accept_letter, decline_letter
from letters.supervision import send_letter_reminders
from org.access import Actor
from org.auth import actor_for
from org.demo import DEMO_PASSWORD
from org.models import Staff, Unit
from org.service import create_staff

XF_HANDLER = ("xfhandler", "吴芳", "13800000010", "QY-XFJ", ["handler"])

# key, kind, channel, title, content, writer (name, mobile, platform id)
DEMO_LETTERS = [
    (
        "demo-complaint",
        "complaint",
        "web",
        "小区门口夜间施工噪音扰民",
        "清源花园东门外的道路施工每天夜里十一点以后还在打桩，已经持续两周，"
        "老人孩子都睡不好，希望有关部门督促施工单位遵守夜间施工规定。",
        ("林小雨", "13912345601", ""),
    ),
    (
        "demo-mayor",
        "mayor",
        "wechat",
        "建议在河西县增开通往市区的早班公交",
        "我每天从河西县东桥镇到市区上班，最早一班公交七点才发车，到单位经常迟到。"
        "建议增开六点半的早班车，方便像我这样的通勤群众。",
        ("", "", "demo-openid-0001"),
    ),
    (
        "demo-consult",
        "consultation",
        "web",
        "灵活就业人员如何参加职工养老保险",
        "我是灵活就业人员，想了解在清源市以个人身份参加职工基本养老保险需要什么材料、"
        "在哪里办理，缴费基数可以怎么选择？",
        ("郑海", "13912345602", ""),
    ),
    (
        "demo-disclosure",
        "disclosure",
        "web",
        "申请公开2026年就业补贴资金使用情况",
        "根据政府信息公开条例，申请公开清源市2026年度就业补贴资金的发放对象类别、"
        "发放金额汇总及资金来源。",
        ("何静", "13912345603", ""),
    ),
    (
        "demo-replied",
        "consultation",
        "web",
        "社保卡丢失后怎么补办",
        "我的社保卡不小心丢了，请问补办需要带什么证件，可以在网上办理吗？",
        ("钱多多", "13912345604", ""),
    ),
    (
        "demo-ad",
        "suggestion",
        "web",
        "",
        "限时抢购！加微信abc12345领取优惠券，全网最低价，扫码立即购买。",
        ("", "13912345605", ""),
    ),
]


async def _actor(username: str) -> Actor:
    return await actor_for(await Staff.get(username=username).select_related("unit"))


async def seed_demo_letters(deps: Deps) -> int:
    """Idempotent: does nothing when the demo letters exist. Returns letters created."""
    if await Letter.filter(idem_key="key:demo-complaint").exists():
        return 0
    system = Actor.system("演示数据")
    username, real_name, mobile, unit_code, roles = XF_HANDLER
    if not await Staff.filter(username=username).exists():
        unit = await Unit.get(code=unit_code)
        await create_staff(
            deps,
            system,
            {
                "username": username,
                "real_name": real_name,
                "mobile": mobile,
                "unit_id": unit.id,
                "roles": roles,
                "password": DEMO_PASSWORD,
            },
        )
    letters = {}
    for key, kind, channel, title, content, (name, mob, puid) in DEMO_LETTERS:
        letter, _ = await submit_letter(
            deps,
            system,
            {
                "idempotency_key": key,
                "kind": kind,
                "channel": channel,
                "title": title,
                "content": content,
                "writer": {"name": name, "mobile": mob, "platform_user_id": puid},
                "consent_publish": key == "demo-replied",
            },
        )
        letters[key] = letter
    rsj = await Unit.get(code="QY-RSJ")
    xf = await _actor("xfhandler")
    await accept_letter(deps, await _actor("cityleader"), letters["demo-mayor"].id, {})
    for key in ("demo-consult", "demo-disclosure", "demo-replied"):
        await accept_letter(deps, xf, letters[key].id, {"unit_id": rsj.id})
    await decline_letter(deps, xf, letters["demo-ad"].id, {"reason": "ad", "note": "商业广告"})
    handler, reviewer = await _actor("handler"), await _actor("reviewer")
    await write_reply(
        deps,
        handler,
        letters["demo-replied"].id,
        {
            "text": "您好！补办社保卡请携带本人身份证到市人社局服务大厅或合作银行网点办理，"
            "也可通过“清源人社”公众号在线申请补卡，制卡完成后邮寄到家。"
        },
    )
    await review_reply(deps, reviewer, letters["demo-replied"].id, {"approve": True})
    # The disclosure request ran past its deadline: it goes on the supervision list.
    overdue = deps.clock.today() - dt.timedelta(days=2)
    await Letter.filter(id=letters["demo-disclosure"].id).update(due_on=overdue)
    await send_letter_reminders(deps)
    return len(DEMO_LETTERS)
