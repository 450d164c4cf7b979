"""Staff login: password policy and hashing, the second factor (TOTP or SMS code), lockout,
console sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from infra.crypto import open_text, seal_text
from infra.deps import Deps
from infra.errors import DomainError, NotFound, Unauthenticated
from infra.notify import mask_mobile
from infra.ratelimit import hit
from org.access import Actor
from org.audit import record_audit
from org.models import ApiToken, Staff, StaffSession

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("dummy-password-1")

CHALLENGE_PREFIX = "login:challenge:"
TOTP_PENDING_PREFIX = "totp:pending:"
TOTP_USED_PREFIX = "totp:used:"
MAX_CODE_TRIES = 5


def check_password_strength(password: str) -> None:
    """000 §31: at least 8 characters, mixing letters and digits."""
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise DomainError("weak_password", "密码至少8位，且须同时包含字母和数字")
    if len(password) > 128:
        raise DomainError("weak_password", "密码不能超过128位")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def actor_for(staff: Staff, ip: str = "", via: str = "session") -> Actor:
    unit = await staff.unit
    return Actor(
        staff_id=staff.id,
        name=staff.real_name,
        roles=frozenset(staff.roles),
        unit_id=unit.id,
        unit_path=unit.path,
        unit_name=unit.name,
        ip=ip,
        via=via,
    )


BAD_CREDENTIALS = "用户名或密码错误"
GHOST_PREFIX = "login:ghost:"
SMS_SENT_PREFIX = "login:sms:"


def is_locked(deps: Deps, staff: Staff) -> bool:
    """Locked after too many failures, until an admin unlocks or the lock's time has passed."""
    if staff.locked_at is None:
        return False
    minutes = deps.settings.login_lock_minutes
    return minutes <= 0 or deps.clock.now() < staff.locked_at + dt.timedelta(minutes=minutes)


def _locked_error(deps: Deps) -> DomainError:
    # The same words for a real account and an unknown name: neither reveals which names exist.
    minutes = deps.settings.login_lock_minutes
    later = (
        f"请 {minutes} 分钟后再试，或联系系统管理员解锁" if minutes > 0 else "请联系系统管理员解锁"
    )
    err = DomainError("account_locked", f"登录失败次数过多，账号已暂时锁定，{later}", status=423)
    err.audited = True  # type: ignore[attr-defined]
    return err


async def _throttle(deps: Deps, username: str, ip: str) -> None:
    """Password tries per client address and per username and minute, counted before the
    (deliberately slow) password check, for known and unknown names alike."""
    s = deps.settings
    name = username.lower()[:64]
    ok_ip = await hit(deps.redis, f"login:ip:{ip}", limit=s.login_ip_per_minute, window_seconds=60)
    ok_user = await hit(
        deps.redis, f"login:user:{name}", limit=s.login_user_per_minute, window_seconds=60
    )
    if not (ok_ip and ok_user):
        # Recorded as a refusal of anonymous traffic by the request's error handling: one
        # audit row per throttled try would let anyone fill the audit log.
        raise DomainError("too_many_attempts", "登录尝试过于频繁，请一分钟后再试", status=429)


async def _count_failure(deps: Deps, staff: Staff, ip: str, why: str) -> DomainError:
    staff.failed_logins += 1
    left = deps.settings.login_max_failures - staff.failed_logins
    if left <= 0 and staff.locked_at is None:
        staff.locked_at = deps.clock.now()
    await staff.save(update_fields=["failed_logins", "locked_at"])
    actor = await actor_for(staff, ip)
    await record_audit(
        actor,
        "auth.login_failed" if staff.locked_at is None else "auth.locked",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary=why + ("；连续失败次数过多，账号已锁定" if staff.locked_at else ""),
        outcome="failed",
    )
    if staff.locked_at is not None:
        return _locked_error(deps)
    if why.startswith("密码"):
        # The caller may be anyone: no count that tells a real account from an unknown name.
        err = DomainError("bad_credentials", BAD_CREDENTIALS, status=401)
    else:
        # Past the password: the caller knows it, and may learn how many tries are left.
        err = DomainError("bad_code", f"验证码错误，再错 {left} 次将锁定账号", status=401)
    err.audited = True  # type: ignore[attr-defined]
    return err


async def _refuse_login(
    deps: Deps, staff: Staff, ip: str, why: str, err: DomainError
) -> DomainError:
    """Record a refused login of a known staff member; the caller raises the error."""
    await record_audit(
        await actor_for(staff, ip),
        "auth.login_failed",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary=why,
        outcome="failed",
    )
    err.audited = True  # type: ignore[attr-defined]
    return err


