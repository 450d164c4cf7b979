"""Drafts and their review before publishing (先审后发; RULES.md section 1, issue 14).

An editor of a unit writes (or reposts) for one or more of the unit's live accounts; submitting
screens the text for ads (accounts.screening) and for wrong and sensitive wording
(publishing.wording, 错敏词), both by the lists admins keep; a reviewer who neither wrote
nor edited the draft approves it or returns it with a reason. A finding blocks approval until a
reviewer accepts it as intended, with a note; screening runs again at approval. Every step is on
the draft's timeline (each written version kept whole) and in the audit log. A draft can be
withdrawn at any point before publishing starts.

Scheduling the approved draft and the publishers that carry it out come next (issue 14).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from accounts.models import LIVE_STATUSES, Account, AdRule
from accounts.posts import parse_time
from accounts.screening import KINDS as AD_KINDS
from accounts.screening import screen_text
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Staff
from publishing.models import DRAFT_STATUSES, Draft, DraftEvent, Publication, RepostTask
from publishing.runner import cancel_draft_publications, item_of, place_draft
from publishing.sources import whitelisted
from publishing.wording import KINDS as WORDING_KINDS
from publishing.wording import check_wording
from publishing.wording_rules import active_wording_rules

# Statuses in which the text may change (a returned draft is edited, then submitted again).
EDITABLE = ("draft", "returned")
# Who reads the drafts of their units (the console shows its links to them alone).
READERS = ("editor", "reviewer", "leader", "supervisor")
BEFORE_PUBLISHING = ("draft", "submitted", "returned", "approved", "scheduled", "failed")
MAX_TITLE = 64  # WeChat's limit for an article title; the strictest of the platforms
MAX_BODY = 20000
# Accounts a draft may go to: live, and neither still being applied for nor being closed.
PUBLISHABLE = tuple(sorted(set(LIVE_STATUSES) - {"applying", "closing"}))


def draft_view(d: Draft) -> dict[str, Any]:
    return {
        "id": d.id,
        "unit_id": d.unit_id,  # type: ignore[attr-defined]
        "account_ids": list(d.account_ids),
        "title": d.title,
        "body": d.body,
        "cover_url": d.cover_url,
        "is_repost": d.is_repost,
        "source_name": d.source_name,
        "source_url": d.source_url,
        "lead": d.lead,
        "status": d.status,
        "status_label": DRAFT_STATUSES.get(d.status, d.status),
        "version": d.version,
        "findings": d.findings,
        "accepted": d.accepted,
        "blocking": blocking_findings(d),
        "scheduled_at": d.scheduled_at.isoformat() if d.scheduled_at else None,
        "return_reason": d.return_reason,
        "created_by_id": d.created_by_id,  # type: ignore[attr-defined]
        "reviewed_by_id": d.reviewed_by_id,  # type: ignore[attr-defined]
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
    }


def event_view(e: DraftEvent) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "actor_name": e.actor_name,
        "action": e.action,
        "version": e.version,
        "note": e.note,
    }


def _snapshot(d: Draft) -> dict[str, Any]:
    keys = ("account_ids", "title", "body", "cover_url", "is_repost", "source_name", "source_url")
    return {k: getattr(d, k) for k in (*keys, "lead")}


def _key(finding: dict[str, Any]) -> str:
    parts = ("check", "kind", "pattern", "where")
    return "|".join(str(finding.get(k, "")) for k in parts)


def blocking_findings(d: Draft) -> list[dict[str, Any]]:
    """Findings of the current screening that no reviewer has accepted yet."""
    accepted = {a["finding"] for a in d.accepted}
    return [f for f in d.findings if _key(f) not in accepted]


# ------------------------------------------------------------------ who may do what


async def _load(actor: Actor, draft_id: Any) -> Draft:
    draft = await Draft.filter(id=as_id(draft_id, "稿件")).select_related("unit").first()
    if draft is None or not actor.reads_unit(draft.unit.path):
        raise NotFound("稿件")
    return draft


def _require_editor(actor: Actor, draft_unit_id: int | None) -> None:
    if not actor.has("editor") or actor.unit_id is None:
        raise Forbidden("只有编辑可以撰写和修改稿件")
    if draft_unit_id is not None and draft_unit_id != actor.unit_id:
        raise Forbidden("只能处理本单位的稿件")


async def writers_of(draft: Draft) -> set[int]:
    """Everyone who wrote or edited the draft: none of them may approve it (先审后发)."""
    ids = await DraftEvent.filter(draft_id=draft.id, action__in=("create", "edit")).values_list(
        "actor_id", flat=True
    )
    return {i for i in ids if i is not None}


async def _require_reviewer(actor: Actor, draft: Draft) -> None:
    own = actor.has("reviewer") and actor.unit_id == draft.unit_id  # type: ignore[attr-defined]
    above = actor.has("leader") and draft.unit.path.startswith(actor.unit_path)
    if not (own or above):
        raise Forbidden("只有本单位审核员或上级领导可以审核稿件")
    if actor.staff_id in await writers_of(draft):
        raise Forbidden("不得审核本人撰写或修改过的稿件（先审后发）", code="self_review")


def _require_status(draft: Draft, *allowed: str) -> None:
    if draft.status not in allowed:
        label = DRAFT_STATUSES.get(draft.status, draft.status)
        raise Conflict("bad_status", f"稿件当前为「{label}」，不能进行此操作")


# ------------------------------------------------------------------ fields


async def _accounts(actor: Actor, data: dict[str, Any]) -> list[int]:
    raw = data.get("account_ids")
    if not isinstance(raw, list) or not raw:
        raise DomainError("missing_field", "请选择发布账号（可多选）", field="account_ids")
    ids = sorted({as_id(v, "账号") for v in raw})
    rows = await Account.filter(id__in=ids)
    found = {a.id: a for a in rows}
    for i in ids:
        account = found.get(i)
        if account is None or account.unit_id != actor.unit_id:  # type: ignore[attr-defined]
            raise DomainError("bad_field", "只能发布到本单位的账号", field="account_ids")
        if account.status not in PUBLISHABLE:
            raise DomainError(
                "bad_field", f"账号「{account.name}」当前不能发布", field="account_ids"
            )
    return ids


def _url(data: dict[str, Any], key: str, label: str, *, required: bool = False) -> str:
    value = text_field(data, key, label, required=required, max_len=1000)
    if value and not value.lower().startswith(("http://", "https://")):
        raise DomainError("bad_field", f"{label}应以 http:// 或 https:// 开头", field=key)
    return value


async def _fields(
    actor: Actor, data: dict[str, Any], *, task: RepostTask | None = None
) -> dict[str, Any]:
    if task is not None:  # a repost of a task's item: its source, link and title as published
        data = {
            **data,
            "is_repost": True,
            "source_name": task.source.name,
            "source_url": task.link,
            "title": task.title[:MAX_TITLE],
        }
    is_repost = data.get("is_repost") in (True, "1", "true", "on")
    fields = {
        "account_ids": await _accounts(actor, data),
        "title": text_field(data, "title", "标题", max_len=MAX_TITLE),
        "body": text_field(data, "body", "正文", max_len=MAX_BODY),
        "cover_url": _url(data, "cover_url", "封面图片地址"),
        "is_repost": is_repost,
        "source_name": text_field(data, "source_name", "来源", required=is_repost, max_len=100),
        "source_url": _url(data, "source_url", "来源链接", required=is_repost),
        "lead": text_field(data, "lead", "编者按", required=False, max_len=2000),
    }
    if not is_repost:
        fields.update(source_name="", source_url="", lead="")
    elif await whitelisted(fields["source_name"], fields["source_url"]) is None:
        raise DomainError(
            "not_whitelisted",
            f"「{fields['source_name']}」不在转载来源白名单中，或链接不在其网站上：转载须来自权威来源",
            field="source_name",
        )
    return fields


async def _screen(deps: Deps, d: Draft) -> list[dict[str, Any]]:
    """Ads and wrong or sensitive wording (错敏词), both by the admins' lists, each finding marked
    with the check that raised it."""
    rules = await AdRule.filter(active=True).order_by("id")
    body = "\n".join(x for x in (d.lead, d.body) if x)
    urls = [u for u in (d.source_url, d.cover_url) if u]
    ads = [{**f.to_dict(), "check": "ad"} for f in screen_text(d.title, body, urls, rules)]
    words = await active_wording_rules(deps)
    wording = [{**f.to_dict(), "check": "wording"} for f in check_wording(d.title, body, words)]
    return ads + wording


# ------------------------------------------------------------------ the timeline


async def _event(
    d: Draft, actor: Actor, action: str, now: dt.datetime, note: str = "", *, snap=False
) -> None:
    await DraftEvent.create(
        draft=d,
        at=now,
        actor_id=actor.staff_id,
        actor_name=actor.name,
        action=action,
        version=d.version,
        note=note,
        snapshot=_snapshot(d) if snap else None,
    )


async def _audit(deps: Deps, actor: Actor, action: str, d: Draft, summary: str, **extra) -> None:
    await record_audit(
        actor,
        f"draft.{action}",
        clock=deps.clock,
        object_type="draft",
        object_id=d.id,
        summary=summary,
        after={"status": d.status, "version": d.version, **extra},
    )


async def _move(d: Draft, expected: str | tuple[str, ...], **changes: Any) -> None:
    """Conditional on the status (and version) read: two people acting at once, one wins."""
    statuses = (expected,) if isinstance(expected, str) else expected
    moved = await Draft.filter(id=d.id, status__in=statuses, version=d.version).update(**changes)
    if not moved:
        raise Conflict("changed", "稿件刚被他人修改，请刷新后重试")
    for k, v in changes.items():
        setattr(d, k, v)


# ------------------------------------------------------------------ the steps


async def _task(actor: Actor, task_id: Any) -> RepostTask:
    task = await RepostTask.get_or_none(id=as_id(task_id, "转载任务")).select_related("source")
    if task is None or task.unit_id != actor.unit_id:  # type: ignore[attr-defined]
        raise NotFound("转载任务")
    if task.status != "open":
        raise Conflict("bad_status", "该转载任务已处理")
    return task


async def create_draft(deps: Deps, actor: Actor, data: dict[str, Any]) -> Draft:
    """A new draft; with ``task_id``, the repost of that task's item (source, link and title
    taken from it, the task linked to the draft)."""
    _require_editor(actor, None)
    task = await _task(actor, data["task_id"]) if data.get("task_id") else None
    fields = await _fields(actor, data, task=task)
    now = deps.clock.now()
    async with in_transaction():
        d = await Draft.create(
            **fields,
            unit_id=actor.unit_id,
            status="draft",
            version=1,
            created_by_id=actor.staff_id,
            created_at=now,
            updated_at=now,
        )
        await _event(d, actor, "create", now, snap=True)
        await _audit(deps, actor, "create", d, f"撰写稿件「{d.title}」")
        if task is not None:
            await RepostTask.filter(id=task.id).update(draft_id=d.id)
    return await _load(actor, d.id)


async def edit_draft(deps: Deps, actor: Actor, draft_id: Any, data: dict[str, Any]) -> Draft:
    d = await _load(actor, draft_id)
    _require_editor(actor, d.unit_id)  # type: ignore[attr-defined]
    _require_status(d, *EDITABLE)
    fields = await _fields(actor, data)
    if d.is_repost and fields["title"] != d.title:
        raise DomainError(
            "repost_title", "转载稿件不得修改原标题；可在“编者按”中加说明", field="title"
        )
    now = deps.clock.now()
    async with in_transaction():
        await _move(d, EDITABLE, **fields, version=d.version + 1, status="draft", updated_at=now)
        await _event(d, actor, "edit", now, snap=True)
        await _audit(deps, actor, "edit", d, f"修改稿件「{d.title}」（第{d.version}版）")
    return d


async def submit_draft(deps: Deps, actor: Actor, draft_id: Any) -> Draft:
    """Into review, screened: what the ad lists find is shown to the reviewer."""
    d = await _load(actor, draft_id)
    _require_editor(actor, d.unit_id)  # type: ignore[attr-defined]
    _require_status(d, *EDITABLE)
    findings = await _screen(deps, d)
    now = deps.clock.now()
    async with in_transaction():
        await _move(d, EDITABLE, status="submitted", findings=findings, accepted=[], updated_at=now)
        note = f"筛查发现 {len(findings)} 处疑似问题" if findings else ""
        await _event(d, actor, "submit", now, note)
        await _audit(deps, actor, "submit", d, f"提交审核稿件「{d.title}」", findings=len(findings))
    return d


async def accept_finding(deps: Deps, actor: Actor, draft_id: Any, data: dict[str, Any]) -> Draft:
    """A reviewer looked at a finding and confirms the text is as intended, with a note."""
    d = await _load(actor, draft_id)
    await _require_reviewer(actor, d)
    _require_status(d, "submitted")
    index = data.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(d.findings):
        raise DomainError("bad_field", "请指定要确认的筛查结果", field="index")
    note = text_field(data, "note", "核查意见", max_len=1000)
    finding = d.findings[index]
    now = deps.clock.now()
    accepted = [a for a in d.accepted if a["finding"] != _key(finding)]
    accepted.append(
        {"finding": _key(finding), "note": note, "by": actor.name, "at": now.isoformat()}
    )
    async with in_transaction():
        await _move(d, "submitted", accepted=accepted, updated_at=now)
        await _event(d, actor, "accept", now, f"「{finding.get('evidence', '')}」：{note}")
        await _audit(deps, actor, "accept", d, f"确认稿件「{d.title}」的筛查结果无误：{note}")
    return d


async def review_draft(deps: Deps, actor: Actor, draft_id: Any, data: dict[str, Any]) -> Draft:
    """Approve (screening again: an unaccepted finding blocks) or return with a reason."""
    d = await _load(actor, draft_id)
    await _require_reviewer(actor, d)
    _require_status(d, "submitted")
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise DomainError("bad_field", "请选择通过或退回", field="approve")
    now = deps.clock.now()
    if not approve:
        reason = text_field(data, "reason", "退回理由", max_len=1000)
        async with in_transaction():
            await _move(d, "submitted", status="returned", return_reason=reason, updated_at=now)
            await _event(d, actor, "return", now, reason)
            await _audit(deps, actor, "return", d, f"退回稿件「{d.title}」：{reason}")
        return d
    findings = await _screen(deps, d)  # the lists may have changed since submission
    fresh = {_key(f) for f in findings} - {_key(f) for f in d.findings}
    if fresh:
        d.findings = d.findings + [f for f in findings if _key(f) in fresh]
        await Draft.filter(id=d.id).update(findings=d.findings)
    if blocking := blocking_findings(d):
        quoted = "；".join(f"「{f.get('evidence', '')}」" for f in blocking[:3])
        raise Conflict(
            "findings_open",
            f"稿件有 {len(blocking)} 处筛查结果尚未确认（{quoted}）：请核实后逐条确认，或退回修改",
        )
    async with in_transaction():
        await _move(
            d, "submitted", status="approved", reviewed_by_id=actor.staff_id, updated_at=now
        )
        await _event(d, actor, "approve", now, text_field(data, "note", "审核意见", required=False))
        await _audit(deps, actor, "approve", d, f"审核通过稿件「{d.title}」")
    return d


async def withdraw_draft(deps: Deps, actor: Actor, draft_id: Any, data: dict[str, Any]) -> Draft:
    d = await _load(actor, draft_id)
    _require_editor(actor, d.unit_id)  # type: ignore[attr-defined]
    _require_status(d, *BEFORE_PUBLISHING)
    reason = text_field(data, "reason", "撤回理由", required=False, max_len=1000)
    now = deps.clock.now()
    async with in_transaction():
        await _move(d, BEFORE_PUBLISHING, status="withdrawn", updated_at=now)
        await cancel_draft_publications(d, now)
        await _event(d, actor, "withdraw", now, reason)
        await _audit(deps, actor, "withdraw", d, f"撤回稿件「{d.title}」")
    return d


async def schedule_draft(deps: Deps, actor: Actor, draft_id: Any, data: dict[str, Any]) -> Draft:
    """An approved draft gets its time (Beijing time when none is given); until publishing
    starts it may be moved again."""
    d = await _load(actor, draft_id)
    _require_editor(actor, d.unit_id)  # type: ignore[attr-defined]
    _require_status(d, "approved", "scheduled")
    when = parse_time(data.get("scheduled_at"), "scheduled_at", "发布时间")
    now = deps.clock.now()
    if when < now - dt.timedelta(minutes=1):
        raise DomainError("bad_field", "发布时间不能早于现在", field="scheduled_at")
    async with in_transaction():
        await _move(d, ("approved", "scheduled"), status="scheduled", scheduled_at=when)
        await place_draft(d, when, now)
        await _event(d, actor, "schedule", now, when.isoformat())
        await _audit(deps, actor, "schedule", d, f"稿件「{d.title}」排期发布", at=when.isoformat())
    return d


async def list_drafts(
    actor: Actor, *, status: str = "", limit: int = 50, offset: int = 0
) -> tuple[int, list[Draft]]:
    if not actor.has(*READERS):
        raise Forbidden("只有编辑、审核员、领导和督查人员可以查看稿件")
    qs = actor.scope(Draft.all())
    if status:
        if status not in DRAFT_STATUSES:
            raise DomainError("bad_field", f"未知稿件状态：{status}", field="status")
        qs = qs.filter(status=status)
    total = await qs.count()
    rows = await qs.order_by("-updated_at", "-id").offset(offset).limit(min(limit, 200))
    return total, rows


async def get_draft(actor: Actor, draft_id: Any) -> tuple[Draft, list[DraftEvent]]:
    d = await _load(actor, draft_id)
    return d, await DraftEvent.filter(draft_id=d.id).order_by("id")


# ------------------------------------------------------------------ what the console shows

EVENT_LABELS = {
    "create": "撰写",
    "edit": "修改",
    "submit": "提交审核",
    "accept": "确认筛查结果",
    "approve": "审核通过",
    "return": "退回修改",
    "schedule": "排期发布",
    "withdraw": "撤回",
    "published": "已发布",
    "needs_check": "待核实",
    "manual": "待人工发布",
    "failed": "发布失败",
    "retry": "重新发布",
}
CHECK_LABELS = {"ad": "疑似广告", "wording": "错敏词"}
# Publications nothing more happens to without a person (runner.resolve_publication settles them).
TO_SETTLE = ("needs_check", "manual", "failed")


def preview_html(d: Draft) -> str:
    """The text as readers will see it: the 编者按, the body and the 来源 line, exactly as the
    publishers are given it. ``d`` may be unsaved (the editor's preview)."""
    return item_of(d, None, "preview").html_with_source()  # type: ignore[arg-type]


def findings_view(d: Draft) -> list[dict[str, Any]]:
    """The current screening's findings in order, each with its index (what accept_finding
    takes), labels, and the reviewer's acceptance when there is one."""
    accepted = {a["finding"]: a for a in d.accepted}
    rows = []
    for i, f in enumerate(d.findings):
        check = f.get("check", "ad")
        kinds = WORDING_KINDS if check == "wording" else AD_KINDS
        rows.append(
            {
                **f,
                "index": i,
                "check_label": CHECK_LABELS.get(check, check),
                "kind_label": kinds.get(f.get("kind", ""), f.get("kind", "")),
                "accepted": accepted.get(_key(f)),
            }
        )
    return rows


def require_writer(actor: Actor, d: Draft | None = None) -> None:
    """Refuses anyone but an editor (of the draft's unit): the rule the steps apply."""
    _require_editor(actor, d.unit_id if d is not None else None)  # type: ignore[attr-defined]


def may_write(actor: Actor, d: Draft | None = None) -> bool:
    try:
        require_writer(actor, d)
    except Forbidden:
        return False
    return True


async def open_task(actor: Actor, task_id: Any) -> RepostTask:
    """The open task of the editor's unit a new repost is written from (its source loaded)."""
    _require_editor(actor, None)
    return await _task(actor, task_id)


async def review_refusal(actor: Actor, d: Draft) -> str | None:
    """Why the actor may not review the draft, or None when they may (same rule as the steps)."""
    try:
        await _require_reviewer(actor, d)
    except Forbidden as err:
        return err.message
    return None


def _reviewable(actor: Actor):
    """Submitted drafts the actor reviews by role (own unit; leaders: and below), not yet
    narrowed to those they did not write."""
    qs = Draft.filter(status="submitted")
    if actor.has("leader") and actor.unit_path:
        return qs.filter(unit__path__startswith=actor.unit_path)
    if actor.has("reviewer") and actor.unit_id is not None:
        return qs.filter(unit_id=actor.unit_id)
    return None


async def list_to_review(actor: Actor, *, limit: int = 200) -> list[Draft]:
    """待审核: submitted drafts the actor may review, longest waiting first; never the ones they
    wrote or edited (先审后发)."""
    qs = _reviewable(actor)
    if qs is None or actor.staff_id is None:
        return []
    written = DraftEvent.filter(actor_id=actor.staff_id, action__in=("create", "edit"))
    mine = await written.values_list("draft_id", flat=True)
    if mine:
        qs = qs.exclude(id__in=list(set(mine)))
    return await qs.select_related("unit").order_by("updated_at", "id").limit(limit)


async def count_to_review(actor: Actor) -> int:
    return len(await list_to_review(actor))


async def count_by_status(actor: Actor) -> dict[str, int]:
    """The drafts the actor reads, counted by status."""
    if not actor.has(*READERS):
        return {}
    rows = (
        await actor.scope(Draft.all())
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    )
    return {r["status"]: r["n"] for r in rows}


def _to_settle(actor: Actor):
    """Publications of the actor's unit that wait for a person (editors and leaders settle
    them: runner.resolve_publication)."""
    if not actor.has("editor", "leader") or actor.unit_id is None:
        return None
    return Publication.filter(unit_id=actor.unit_id, status__in=TO_SETTLE)


async def count_to_settle(actor: Actor) -> int:
    qs = _to_settle(actor)
    return await qs.count() if qs is not None else 0


async def list_to_settle(actor: Actor, *, limit: int = 200) -> list[Draft]:
    """Drafts of the actor's unit with a publication to check, publish by hand or give up."""
    qs = _to_settle(actor)
    if qs is None:
        return []
    ids = set(await qs.values_list("draft_id", flat=True))
    if not ids:
        return []
    return await Draft.filter(id__in=list(ids)).order_by("-updated_at", "-id").limit(limit)


async def count_returned(actor: Actor) -> int:
    """Drafts of the editor's unit sent back by a reviewer, waiting to be revised."""
    if not actor.has("editor") or actor.unit_id is None:
        return 0
    return await Draft.filter(unit_id=actor.unit_id, status="returned").count()


async def publishable_accounts(actor: Actor) -> list[Account]:
    """The accounts of the editor's unit a draft may go to (the rule of ``_accounts``)."""
    if actor.unit_id is None:
        return []
    rows = await Account.filter(unit_id=actor.unit_id).order_by("platform", "id")
    return [a for a in rows if a.status in PUBLISHABLE]


async def names_of(rows: list[Draft]) -> tuple[dict[int, Account], dict[int, str]]:
    """The accounts the drafts go to (by id) and the real names of their writers and reviewers."""
    account_ids = {i for d in rows for i in d.account_ids}
    staff_ids = {
        i
        for d in rows
        for i in (d.created_by_id, d.reviewed_by_id)  # type: ignore[attr-defined]
        if i is not None
    }
    accounts = {a.id: a for a in await Account.filter(id__in=list(account_ids))}
    staff = dict(await Staff.filter(id__in=list(staff_ids)).values_list("id", "real_name"))
    return accounts, staff


async def task_of(d: Draft) -> RepostTask | None:
    """The repost task the draft was written for, if any."""
    return await RepostTask.filter(draft_id=d.id).select_related("source").first()
