"""Posts of the accounts and their ad screening; the ad rules admins maintain.

002 §11 and 004 §6(五): no commercial ads and no links to ad pages, so every post is screened
when it is recorded and a post with findings waits, flagged, until a reviewer of its unit clears
it or confirms the ad. A confirmed ad is to be taken down: the unit's editors are told by SMS, the
post stays on their to-do list until one of them (or a reviewer) records that it was deleted, and
every step is in the audit log. 000 §14(五) and 002 §11: a repost names its source (注明来源),
so a repost without source name and source URL is refused.

Who may do what: editors of the account's unit add and import posts; reviewers of that unit clear
flagged ones or confirm the ad, except the one who recorded the post (one person may hold both
roles, and 先审后发 means someone else looks); editors and reviewers of the unit record that a
confirmed ad was deleted; whoever reads the unit (its own staff, leaders above it, supervisors)
lists them. Anyone else is told the account does not exist.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from accounts.models import Account, AdRule, Post
from accounts.screening import (
    DEFAULT_RULES,
    KINDS,
    Finding,
    fold,
    normalize_domain,
    screen_text,
)
from accounts.service import get_account
from infra.clock import SHANGHAI
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.spreadsheet import xlsx_rows
from org.access import Actor
from org.audit import record_audit
from org.models import Staff

REVIEW_STATUSES = {
    "ok": "未发现广告",
    "flagged": "疑似广告待核查",
    "cleared": "已核查放行",
    "confirmed": "广告已确认，待删除",
    "removed": "已删除",
}
MAX_NOTE = 1000
MAX_IMPORT_ROWS = 5000
# Clocks of the platforms and of staff computers differ a little; beyond this a "published"
# time in the future is a post that has not been published, and would fake activity.
FUTURE_SLACK = dt.timedelta(minutes=10)


class AddedPost(NamedTuple):
    post: Post
    created: bool  # False: the same external_id was already recorded; this is that post


# ---------------------------------------------------------------- views


def post_view(p: Post) -> dict[str, Any]:
    return {
        "id": p.id,
        "account_id": p.account_id,  # type: ignore[attr-defined]
        "title": p.title,
        "summary": p.summary,
        "url": p.url,
        "published_at": p.published_at.isoformat(),
        "is_repost": p.is_repost,
        "source_name": p.source_name,
        "source_url": p.source_url,
        "review_status": p.review_status,
        "review_status_label": REVIEW_STATUSES.get(p.review_status, p.review_status),
        "findings": list(p.findings or []),
        "external_id": p.external_id,
        "created_at": p.created_at.isoformat(),
        "created_by": p.created_by_id,  # type: ignore[attr-defined]
        "created_by_name": author_name(p),
        "confirmed_by": p.confirmed_by_id,  # type: ignore[attr-defined]
        "confirmed_by_name": staff_name(p, "confirmed_by"),
        "confirmed_at": p.confirmed_at.isoformat() if p.confirmed_at else None,
        "confirm_note": p.confirm_note,
        "removed_by": p.removed_by_id,  # type: ignore[attr-defined]
        "removed_by_name": staff_name(p, "removed_by"),
        "removed_at": p.removed_at.isoformat() if p.removed_at else None,
        "removal_note": p.removal_note,
    }


def staff_name(p: Post, field: str) -> str:
    """The real name of the staff member in ``field`` (created_by, confirmed_by, removed_by) when
    the query fetched it; "" otherwise, and when nobody is recorded there."""
    who = p.__dict__.get(f"_{field}")
    return who.real_name if who is not None else ""


def author_name(p: Post) -> str:
    """Who recorded the post ("" for posts recorded before authors were kept)."""
    return staff_name(p, "created_by")


def ad_rule_view(r: AdRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "kind_label": KINDS.get(r.kind, r.kind),
        "pattern": r.pattern,
        "note": r.note,
        "active": r.active,
        "created_at": r.created_at.isoformat(),
    }


def default_rules_view() -> list[dict[str, Any]]:
    return [
        {"kind": r.kind, "kind_label": KINDS[r.kind], "pattern": r.pattern, "note": r.note}
        for r in DEFAULT_RULES
    ]


def _audit_post(p: Post) -> dict[str, Any]:
    view = post_view(p)
    view.pop("summary")  # can be long; the post itself keeps it
    return view


# ---------------------------------------------------------------- checking a post's fields


def _bad(field: str, message: str, code: str = "bad_field") -> DomainError:
    return DomainError(code, message, field=field)


def _str(
    data: dict[str, Any], key: str, label: str, max_len: int, *, required: bool = False
) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(key, f"{label}格式不正确")
    text = str(value).strip()
    if not text and required:
        raise _bad(key, f"请填写{label}", "missing_field")
    if len(text) > max_len:
        raise _bad(key, f"{label}不能超过{max_len}个字")
    return text


def _http_url(data: dict[str, Any], key: str, label: str, *, required: bool = False) -> str:
    text = _str(data, key, label, 1000, required=required)
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise _bad(key, f"{label}须为以 http:// 或 https:// 开头的完整网址")
    return text


_TRUE = {"是", "true", "yes", "y", "1", "转载", "√"}
_FALSE = {"否", "false", "no", "n", "0", "原创", ""}


def _flag(data: dict[str, Any], key: str, label: str) -> bool:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = fold(str(value)).strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(key, f"{label}应填“是”或“否”")


_LOCAL_DT = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?"
)


def parse_time(value: Any, key: str = "published_at", label: str = "发布时间") -> dt.datetime:
    """ISO 8601, or the forms Excel and people write (2026/11/20 9:30, 2026年11月20日).

    A time without a zone is Beijing time: that is the clock the staff read.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and value.strip():
        text = unicodedata.normalize("NFKC", value).strip().upper()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            m = _LOCAL_DT.fullmatch(text)
            if m is None:
                raise _bad(key, f"{label}格式不正确，应为如 2026-11-20 09:30 的日期时间") from None
            try:
                moment = dt.datetime(*(int(g) for g in m.groups(default="0")))
            except ValueError:
                raise _bad(key, f"{label}不是有效的日期") from None
    elif value in (None, ""):
        raise _bad(key, f"请填写{label}", "missing_field")
    else:
        raise _bad(key, f"{label}格式不正确，应为如 2026-11-20 09:30 的日期时间")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(dt.UTC)