async def _unknown_user(deps: Deps, username: str, password: str, ip: str) -> DomainError:
    """An unknown name fails and locks like a real account would, so neither the words nor
    the count tell the two apart."""
    _verify(_DUMMY_HASH, password)
    name = username[:64]
    s = deps.settings
    key = GHOST_PREFIX + name.lower()
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=max(s.login_lock_minutes, 1) * 60, nx=True)
        pipe.incr(key)
        _, failures = await pipe.execute()
    await record_audit(
        Actor.anonymous(ip),
        "auth.login_failed",
        clock=deps.clock,
        actor_name=name,
        summary="用户名不存在",
        outcome="failed",
    )
    if int(failures) >= s.login_max_failures:
        return _locked_error(deps)
    err = DomainError("bad_credentials", BAD_CREDENTIALS, status=401)
    err.audited = True  # type: ignore[attr-defined]
    return err


async def start_login(deps: Deps, username: str, password: str, ip: str) -> dict:
    """Step 1: the password. Returns a challenge for the second factor."""
    username = username.strip()
    await _throttle(deps, username, ip)
    staff = await Staff.get_or_none(username=username)
    if staff is None:
        raise await _unknown_user(deps, username, password, ip)
    if staff.locked_at is not None and not is_locked(deps, staff):
        # The lock has run out: a fresh count of failures.
        staff.locked_at, staff.failed_logins = None, 0
        await staff.save(update_fields=["locked_at", "failed_logins"])
    if staff.locked_at is not None:
        _verify(_DUMMY_HASH, password)
        raise await _refuse_login(deps, staff, ip, "账号已锁定", _locked_error(deps))
    if not _verify(staff.password_hash, password):
        raise await _count_failure(deps, staff, ip, "密码错误")
    if not staff.active:
        # Said only to someone who knows the password.
        raise await _refuse_login(
            deps,
            staff,
            ip,
            "账号已停用",
            DomainError("account_disabled", "账号已停用，请联系系统管理员", status=403),
        )
    method = "totp" if staff.totp_secret else "sms"
    challenge = secrets.token_urlsafe(24)
    state = {"staff_id": staff.id, "method": method, "tries": 0}
    if method == "sms":
        state.update((await _sms_code(deps, staff))[0])
    await deps.redis.set(
        CHALLENGE_PREFIX + challenge, json.dumps(state), ex=deps.settings.second_factor_ttl_seconds
    )
    await record_audit(
        await actor_for(staff, ip),
        "auth.password_ok",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary=f"密码正确，等待第二因子（{'动态口令' if method == 'totp' else '短信验证码'}）",
    )
    return {"challenge": challenge, "method": method, "mobile": mask_mobile(staff.mobile)}


async def _sms_code(deps: Deps, staff: Staff) -> tuple[dict, bool]:
    """The code of a login by SMS, and whether it was sent just now. Within the resend gap
    every login of the person, by any path, gets the code already sent: eight logins in a
    minute send one SMS, and the code that arrived still works."""
    key = SMS_SENT_PREFIX + str(staff.id)
    now = deps.clock.now().timestamp()
    gap = deps.settings.sms_code_resend_seconds
    raw = await deps.redis.get(key)
    if raw:
        earlier = json.loads(raw)
        if now - earlier["sent_at"] < gap:
            return earlier, False
    code = f"{secrets.randbelow(10**6):06d}"
    state = {"code_hash": _digest(code), "sent_at": now}
    if not await deps.redis.set(key, json.dumps(state), ex=max(gap, 1), nx=raw is None):
        again = await deps.redis.get(key)  # another login sent one at this very moment
        if again:
            return json.loads(again), False
    await deps.notifier.send_notification(
        staff.mobile,
        f"【民声】您的登录验证码为 {code}，{deps.settings.second_factor_ttl_seconds // 60}"
        "分钟内有效。如非本人操作请忽略。",
        purpose="login_code",
        secret=True,
    )
    return state, True


async def _load_challenge(deps: Deps, challenge: str) -> dict:
    raw = await deps.redis.get(CHALLENGE_PREFIX + (challenge or ""))
    if not raw:
        raise DomainError("challenge_expired", "登录已超时，请重新输入用户名和密码", status=401)
    return json.loads(raw)


async def switch_to_sms(deps: Deps, challenge: str) -> dict:
    """Send a code by SMS: instead of the authenticator, or again (重新发送验证码) once the
    resend gap has passed."""
    state = await _load_challenge(deps, challenge)
    staff = await Staff.get(id=state["staff_id"])
    code, sent = await _sms_code(deps, staff)
    if not sent and state.get("code_hash") == code["code_hash"]:
        gap = deps.settings.sms_code_resend_seconds
        wait = max(1, math.ceil(code["sent_at"] + gap - deps.clock.now().timestamp()))
        raise DomainError("sms_too_soon", f"验证码刚刚已发送，请 {wait} 秒后再重新发送", status=429)
    state.update(code, method="sms")
    ttl = await deps.redis.ttl(CHALLENGE_PREFIX + challenge)
    await deps.redis.set(CHALLENGE_PREFIX + challenge, json.dumps(state), ex=max(ttl, 60))
    return {"challenge": challenge, "method": "sms", "mobile": mask_mobile(staff.mobile)}


