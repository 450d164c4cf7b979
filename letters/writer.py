"""The writer's identity: sealed at rest, hashed for repeat look-ups, masked for everyone else.

Storage: name, mobile and platform user id are encrypted together with infra.crypto (Fernet, the
same key as platform credentials), so a database dump, a backup or a SQL debug log shows none of
them. Repeats are found by keyed hashes (HMAC-SHA256 with the secret key) of the mobile and of the
platform identity: equal values give equal hashes, yet a hash cannot be reversed by trying every
mobile number without the key. The masked forms (张** / 138****5678) are stored beside them so
lists, exports and reports never need to decrypt.

Who sees the real values (001 §25, 000 §34): handlers of the handling unit and leaders of that
unit or of a unit above it. Everyone else - other units, co-handling units, supervisors, exports,
reports, audit records and logs - sees the masked forms.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from infra.crypto import decrypt_json, encrypt_json
from infra.notify import mask_mobile
from infra.settings import Settings
from org.access import Actor

MOBILE_RE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class Writer:
    name: str = ""
    mobile: str = ""
    platform_user_id: str = ""

    @property
    def empty(self) -> bool:
        return not (self.name or self.mobile or self.platform_user_id)


def mask_name(name: str) -> str:
    return name[:1] + "*" * min(len(name) - 1, 3) if len(name) > 1 else ("*" if name else "")


def mask_platform_id(value: str) -> str:
    return value[:3] + "****" if value else ""


def keyed_hash(settings: Settings, purpose: str, value: str) -> str | None:
    if not value:
        return None
    key = ("minsheng-letters:" + settings.secret_key).encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def platform_identity(channel: str, account_id: int | None, platform_user_id: str) -> str:
    # WeChat openids are per official account: the same person has another id elsewhere.
    return f"{channel}:{account_id or '-'}:{platform_user_id}" if platform_user_id else ""


def seal(settings: Settings, writer: Writer) -> str:
    if writer.empty:
        return ""
    return encrypt_json(
        settings,
        {"name": writer.name, "mobile": writer.mobile, "platform_user_id": writer.platform_user_id},
    )


def unseal(settings: Settings, sealed: str) -> Writer:
    data = decrypt_json(settings, sealed) if sealed else {}
    return Writer(
        str(data.get("name") or ""),
        str(data.get("mobile") or ""),
        str(data.get("platform_user_id") or ""),
    )


def mask_writer(text: str, writer: Writer) -> str:
    """``text`` fit to keep outside the letter (a knowledge-base entry, a signal for fitting the
    matcher): the writer's own name, mobile and platform id gone, as are the forms of address a
    reply uses (王先生), then the general patterns of knowledge/privacy.py."""
    from knowledge.privacy import mask_personal

    known = [writer.name, writer.mobile, writer.platform_user_id]
    if len(writer.name) >= 2:
        known += [writer.name[0] + t for t in ("先生", "女士", "同志", "老师")]
    for value in sorted(filter(None, known), key=len, reverse=True):
        text = text.replace(value, "***")
    return mask_personal(text)


def hide_writer(text: str, writer: Writer) -> str:
    """``text`` of the letter as shown to whoever sees the writer masked: citizens often write
    their name and number into the letter itself, which must not undo the masking."""
    if not text or writer.empty:
        return text
    if writer.mobile:
        text = re.sub(r"[\s-]?".join(writer.mobile), mask_mobile(writer.mobile), text)
    if writer.platform_user_id:
        text = text.replace(writer.platform_user_id, mask_platform_id(writer.platform_user_id))
    if len(writer.name) >= 2:  # one character is part of too many words
        text = text.replace(writer.name, mask_name(writer.name))
    return text


def sees_writer(actor: Actor, unit_path: str, unit_id: int) -> bool:
    """Whether the actor may see the identity of a letter handled by this unit."""
    if "system" in actor.roles:
        return True
    if "handler" in actor.roles and actor.unit_id == unit_id:
        return True
    return "leader" in actor.roles and unit_path.startswith(actor.unit_path)