def clean_post(data: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The fields of a new post, checked; raises DomainError naming the field."""
    title = _str(data, "title", "标题", 300, required=True)
    published_at = parse_time(data.get("published_at"))
    if published_at > now + FUTURE_SLACK:
        raise _bad("published_at", "发布时间晚于当前时间：尚未发布的信息不能登记为已发布")
    is_repost = _flag(data, "is_repost", "是否转载")
    source_name = _str(data, "source_name", "来源名称", 100)
    source_url = _http_url(data, "source_url", "来源链接")
    if is_repost and not source_name:
        raise _bad("source_name", "转载信息须注明来源：请填写来源名称", "missing_field")
    if is_repost and not source_url:
        raise _bad("source_url", "转载信息须注明来源：请填写来源链接", "missing_field")
    external_id = _str(data, "external_id", "编号", 128)
    return {
        "title": title,
        "summary": _str(data, "summary", "摘要", 20000),
        "url": _http_url(data, "url", "链接"),
        "published_at": published_at,
        "is_repost": is_repost,
        "source_name": source_name,
        "source_url": source_url,
        "external_id": external_id or None,
    }


def _screen(fields: dict[str, Any], rules: list[AdRule]) -> list[dict[str, str]]:
    body = "\n".join(x for x in (fields["summary"], fields["source_name"]) if x)
    urls = [u for u in (fields["url"], fields["source_url"]) if u]
    return [f.to_dict() for f in screen_text(fields["title"], body, urls, rules)]


async def active_rules() -> list[AdRule]:
    return await AdRule.filter(active=True).order_by("id")


# ---------------------------------------------------------------- scope


async def _account(actor: Actor, account_id: Any) -> Account:
    return await get_account(actor, account_id)


def _require_own_unit(
    actor: Actor, account: Account, role: str | tuple[str, ...], message: str
) -> None:
    actor.require(*((role,) if isinstance(role, str) else role))
    if "system" not in actor.roles and actor.unit_id != account.unit_id:  # type: ignore[attr-defined]
        raise Forbidden(message)


# ---------------------------------------------------------------- posts


async def add_post(deps: Deps, actor: Actor, account_id: Any, data: dict[str, Any]) -> AddedPost:
    """Record a published post, screened for ads. The same external_id twice is one post."""
    account = await _account(actor, account_id)
    _require_own_unit(actor, account, "editor", "只能为本单位的账号登记发布信息")
    now = deps.clock.now()
    fields = clean_post(data, now)
    external_id = fields["external_id"]
    if external_id is not None:
        existing = await Post.get_or_none(account_id=account.id, external_id=external_id)
        if existing is not None:
            return AddedPost(existing, False)
    findings = _screen(fields, await active_rules())
    try:
        async with in_transaction():
            post = await Post.create(
                account=account,
                **fields,
                findings=findings,
                review_status="flagged" if findings else "ok",
                created_at=now,
                created_by_id=actor.staff_id,
            )
            await post.fetch_related("created_by")
            flag = f"，疑似广告 {len(findings)} 处待审核" if findings else ""
            await record_audit(
                actor,
                "post.create",
                clock=deps.clock,
                object_type="post",
                object_id=post.id,
                summary=f"账号「{account.name}」登记发布信息「{post.title}」{flag}",
                after=_audit_post(post),
            )
    except IntegrityError:
        # Two callers with the same external_id at once: the other one won, and it is the post.
        if external_id is not None:
            existing = await Post.get_or_none(account_id=account.id, external_id=external_id)
            if existing is not None:
                return AddedPost(existing, False)
        raise
    return AddedPost(post, True)


async def list_posts(
    actor: Actor,
    account_id: Any,
    flagged_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    status: str = "",
) -> tuple[int, list[Post]]:
    """The account's posts, newest first; ``status`` keeps those of one review status."""
    account = await _account(actor, account_id)
    qs = Post.filter(account_id=account.id)
    if flagged_only:
        qs = qs.filter(review_status="flagged")
    if status:
        if status not in REVIEW_STATUSES:
            names = "、".join(f"{k}（{v}）" for k, v in REVIEW_STATUSES.items())
            raise _bad("status", f"广告核查状态应为：{names}")
        qs = qs.filter(review_status=status)
    total = await qs.count()
    limit = max(1, min(limit, 500))
    rows = (
        await qs.order_by("-published_at", "-id")
        .offset(max(0, offset))
        .limit(limit)
        .select_related("created_by", "confirmed_by", "removed_by")
    )
    return total, rows


async def count_flagged(actor: Actor) -> int:
    """Flagged posts of the reviewer's unit that wait for someone to look at them."""
    if not actor.has("reviewer") or actor.unit_id is None:
        return 0
    return await Post.filter(review_status="flagged", account__unit_id=actor.unit_id).count()


def _to_take_down(actor: Actor):
    return Post.filter(review_status="confirmed", account__unit_id=actor.unit_id)


async def count_to_take_down(actor: Actor) -> int:
    """Confirmed ads of the unit that wait for its editors (or reviewers) to delete them and say
    so."""
    if not actor.has("editor", "reviewer") or actor.unit_id is None:
        return 0
    return await _to_take_down(actor).count()


async def first_to_take_down(actor: Actor) -> int | None:
    """The account of the unit's longest-waiting confirmed ad, for a link to where it is."""
    if not actor.has("editor", "reviewer") or actor.unit_id is None:
        return None
    post = await _to_take_down(actor).order_by("confirmed_at", "id").first()
    return post.account_id if post is not None else None  # type: ignore[attr-defined]


async def _load_post(actor: Actor, post_id: Any) -> Post:
    post = (
        await Post.filter(id=as_id(post_id, "发布信息"))
        .select_related("account__unit", "created_by")
        .first()
    )
    if post is None or not actor.reads_unit(post.account.unit.path):
        raise NotFound("发布信息")
    return post


async def _post_to_review(actor: Actor, post_id: Any) -> Post:
    """A post a reviewer of its account's unit may judge: not one they recorded themselves."""
    post = await _load_post(actor, post_id)
    _require_own_unit(actor, post.account, "reviewer", "只能核查本单位账号的发布信息")
    if actor.staff_id is not None and actor.staff_id == post.created_by_id:  # type: ignore[attr-defined]
        raise Forbidden(
            "不得审核本人录入的发文：先审后发，疑似广告须由录入人以外的审核人员核查",
            code="self_review",
        )
    return post


def _note(value: Any, label: str, missing: str = "") -> str:
    """A free-text note; ``missing`` is the message when it is required and empty."""
    note = value.strip() if isinstance(value, str) else ""
    if not note and missing:
        raise _bad("note", missing, "missing_field")
    if len(note) > MAX_NOTE:
        raise _bad("note", f"{label}不能超过{MAX_NOTE}个字")
    return note


async def clear_post(deps: Deps, actor: Actor, post_id: Any, note: str) -> Post:
    """A reviewer other than the one who recorded it looked at a flagged post and found no ad."""
    post = await _post_to_review(actor, post_id)
    note = _note(note, "核查意见", "请填写核查意见，说明为何不属于商业广告")
    not_flagged = Conflict("not_flagged", "该信息未被标记为疑似广告，无需核查放行")
    if post.review_status != "flagged":
        raise not_flagged
    async with in_transaction():
        # Conditional, so that two reviewers clearing at once leave one record, not two.
        now = deps.clock.now()
        if not await Post.filter(id=post.id, review_status="flagged").update(
            review_status="cleared", cleared_at=now
        ):
            raise not_flagged
        post.review_status, post.cleared_at = "cleared", now
        await record_audit(
            actor,
            "post.clear",
            clock=deps.clock,
            object_type="post",
            object_id=post.id,
            summary=f"核查放行疑似广告「{post.title}」：{note}",
            before={"review_status": "flagged", "findings": post.findings},
            after={"review_status": "cleared", "note": note},
        )
    return post


def _already(post: Post, status: str) -> Conflict:
    label = REVIEW_STATUSES.get(status, status)
    return Conflict("changed", f"「{post.title}」现为“{label}”，无需重复处理，请刷新后查看")


async def confirm_post(
    deps: Deps, actor: Actor, post_id: Any, note: str, *, serious: bool = False
) -> Post:
    """A reviewer other than the one who recorded it found a commercial ad in a flagged post
    (002 §11, 004 §6(五)): the unit is to delete it, and its editors are told by SMS.
    ``serious``: the reviewer judged it a serious content error, which fails the account in
    supervision's scoring (a single veto)."""
    post = await _post_to_review(actor, post_id)
    note = _note(note, "认定意见", "请填写认定意见，说明哪些内容属于商业广告")
    if post.review_status != "flagged":
        raise _already(post, post.review_status)
    now = deps.clock.now()
    async with in_transaction():
        # Conditional: two reviewers acting at once leave one decision and one record.
        if not await Post.filter(id=post.id, review_status="flagged").update(
            review_status="confirmed",
            confirmed_by_id=actor.staff_id,
            confirmed_at=now,
            confirm_note=note,
            serious=serious,
        ):
            current = await Post.filter(id=post.id).values_list("review_status", flat=True)
            raise _already(post, current[0] if current else "confirmed")
        post.review_status, post.confirmed_at, post.confirm_note = "confirmed", now, note
        post.serious = serious
        post.confirmed_by_id = actor.staff_id  # type: ignore[attr-defined]
        await record_audit(
            actor,
            "post.confirm_ad",
            clock=deps.clock,
            object_type="post",
            object_id=post.id,
            summary=f"认定「{post.title}」为商业广告，要求删除：{note}",
            before={"review_status": "flagged", "findings": post.findings},
            after={"review_status": "confirmed", "note": note, "serious": serious},
        )
    await post.fetch_related("confirmed_by")
    await _tell_editors(deps, actor, post)
    return post


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _tell_editors(deps: Deps, actor: Actor, post: Post) -> None:
    """After commit: an SMS to the editors of the account's unit (its leaders when it has none)
    to delete the post. Which account and which post, nothing else: no note, no names."""
    account: Account = post.account
    staff = await Staff.filter(unit_id=account.unit_id, active=True).order_by("id")  # type: ignore[attr-defined]
    editors = [s for s in staff if "editor" in s.roles]
    to = editors or [s for s in staff if "leader" in s.roles]
    body = (
        f"【民声】账号「{_short(account.name, 16)}」的发文「{_short(post.title, 18)}」认定为"
        "商业广告，请立即删除并在系统中登记。"
    )
    for person in to:
        if person.id != actor.staff_id:  # who confirmed it knows
            await deps.notifier.send_notification(person.mobile, body, purpose="post.take_down")


async def mark_post_removed(deps: Deps, actor: Actor, post_id: Any, note: str = "") -> Post:
    """An editor or reviewer of the account's unit records that a confirmed ad was deleted from
    the platform; the note (optional) says when or how."""
    post = await _load_post(actor, post_id)
    _require_own_unit(
        actor, post.account, ("editor", "reviewer"), "只能登记本单位账号发布信息的删除情况"
    )
    note = _note(note, "说明")
    if post.review_status != "confirmed":
        if post.review_status == "removed":
            raise _already(post, "removed")
        raise Conflict("not_confirmed", f"「{post.title}」未被认定为广告，无需登记删除")
    now = deps.clock.now()
    async with in_transaction():
        if not await Post.filter(id=post.id, review_status="confirmed").update(
            review_status="removed",
            removed_by_id=actor.staff_id,
            removed_at=now,
            removal_note=note,
        ):
            raise _already(post, "removed")
        post.review_status, post.removed_at, post.removal_note = "removed", now, note
        post.removed_by_id = actor.staff_id  # type: ignore[attr-defined]
        await record_audit(
            actor,
            "post.mark_removed",
            clock=deps.clock,
            object_type="post",
            object_id=post.id,
            summary=f"登记已删除广告发文「{post.title}」" + (f"：{note}" if note else ""),
            before={"review_status": "confirmed"},
            after={"review_status": "removed", "note": note},
        )
    await post.fetch_related("confirmed_by", "removed_by")
    return post


async def screen_draft(actor: Actor, data: dict[str, Any]) -> list[Finding]:
    """Check a draft before it goes out: the same screening a recorded post gets."""
    title = _str(data, "title", "标题", 300)
    body = _str(data, "body", "正文", 100_000)
    urls = data.get("urls") or []
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise _bad("urls", "链接应为网址列表")
    if len(urls) > 100:
        raise _bad("urls", "链接不能超过100个")
    return screen_text(title, body, urls, await active_rules())


# ---------------------------------------------------------------- import

COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "title"),
    "summary": ("摘要", "内容摘要", "summary"),
    "url": ("链接", "文章链接", "url", "link"),
    "published_at": ("发布时间", "发布日期", "published_at"),
    "is_repost": ("是否转载", "转载", "is_repost"),
    "source_name": ("来源名称", "来源", "source_name", "source"),
    "source_url": ("来源链接", "source_url"),
    "external_id": ("编号", "external_id", "id"),
}
_LABEL = {key: names[0] for key, names in COLUMNS.items()}
_HEADER = {fold(name): key for key, names in COLUMNS.items() for name in names}
REQUIRED_COLUMNS = ("title", "published_at")