async def finish_login(deps: Deps, challenge: str, code: str, ip: str) -> tuple[Staff, str]:
    """Step 2: the second factor. Returns the staff member and a new session token."""
    state = await _load_challenge(deps, challenge)
    staff = await Staff.get(id=state["staff_id"])
    if is_locked(deps, staff):
        await deps.redis.delete(CHALLENGE_PREFIX + challenge)
        raise _locked_error(deps)
    code = (code or "").strip()
    if state["method"] == "totp":
        secret = open_text(deps.settings, staff.totp_secret)
        ok = bool(secret) and pyotp.TOTP(secret).verify(code, valid_window=1)
        # A code seen on a shoulder or in a proxy log must not open a second session.
        ok = ok and bool(
            await deps.redis.set(f"{TOTP_USED_PREFIX}{staff.id}:{code}", 1, nx=True, ex=120)
        )
    else:
        ok = hmac.compare_digest(_digest(code), state.get("code_hash", ""))
    if not ok:
        state["tries"] += 1
        if state["tries"] >= MAX_CODE_TRIES:
            await deps.redis.delete(CHALLENGE_PREFIX + challenge)
        else:
            ttl = await deps.redis.ttl(CHALLENGE_PREFIX + challenge)
            await deps.redis.set(CHALLENGE_PREFIX + challenge, json.dumps(state), ex=max(ttl, 1))
        raise await _count_failure(deps, staff, ip, "第二因子验证码错误")
    await deps.redis.delete(CHALLENGE_PREFIX + challenge)
    staff.failed_logins = 0
    staff.last_login_at = deps.clock.now()
    await staff.save(update_fields=["failed_logins", "last_login_at"])
    token = await _open_session(deps, staff, ip)
    await record_audit(
        await actor_for(staff, ip),
        "auth.login",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary=f"登录成功（{'动态口令' if state['method'] == 'totp' else '短信验证码'}）",
    )
    return staff, token


async def _open_session(deps: Deps, staff: Staff, ip: str) -> str:
    token = secrets.token_urlsafe(32)
    now = deps.clock.now()
    await StaffSession.create(
        token_hash=_digest(token),
        staff=staff,
        csrf_token=secrets.token_urlsafe(24),
        ip=ip[:64],
        created_at=now,
        expires_at=now + dt.timedelta(hours=deps.settings.session_hours),
    )
    return token


async def resolve_session(deps: Deps, token: str) -> StaffSession | None:
    if not token:
        return None
    sess = await StaffSession.get_or_none(token_hash=_digest(token), revoked=False).select_related(
        "staff", "staff__unit"
    )
    if sess is None or sess.expires_at <= deps.clock.now():
        return None
    # A lock stops logins, not the sessions already open: whoever guesses passwords must not be
    # able to end the real person's work.
    if not sess.staff.active:
        return None
    return sess


async def end_session(deps: Deps, actor: Actor, sess: StaffSession) -> None:
    await StaffSession.filter(id=sess.id).update(revoked=True)
    await record_audit(
        actor, "auth.logout", clock=deps.clock, object_type="staff", object_id=actor.staff_id
    )


async def resolve_api_token(deps: Deps, token: str) -> Staff | None:
    tok = await ApiToken.get_or_none(token_hash=_digest(token), revoked_at=None).select_related(
        "staff", "staff__unit"
    )
    now = deps.clock.now()
    if tok is None or not tok.staff.active or _token_expiry(deps, tok) <= now:
        return None
    if tok.last_used_at is None or now - tok.last_used_at > dt.timedelta(minutes=5):
        await ApiToken.filter(id=tok.id).update(last_used_at=now)
    return tok.staff


def _token_expiry(deps: Deps, tok: ApiToken) -> dt.datetime:
    # Tokens made before tokens had an expiry last the default lifetime from their creation.
    return tok.expires_at or tok.created_at + dt.timedelta(days=deps.settings.api_token_days)


def token_view(deps: Deps, tok: ApiToken) -> dict:
    expires = _token_expiry(deps, tok)
    state = "revoked" if tok.revoked_at else "expired" if expires <= deps.clock.now() else "active"
    return {
        "id": tok.id,
        "name": tok.name,
        "prefix": tok.prefix,
        "created_at": tok.created_at.isoformat(),
        "expires_at": expires.isoformat(),
        "last_used_at": tok.last_used_at.isoformat() if tok.last_used_at else None,
        "revoked": tok.revoked_at is not None,
        "state": state,
    }


