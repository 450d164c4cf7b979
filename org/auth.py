"""Staff login: password policy and hashing, the second factor (TOTP or SMS code), lockout,
console sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from infra.crypto import open_text, seal_text
from infra.deps import Deps
from infra.errors import DomainError, NotFound, Unauthenticated
from infra.notify import mask_mobile
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
        err = DomainError(
            "account_locked", "连续登录失败次数过多，账号已锁定，请联系系统管理员解锁", status=423
        )
    elif why.startswith("密码"):
        err = DomainError(
            "bad_credentials", f"用户名或密码错误，再错 {left} 次将锁定账号", status=401
        )
    else:
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


async def start_login(deps: Deps, username: str, password: str, ip: str) -> dict:
    """Step 1: the password. Returns a challenge for the second factor."""
    staff = await Staff.get_or_none(username=username.strip())
    if staff is None:
        _verify(_DUMMY_HASH, password)
        await record_audit(
            Actor.anonymous(ip),
            "auth.login_failed",
            clock=deps.clock,
            actor_name=username.strip()[:64],
            summary="用户名不存在",
            outcome="failed",
        )
        err = DomainError("bad_credentials", "用户名或密码错误", status=401)
        err.audited = True  # type: ignore[attr-defined]
        raise err
    if staff.locked_at is not None:
        raise await _refuse_login(
            deps,
            staff,
            ip,
            "账号已锁定",
            DomainError("account_locked", "账号已锁定，请联系系统管理员解锁", status=423),
        )
    if not staff.active:
        raise await _refuse_login(
            deps,
            staff,
            ip,
            "账号已停用",
            DomainError("account_disabled", "账号已停用，请联系系统管理员", status=403),
        )
    if not _verify(staff.password_hash, password):
        raise await _count_failure(deps, staff, ip, "密码错误")
    method = "totp" if staff.totp_secret else "sms"
    challenge = secrets.token_urlsafe(24)
    state = {"staff_id": staff.id, "method": method, "tries": 0}
    if method == "sms":
        state.update(await _send_sms_code(deps, staff))
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


async def _send_sms_code(deps: Deps, staff: Staff) -> dict:
    code = f"{secrets.randbelow(10**6):06d}"
    await deps.notifier.send_notification(
        staff.mobile,
        f"【民声】您的登录验证码为 {code}，{deps.settings.second_factor_ttl_seconds // 60}"
        "分钟内有效。如非本人操作请忽略。",
        purpose="login_code",
        secret=True,
    )
    return {"code_hash": _digest(code), "sent_at": deps.clock.now().timestamp()}


async def _load_challenge(deps: Deps, challenge: str) -> dict:
    raw = await deps.redis.get(CHALLENGE_PREFIX + (challenge or ""))
    if not raw:
        raise DomainError("challenge_expired", "登录已超时，请重新输入用户名和密码", status=401)
    return json.loads(raw)


async def switch_to_sms(deps: Deps, challenge: str) -> dict:
    """The staff member has no authenticator at hand: send a code by SMS instead."""
    state = await _load_challenge(deps, challenge)
    wait = deps.settings.sms_code_resend_seconds
    if state.get("sent_at") and deps.clock.now().timestamp() - state["sent_at"] < wait:
        raise DomainError("sms_too_soon", f"验证码已发送，请 {wait} 秒后再试", status=429)
    staff = await Staff.get(id=state["staff_id"])
    state.update(await _send_sms_code(deps, staff), method="sms")
    ttl = await deps.redis.ttl(CHALLENGE_PREFIX + challenge)
    await deps.redis.set(CHALLENGE_PREFIX + challenge, json.dumps(state), ex=max(ttl, 60))
    return {"challenge": challenge, "method": "sms", "mobile": mask_mobile(staff.mobile)}


async def finish_login(deps: Deps, challenge: str, code: str, ip: str) -> tuple[Staff, str]:
    """Step 2: the second factor. Returns the staff member and a new session token."""
    state = await _load_challenge(deps, challenge)
    staff = await Staff.get(id=state["staff_id"])
    if staff.locked_at is not None:
        await deps.redis.delete(CHALLENGE_PREFIX + challenge)
        raise DomainError("account_locked", "账号已锁定，请联系系统管理员解锁", status=423)
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
    if not sess.staff.active or sess.staff.locked_at is not None:
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
    if tok is None or not tok.staff.active or tok.staff.locked_at is not None:
        return None
    now = deps.clock.now()
    if tok.last_used_at is None or now - tok.last_used_at > dt.timedelta(minutes=5):
        await ApiToken.filter(id=tok.id).update(last_used_at=now)
    return tok.staff


async def create_api_token(deps: Deps, actor: Actor, name: str) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise DomainError("missing_field", "请填写令牌名称（用途）")
    if actor.via == "token":
        raise DomainError("token_from_token", "不能用API令牌创建新令牌，请在控制台创建", status=403)
    token = "ms_" + secrets.token_urlsafe(32)
    tok = await ApiToken.create(
        staff_id=actor.staff_id,
        name=name[:100],
        prefix=token[:10],
        token_hash=_digest(token),
        created_at=deps.clock.now(),
    )
    await record_audit(
        actor,
        "token.create",
        clock=deps.clock,
        object_type="api_token",
        object_id=tok.id,
        summary=f"创建API令牌「{tok.name}」（{tok.prefix}…）",
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


async def change_password(deps: Deps, actor: Actor, old: str, new: str) -> None:
    staff = await Staff.get(id=actor.staff_id)
    if not _verify(staff.password_hash, old or ""):
        raise DomainError("bad_credentials", "原密码不正确", status=400)
    if old == new:
        raise DomainError("same_password", "新密码不能与原密码相同")
    staff.password_hash = hash_password(new or "")
    staff.password_changed_at = deps.clock.now()
    await staff.save(update_fields=["password_hash", "password_changed_at"])
    await record_audit(
        actor,
        "staff.change_password",
        clock=deps.clock,
        object_type="staff",
        object_id=staff.id,
        summary="修改本人密码",
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