def _refuse(message: str, code: str = "bad_file") -> DomainError:
    return DomainError(code, message, field="file")


def _file_kind(filename: str, content: bytes) -> str:
    name = (filename or "").lower().strip()
    if not content:
        raise _refuse("文件是空的")
    # The content decides: a file saved as .xlsx and renamed .csv is still a workbook.
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if content.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise _refuse("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise _refuse("无法识别的文件格式：请上传 CSV（.csv）或 Excel（.xlsx）文件")


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]  # Excel's "Unicode text"
    else:
        # GB18030 is a superset of the GBK that Excel writes on Chinese Windows.
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse("无法识别文件的文字编码：请将 CSV 另存为 UTF-8 或 GBK 编码")


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        yield from enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1)
    except csv.Error as exc:
        raise _refuse(f"CSV 文件格式有误：{exc}") from exc


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | bool):
        return value
    return str(value).strip()


def _header_keys(row: list[Any]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for i, cell in enumerate(row):
        # "标题*" and "标题（必填）" are how templates mark required columns.
        name = re.sub(r"[(（][^)）]*[)）]|[\s*:]", "", fold(str(cell or "")))
        key = _HEADER.get(name)
        if key is None:
            continue
        if key in keys.values():
            raise _refuse(f"表头中“{_LABEL[key]}”列出现了不止一次")
        keys[i] = key
    missing = [_LABEL[k] for k in REQUIRED_COLUMNS if k not in keys.values()]
    if missing:
        raise _refuse(
            f"表头缺少必需的列：{'、'.join(missing)}。第一行应为列名，可用："
            + "、".join(_LABEL.values())
        )
    return keys


def _read_table(filename: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the spreadsheet shows it, the row's fields) for each non-empty data row."""
    rows = xlsx_rows(content) if _file_kind(filename, content) == "xlsx" else _csv_rows(content)
    keys: dict[int, str] | None = None
    table: list[tuple[int, dict[str, Any]]] = []
    for n, raw in rows:
        cells = [_cell(v) for v in raw]
        if not any(c != "" for c in cells):
            continue
        if keys is None:
            keys = _header_keys(cells)
            continue
        if len(table) >= MAX_IMPORT_ROWS:
            raise _refuse(f"文件超过{MAX_IMPORT_ROWS}行，请拆分后分批导入", "too_many_rows")
        table.append((n, {k: cells[i] for i, k in keys.items() if i < len(cells)}))
    if keys is None:
        raise _refuse("文件中没有内容")
    if not table:
        raise _refuse("文件中只有表头，没有可导入的数据行")
    return table


async def _already_recorded(
    account: Account, rows: list[dict[str, Any]]
) -> tuple[set[str], set[tuple[str, dt.datetime]]]:
    ids = [r["external_id"] for r in rows if r["external_id"]]
    known_ids: set[str] = set()
    for i in range(0, len(ids), 500):  # SQLite allows 999 parameters a statement
        known_ids.update(
            await Post.filter(account_id=account.id, external_id__in=ids[i : i + 500]).values_list(
                "external_id", flat=True
            )
        )
    known_posts: set[tuple[str, dt.datetime]] = set()
    times = [r["published_at"] for r in rows if not r["external_id"]]
    if times:
        pairs = await Post.filter(
            account_id=account.id, published_at__gte=min(times), published_at__lte=max(times)
        ).values_list("title", "published_at")
        known_posts = {(t, p.astimezone(dt.UTC)) for t, p in pairs}
    return known_ids, known_posts


async def import_posts(
    deps: Deps, actor: Actor, account_id: Any, filename: str, content: bytes
) -> dict[str, Any]:
    """Import a CSV or XLSX list of posts. Bad rows are reported and skipped, the rest imported
    in one transaction. Rows already recorded (same 编号, or without one the same title and
    publishing time) count as duplicates, so importing the same file twice adds nothing."""
    account = await _account(actor, account_id)
    _require_own_unit(actor, account, "editor", "只能为本单位的账号导入发布信息")
    now = deps.clock.now()
    errors: list[dict[str, Any]] = []
    good: list[dict[str, Any]] = []
    for n, data in _read_table(filename, content):
        try:
            good.append(clean_post(data, now))
        except DomainError as err:
            errors.append({"row": n, "message": err.message})
    known_ids, known_posts = await _already_recorded(account, good)
    rules = await active_rules()
    duplicates = flagged = 0
    new: list[Post] = []
    for fields in good:
        key = (fields["title"], fields["published_at"])
        if fields["external_id"] in known_ids or (not fields["external_id"] and key in known_posts):
            duplicates += 1
            continue
        if fields["external_id"]:
            known_ids.add(fields["external_id"])
        else:
            known_posts.add(key)
        findings = _screen(fields, rules)
        flagged += bool(findings)
        new.append(
            Post(
                account=account,
                **fields,
                findings=findings,
                review_status="flagged" if findings else "ok",
                created_at=now,
                created_by_id=actor.staff_id,
            )
        )
    name = (filename or "")[:200]
    report = {"imported": len(new), "duplicates": duplicates, "flagged": flagged, "errors": errors}
    try:
        async with in_transaction():
            if new:
                await Post.bulk_create(new, batch_size=500)
            await record_audit(
                actor,
                "post.import",
                clock=deps.clock,
                object_type="account",
                object_id=account.id,
                summary=(
                    f"账号「{account.name}」导入发布信息（文件「{name}」）：导入 {len(new)} 条，"
                    f"重复 {duplicates} 条，出错 {len(errors)} 行，疑似广告 {flagged} 条"
                ),
                after={"filename": name, **report, "errors": len(errors)},
            )
    except IntegrityError as exc:
        raise Conflict(
            "import_conflict", "导入时有相同编号的信息同时被登记，请重新导入（已有的会自动跳过）"
        ) from exc
    return report


# ---------------------------------------------------------------- ad rules

PUBLIC_SUFFIXES = {"com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "com.hk"}
# A quantified group that itself contains a quantifier: (a+)+ and friends can take exponential
# time on a crafted post, and posts are screened inside requests.
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[*+}][^()]*\)\s*[*+{]")


def _rule_pattern(kind: str, raw: str) -> str:
    if kind == "word":
        word = fold(raw).strip()
        if len(word) < 2:
            raise _bad("pattern", "广告用语至少2个字，单个字会误判大量正常信息")
        return word
    if kind == "lure":
        if _NESTED_QUANTIFIER.search(raw):
            raise _bad("pattern", "正则表达式含嵌套的重复（如 (a+)+），可能极慢，请改写")
        try:
            rx = re.compile(fold(raw))
        except re.error as exc:
            raise _bad("pattern", f"正则表达式有误：{exc}") from exc
        if rx.search("") is not None:
            raise _bad("pattern", "该正则表达式能匹配空文本，会把所有信息都判为广告")
        return raw.strip()
    domain = normalize_domain(raw)
    if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z0-9\-]{2,63}", domain):
        raise _bad("pattern", "域名格式不正确，应如 example.com")
    if domain in PUBLIC_SUFFIXES:
        raise _bad("pattern", f"“{domain}”是公共后缀，不能整体列为广告域名")
    return domain


async def list_ad_rules(actor: Actor, include_inactive: bool = False) -> list[AdRule]:
    """Staff who write posts may see what will be flagged; changing the lists is for admins."""
    if actor.staff_id is None and "system" not in actor.roles:
        raise Forbidden()
    qs = AdRule.all() if include_inactive else AdRule.filter(active=True)
    return await qs.order_by("kind", "id")


async def add_ad_rule(deps: Deps, actor: Actor, data: dict[str, Any]) -> AdRule:
    actor.require("admin")
    kind = _str(data, "kind", "规则类型", 8, required=True)
    if kind not in KINDS:
        raise _bad("kind", f"规则类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    pattern = _rule_pattern(kind, _str(data, "pattern", "规则内容", 200, required=True))
    note = _str(data, "note", "说明", 200)
    if any(r.kind == kind and r.pattern == pattern for r in DEFAULT_RULES):
        raise Conflict("duplicate_rule", f"“{pattern}”已是内置规则", field="pattern")
    async with in_transaction():
        rule = await AdRule.get_or_none(kind=kind, pattern=pattern)
        if rule is not None and rule.active:
            raise Conflict("duplicate_rule", f"规则“{pattern}”已存在", field="pattern")
        before = ad_rule_view(rule) if rule is not None else None
        if rule is None:
            try:
                rule = await AdRule.create(
                    kind=kind, pattern=pattern, note=note, created_at=deps.clock.now()
                )
            except IntegrityError as exc:
                raise Conflict("duplicate_rule", f"规则“{pattern}”已存在") from exc
        else:
            rule.active = True
            rule.note = note or rule.note
            await rule.save(update_fields=["active", "note"])
        await record_audit(
            actor,
            "ad_rule.create" if before is None else "ad_rule.restore",
            clock=deps.clock,
            object_type="ad_rule",
            object_id=rule.id,
            summary=f"{'新增' if before is None else '恢复'}{KINDS[kind]}规则“{pattern}”",
            before=before,
            after=ad_rule_view(rule),
        )
    return rule


async def remove_ad_rule(deps: Deps, actor: Actor, rule_id: Any) -> AdRule:
    """Rules are deactivated, never deleted: the findings of old posts still name them."""
    actor.require("admin")
    rule = await AdRule.get_or_none(id=as_id(rule_id, "广告规则"))
    if rule is None:
        raise NotFound("广告规则")
    if not rule.active:
        raise Conflict("already_removed", f"规则“{rule.pattern}”已停用")
    before = ad_rule_view(rule)
    async with in_transaction():
        if not await AdRule.filter(id=rule.id, active=True).update(active=False):
            raise Conflict("already_removed", f"规则“{rule.pattern}”已停用")
        rule.active = False
        await record_audit(
            actor,
            "ad_rule.remove",
            clock=deps.clock,
            object_type="ad_rule",
            object_id=rule.id,
            summary=f"停用{KINDS.get(rule.kind, rule.kind)}规则“{rule.pattern}”",
            before=before,
            after=ad_rule_view(rule),
        )
    return rule
