"""The WeChat official-account callback protocol, without the web framework: signatures, the AES
modes, safe XML parsing, turning a message into an IncomingMessage and a reply into XML.

Crypto is wechatpy's (WeChatCrypto: AES-CBC with the account's EncodingAESKey and AppID check);
XML is parsed with defusedxml, which refuses DTDs and entities, so billion-laughs and external
entity payloads fail before any expansion; WeChat's own plain, flat messages are read without it
(a fifth of the cost), anything else still goes through it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from html import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.types import IncomingMessage, Reply

# WeChat menu CLICK keys the bot understands (configure the account's menu with these keys).
MENU_KEYS = {
    "MS_HELP": "help",
    "MS_STATUS": "status",
    "MS_LETTER": "letter",
    "MS_HUMAN": "human",
}
UNSUPPORTED_LABELS = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}


class ProtocolError(Exception):
    """A request that is not a valid WeChat callback for this account."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class WechatConfig:
    token: str
    app_id: str = ""
    aes_key: str = ""
    mode: str = "plain"  # plain | compatible | safe

    @classmethod
    def from_credentials(cls, creds: dict) -> WechatConfig:
        return cls(
            token=creds.get("token", ""),
            app_id=creds.get("app_id", ""),
            aes_key=creds.get("aes_key", ""),
            mode=creds.get("mode", "plain"),
        )

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(config: WechatConfig, args: dict[str, str]) -> None:
    """The plain signature over (token, timestamp, nonce) that every callback carries."""
    expected = sign(config.token, args.get("timestamp", ""), args.get("nonce", ""))
    if not config.token or not hmac.compare_digest(expected, args.get("signature", "")):
        raise ProtocolError(403, "bad signature")


def check_timestamp(args: dict[str, str], now: float, skew_seconds: int) -> int:
    """WeChat's timestamp, refused when it is more than ``skew_seconds`` from ``now``: the
    signature covers it, so a captured callback stops working once the window has passed."""
    try:
        ts = int(args.get("timestamp", ""))
    except ValueError:
        raise ProtocolError(403, "bad timestamp") from None
    if abs(ts - now) > skew_seconds:
        raise ProtocolError(403, "stale timestamp")
    return ts


def parse_xml(body: bytes | str) -> dict[str, str]:
    """A flat WeChat message as a dict of its child elements' texts.

    WeChat's messages are a plain shape (``<xml>``, then ``<Name>text</Name>`` or
    ``<Name><![CDATA[text]]></Name>`` children, whitespace between) that `_parse_plain` reads
    directly; anything else, hostile or broken, goes to the full parser below and is accepted
    or refused as it decides."""
    plain = _parse_plain(body)
    if plain is not None:
        return plain
    return _parse_full(body)