async def create_api_token(
    deps: Deps, actor: Actor, name: str, days: object = None
) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise DomainError("missing_field", "请填写令牌名称（用途）")
    if days in (None, ""):
        days = deps.settings.api_token_days
    try:
        days = int(days)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise DomainError("bad_field", "有效期须为天数", field="days") from None
    if not 1 <= days <= 365:
        raise DomainError("bad_field", "有效期须在1至365天之间", field="days")
    if actor.via == "token":
        raise DomainError("token_from_token", "不能用API令牌创建新令牌，请在控制台创建", status=403)
    token = "ms_" + secrets.token_urlsafe(32)
    tok = await ApiToken.create(
        staff_id=actor.staff_id,
        name=name[:100],
        prefix=token[:10],
        token_hash=_digest(token),
        created_at=deps.clock.now(),
        expires_at=deps.clock.now() + dt.timedelta(days=days),
    )
    await record_audit(
        actor,
        "token.create",
        clock=deps.clock,
        object_type="api_token",
        object_id=tok.id,
        summary=f"创建API令牌「{tok.name}」（{tok.prefix}…），有效期 {days} 天",
    )
    return tok, token


async def list_api_tokens(actor: Actor) -> list[ApiToken]:
    return await ApiToken.filter(staff_id=actor.staff_id).order_by("-created_at")


async def revoke_api_token(deps: Deps, actor: Actor, token_id: int) -> ApiToken:
    tok = await ApiToken.get_or_none(id=token_id, staff_id=actor.staff_id)
    if tok is None:
        raise NotFound("API令牌")
    if tok.revoked_at is None:
        tok.revoked_at = deps.clock.now()
        await tok.save(update_fields=["revoked_at"])
    await record_audit(
        actor,
        "token.revoke",
        clock=deps.clock,
        object_type="api_token",
        object_id=tok.id,
        summary=f"吊销API令牌「{tok.name}」",
    )
    return tok


async def change_password(
    deps: Deps, actor: Actor, old: str, new: str, keep_session_id: int | None = None
) -> None:
    """The person's other sessions end (whoever else knew the old password is logged out);
    ``keep_session_id``, the session that made the change, stays."""
    staff = await Staff.get(id=actor.staff_id)
    if not _verify(staff.password_hash, old or ""):
        raise DomainError("bad_credentials", "原密码不正确", status=400)
    if old == new:
        raise DomainError("same_password", "新密码不能与原密码相同")
    staff.password_hash = hash_password(new or "")
    staff.password_changed_at = deps.clock.now()
    async with in_transaction():
        await staff.save(update_fields=["password_hash", "password_changed_at"])
        ended = (
            await StaffSession.filter(staff_id=staff.id, revoked=False)
            .exclude(id=keep_session_id or 0)
            .update(revoked=True)
        )
        await record_audit(
            actor,
            "staff.change_password",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary="修改本人密码" + (f"，结束其他 {ended} 个登录会话" if ended else ""),
        )


async def begin_totp_enrolment(deps: Deps, actor: Actor) -> dict:
    """A new secret, held in Redis until the staff member proves their app shows the codes."""
    if actor.staff_id is None:
        raise Unauthenticated()
    staff = await Staff.get(id=actor.staff_id)
    secret = pyotp.random_base32()
    await deps.redis.set(TOTP_PENDING_PREFIX + str(staff.id), secret, ex=600)
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=staff.username, issuer_name=deps.settings.totp_issuer
    )
    return {"secret": secret, "otpauth_uri": uri}


async def confirm_totp_enrolment(deps: Deps, actor: Actor, code: str) -> None:
    key = TOTP_PENDING_PREFIX + str(actor.staff_id)
    secret = await deps.redis.get(key)
    if not secret:
        raise DomainError("totp_expired", "绑定已超时，请重新开始绑定动态口令")
    if not pyotp.TOTP(secret).verify((code or "").strip(), valid_window=1):
        raise DomainError("bad_code", "动态口令不正确，请核对手机时间后重试")
    await deps.redis.set(f"{TOTP_USED_PREFIX}{actor.staff_id}:{code.strip()}", 1, ex=120)
    staff = await Staff.get(id=actor.staff_id)
    staff.totp_secret = seal_text(deps.settings, secret)  # a database dump must not log people in
    await staff.save(update_fields=["totp_secret"])
    await deps.redis.delete(key)
    await record_audit(
        actor,
        "staff.enrol_totp",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary="绑定动态口令",
    )
