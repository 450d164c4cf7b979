"""Encryption at rest for secrets the product must keep (platform credentials, TOTP secrets)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from infra.errors import DomainError
from infra.settings import Settings

log = logging.getLogger(__name__)


def _fernet(settings: Settings) -> Fernet:
    if settings.credentials_key:
        return Fernet(settings.credentials_key.encode())
    if settings.is_production:
        raise DomainError("no_credentials_key", "未配置 MINSHENG_CREDENTIALS_KEY，无法保存平台凭据")
    digest = hashlib.sha256(("minsheng-credentials:" + settings.secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(settings: Settings, data: dict[str, Any]) -> str:
    return _fernet(settings).encrypt(json.dumps(data, ensure_ascii=False).encode()).decode()


def decrypt_json(settings: Settings, token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet(settings).decrypt(token.encode()))
    except InvalidToken as exc:
        log.error("platform credentials cannot be decrypted: wrong MINSHENG_CREDENTIALS_KEY?")
        raise DomainError("credentials_unreadable", "平台凭据无法解密，请检查密钥配置") from exc


FERNET_PREFIX = "gAAAA"  # every Fernet token starts so (version byte and timestamp)


def seal_text(settings: Settings, text: str) -> str:
    return _fernet(settings).encrypt(text.encode()).decode()


def open_text(settings: Settings, stored: str | None) -> str:
    """The sealed text; a value stored before sealing existed (plain) is returned as it is."""
    if not stored:
        return ""
    if not stored.startswith(FERNET_PREFIX):
        return stored
    try:
        return _fernet(settings).decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        log.error("a sealed secret cannot be decrypted: wrong MINSHENG_CREDENTIALS_KEY?")
        raise DomainError("secret_unreadable", "密钥无法解密，请检查密钥配置") from exc