# Outside the plain shape: entity and character references (&), line ends XML rewrites (\r),
# and the characters XML forbids (which the full parser refuses).
_NOT_PLAIN = re.compile(r"[&\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_OPEN_TAG = re.compile(r"[ \t\n]*<([A-Za-z_][A-Za-z0-9_]*)>")
_ROOT_END = re.compile(r"[ \t\n]*</xml>[ \t\n]*")
_CDATA = "<![CDATA["


def _parse_plain(body: bytes | str) -> dict[str, str] | None:
    """What `_parse_full` makes of a document of the plain shape, or None for any other
    document (no declaration, DTD, comment, attribute, namespace, entity, nesting, mixed
    text, nor a character XML forbids): those are the full parser's to read or refuse."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        text = body
    if not text.startswith("<xml>") or _NOT_PLAIN.search(text):
        return None
    fields: dict[str, str] = {}
    pos = 5
    while opened := _OPEN_TAG.match(text, pos):
        name, pos = opened.group(1), opened.end()
        if text.startswith(_CDATA, pos):
            end = text.find("]]>", pos)
            if end < 0:
                return None
            value, pos = text[pos + len(_CDATA) : end], end + 3
        else:
            end = text.find("<", pos)
            value = text[pos:end]
            if end < 0 or "]]>" in value:  # "]]>" may not stand in text
                return None
            pos = end
        close = f"</{name}>"
        if not text.startswith(close, pos):
            return None
        pos += len(close)
        fields[name] = value.strip()
    if not _ROOT_END.fullmatch(text, pos):
        return None
    return fields


def _parse_full(body: bytes | str) -> dict[str, str]:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ProtocolError(400, f"forbidden xml: {type(exc).__name__}") from exc
    except Exception as exc:
        raise ProtocolError(400, f"bad xml: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise ProtocolError(400, "bad xml: root")
    return {child.tag: (child.text or "").strip() for child in root}


def open_message(config: WechatConfig, args: dict[str, str], body: bytes) -> dict[str, str]:
    """Verify and, in safe or compatible mode with encrypt_type=aes, decrypt a POSTed message."""
    check_signature(config, args)
    if args.get("encrypt_type", "raw") != "aes":
        if config.mode == "safe":
            raise ProtocolError(403, "plaintext message to a safe-mode account")
        return parse_xml(body)
    if not config.aes_key:
        raise ProtocolError(403, "encrypted message but no EncodingAESKey configured")
    parse_xml(body)  # refuse entity tricks before wechatpy's own parser sees the body
    try:
        plain = config.crypto().decrypt_message(
            body, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        )
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise ProtocolError(403, type(exc).__name__) from exc
    except Exception as exc:
        raise ProtocolError(400, f"cannot decrypt: {type(exc).__name__}") from exc
    return parse_xml(plain)


def dedup_id(msg: dict[str, str]) -> str:
    """WeChat's own id for retries: MsgId, or FromUserName + CreateTime for events."""
    if msg.get("MsgId"):
        return msg["MsgId"]
    return f"{msg.get('FromUserName', '')}:{msg.get('CreateTime', '')}:{msg.get('Event', '')}"


def to_incoming(msg: dict[str, str], account_code: str) -> IncomingMessage | None:
    """None for messages that need no answer (view clicks, location reports, unsubscribe)."""
    kind = msg.get("MsgType", "")
    common = {
        "channel": "wechat",
        "account": account_code,
        "user": msg.get("FromUserName", ""),
        "message_id": dedup_id(msg),
    }
    if kind == "text":
        return IncomingMessage(text=msg.get("Content", ""), **common)
    if kind == "voice" and msg.get("Recognition"):
        return IncomingMessage(text=msg["Recognition"], **common)
    if kind == "event":
        event = msg.get("Event", "").lower()
        if event == "subscribe":
            return IncomingMessage(action="welcome", **common)
        if event == "click":
            action = MENU_KEYS.get(msg.get("EventKey", ""), "help")
            return IncomingMessage(action=action, **common)
        return None
    return IncomingMessage(unsupported=UNSUPPORTED_LABELS.get(kind, kind or "未知"), **common)


def reply_xml(msg: dict[str, str], text: str, *, now: int | None = None) -> str:
    created = int(now if now is not None else time.time())
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{_cdata(msg.get('FromUserName', ''))}]]></ToUserName>"
        f"<FromUserName><![CDATA[{_cdata(msg.get('ToUserName', ''))}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{_cdata(text)}]]></Content>"
        "</xml>"
    )


def seal_reply(config: WechatConfig, args: dict[str, str], xml: str) -> str:
    """Encrypt the reply when the message came encrypted (safe and compatible modes)."""
    if args.get("encrypt_type", "raw") != "aes":
        return xml
    return config.crypto().encrypt_message(xml, args.get("nonce", ""), args.get("timestamp"))


def render_text(replies: list[Reply]) -> str:
    """Several replies in one passive message: WeChat allows one reply per message."""
    texts = [r.as_text() for r in replies]
    text = "\n\n".join(t for t in texts if t)
    return text[:2000]  # WeChat truncates long text; keep what shows whole


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


def html_link(title: str, url: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{escape(title)}</a>'
