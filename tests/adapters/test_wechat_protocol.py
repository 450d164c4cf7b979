"""The WeChat callback protocol on WeChat's own payloads: signatures, AES, safe XML, mapping."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from adapters.wechat_protocol import (
    ProtocolError,
    WechatConfig,
    _parse_full,
    _parse_plain,
    check_signature,
    open_message,
    parse_xml,
    render_text,
    reply_xml,
    seal_reply,
    sign,
    to_incoming,
)
from bot.types import Choice, Reply
from tests.conftest import IN_CI

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "data" / "payloads" / "wechat"


def payload(name: str) -> bytes:
    path = PAYLOADS / name
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} missing: CI must have ../shared beside the repository")
        pytest.skip(f"{path} missing")
    return path.read_bytes()


def params(name: str) -> dict[str, str]:
    lines = payload(name).decode().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


PLAIN = WechatConfig(token="minsheng-demo")


def signed(config: WechatConfig, **extra: str) -> dict[str, str]:
    ts, nonce = "1700000000", "12345"
    return {"timestamp": ts, "nonce": nonce, "signature": sign(config.token, ts, nonce), **extra}


def test_signature_is_checked():
    args = signed(PLAIN)
    check_signature(PLAIN, args)
    with pytest.raises(ProtocolError) as err:
        check_signature(PLAIN, {**args, "signature": "0" * 40})
    assert err.value.status == 403
    with pytest.raises(ProtocolError):
        check_signature(WechatConfig(token="other"), args)


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("wechatpy_text.xml", {"text": "this is a test"}),
        ("wechatpy_event_subscribe.xml", {"action": "welcome"}),
        ("wechatpy_event_subscribe_scan.xml", {"action": "welcome"}),
        ("wechatpy_event_click.xml", {"action": "help"}),  # unknown keys get the help menu
        ("wechatpy_image.xml", {"unsupported": "图片"}),
        ("wechatpy_link.xml", {"unsupported": "链接"}),
        ("wechatpy_location.xml", {"unsupported": "位置"}),
    ],
)
def test_real_payloads_become_incoming_messages(name, expect):
    msg = parse_xml(payload(name))
    incoming = to_incoming(msg, "demo")
    assert incoming is not None
    assert incoming.channel == "wechat" and incoming.account == "demo"
    assert incoming.user == msg["FromUserName"]
    for key, value in expect.items():
        assert getattr(incoming, key) == value


def test_voice_without_recognition_is_unsupported_and_with_it_is_text():
    msg = parse_xml(payload("wechatpy_voice.xml"))
    assert to_incoming(msg, "demo").unsupported == "语音"
    msg["Recognition"] = "社保卡怎么补办"
    assert to_incoming(msg, "demo").text == "社保卡怎么补办"


@pytest.mark.parametrize("name", ["wechatpy_event_view.xml", "wechatpy_event_location.xml"])
def test_events_that_need_no_answer(name):
    assert to_incoming(parse_xml(payload(name)), "demo") is None


def test_retries_share_an_id():
    text = parse_xml(payload("wechatpy_text.xml"))
    assert to_incoming(text, "demo").message_id == text["MsgId"]
    event = parse_xml(payload("wechatpy_event_subscribe.xml"))
    # Events have no MsgId: WeChat's documented key is FromUserName + CreateTime.
    assert to_incoming(event, "demo").message_id == to_incoming(event, "demo").message_id
    assert event["CreateTime"] in to_incoming(event, "demo").message_id


def test_encrypted_message_decrypts_with_the_accounts_key():
    p = params("wechatpy_wecom_encrypted.params.txt")
    config = WechatConfig(
        token=p["token"], aes_key=p["encoding_aes_key"], app_id=p["corp_id"], mode="safe"
    )
    args = {
        "msg_signature": p["signature"],
        "timestamp": p["timestamp"],
        "nonce": p["nonce"],
        "encrypt_type": "aes",
        "signature": sign(p["token"], p["timestamp"], p["nonce"]),
    }
    body = payload("wechatpy_wecom_encrypted.xml")
    msg = open_message(config, args, body)
    assert msg["Content"] == "test" and msg["FromUserName"] == "messense"
    # The wrong message signature, or another account's AppID, is refused.
    with pytest.raises(ProtocolError) as err:
        open_message(config, {**args, "msg_signature": "0" * 40}, body)
    assert err.value.status == 403
    other = WechatConfig(token=p["token"], aes_key=p["encoding_aes_key"], app_id="wxother")
    with pytest.raises(ProtocolError):
        open_message(other, args, body)
    # The reply goes back encrypted and decrypts to what was sent.
    sealed = seal_reply(config, args, reply_xml(msg, "您好"))
    assert "<Encrypt>" in sealed and "您好" not in sealed
    reply_args = {**args, **_reply_signature(sealed)}
    assert open_message(config, reply_args, sealed.encode())["Content"] == "您好"


def _reply_signature(sealed: str) -> dict[str, str]:
    fields = parse_xml(sealed)
    return {
        "msg_signature": fields["MsgSignature"],
        "timestamp": fields["TimeStamp"],
        "nonce": fields["Nonce"],
    }


def test_safe_mode_refuses_plaintext():
    config = WechatConfig(token="t", aes_key="k" * 43, app_id="wx1", mode="safe")
    with pytest.raises(ProtocolError) as err:
        open_message(config, signed(config), payload("wechatpy_text.xml"))
    assert err.value.status == 403


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<xml><Content>&lol2;</Content></xml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><Content>&xxe;</Content></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, b"<xml><a>", b"not xml"])
def test_hostile_or_broken_xml_is_refused(body):
    with pytest.raises(ProtocolError) as err:
        parse_xml(body)
    assert err.value.status == 400


def _outcome(parse, body):
    try:
        return parse(body)
    except ProtocolError as err:
        return (err.status, err.reason)


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.xml")))
def test_every_real_payload_is_read_directly_as_the_full_parser_reads_it(name):
    body = payload(name)
    assert _parse_plain(body) is not None  # WeChat's shape: no full parse on the hot path
    assert _parse_plain(body) == _parse_full(body)
    assert _parse_plain(body.decode()) == _parse_full(body.decode())


HOSTILE = [
    BILLION_LAUGHS,
    EXTERNAL,
    b"<xml><a>",
    b"not xml",
    b"",
    b"<xml>",
    b"<xml></xml>trailing",
    b"<xml><A>1</B></xml>",
    b"<xml><A>1</A>",
    b"<xml><A><![CDATA[x]]></A>",
    b"<xml><A><![CDATA[x</A></xml>",
    b"<xml><A><![CDATA[x]]>y]]></A></xml>",
    b"<xml><A>a]]>b</A></xml>",
    b"<xml><A>&lt;</A></xml>",
    b"<xml><A>&#x26;&#60;</A></xml>",
    b"<xml><A>&nope;</A></xml>",
    b"<xml><A>\x00</A></xml>",
    b"<xml><A><![CDATA[\x0b]]></A></xml>",
    "<xml><A>\ufffe</A></xml>".encode(),
    b"<xml><A>\xff\xfe</A></xml>",
    b"<xml><A>1</A></xml><xml></xml>",
    b"<xml><!-- c --><A>1</A></xml>",
    b"<xml><?pi x?><A>1</A></xml>",
    b'<xml a="1"><A>1</A></xml>',
    b'<xml><A b="1">1</A></xml>',
    b"<xml><x:A>1</x:A></xml>",
    b'<xml xmlns="urn:x"><A>1</A></xml>',
    b"<xml><A><B>1</B></A></xml>",
    b"<xml><A/><B>2</B></xml>",
    b"<xml><A>1<![CDATA[2]]>3</A></xml>",
    b"<xml>junk<A>1</A></xml>",
    b"<xml><A>1</A>junk</xml>",
    b"<xml>\r\n<A>1\r\n2</A></xml>",
    b"\xef\xbb\xbf<xml><A>1</A></xml>",
    b'<?xml version="1.0" encoding="gbk"?><xml><A>\xc4\xe3</A></xml>',
    b"<!DOCTYPE xml><xml><A>1</A></xml>",
    b"<notxml><A>1</A></notxml>",
    b"<XML><A>1</A></XML>",
    b"<xml ><A>1</A></xml >",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_anything_but_the_plain_shape_goes_to_the_full_parser(body):
    """Hostile, broken and unusual documents are accepted or refused exactly as before."""
    assert _outcome(parse_xml, body) == _outcome(_parse_full, body)
    if body.startswith(b"<xml><A>") and b"]]>b" in body:
        assert _parse_plain(body) is None


def test_generated_documents_read_as_the_full_parser_reads_them():
    """Documents pieced together from WeChat's shape and the tricks around it: whatever the
    direct reading accepts, it reads as the full parser does, and all else is the full parser's."""
    rng = random.Random(16)
    names = (["A", "Content", "MsgId", "xml", "_x", "a1"], ["x:y", "B c", "", "1a", "A-b"])
    texts = (
        [
            *["", " ", "怎么办理居住证？", " 两边空白 ", "\u3000全角\u3000", "a>b", "a]]b"],
            *["]", "]]", "\t", "\n", "\x7f", "\x85", "\u2028", "\ufeff", "😀"],
            *["<![CDATA[", "<!-- c -->"],
        ],
        ["a]]>b", "<", "&amp;", "&#20320;", "\r", "\r\n", "\x00", "\x1f", "\ufffe", "\ud800"],
    )
    between = (["", "\n", "  ", "\t", "\n  "], ["\r\n", "x", "<!-- c -->", "<?pi?>", "&amp;"])

    def pick(options: tuple[list[str], list[str]]) -> str:
        return rng.choice(options[rng.random() < 0.04])

    def child() -> str:
        name = pick(names)
        close = name if rng.random() > 0.03 else pick(names)
        inner = "".join(pick(texts) for _ in range(rng.randint(0, 3)))
        shape = rng.random()
        if shape < 0.5:
            inner = f"<![CDATA[{inner}]]>"
        elif shape < 0.52:
            inner = f"<![CDATA[{inner}]]><![CDATA[{pick(texts)}]]>"
        elif shape < 0.54:
            return f"<{name}/>"
        elif shape < 0.56:
            inner = f"<{pick(names)}>{inner}</{pick(names)}>"
        return f"<{name}>{inner}</{close}>"

    read_directly = 0
    for _ in range(4000):
        body = pick((["<xml>"], [" <xml>", "<xml >", "<Xml>", "<?xml version='1.0'?><xml>"]))
        for _ in range(rng.randint(0, 6)):
            body += pick(between) + child()
        body += pick(between) + pick((["</xml>", "</xml>\n"], ["</xml>x", "", "</xml><xml/>"]))
        data = body.encode("utf-8", "surrogatepass")
        assert _outcome(parse_xml, data) == _outcome(_parse_full, data), body
        read_directly += _parse_plain(data) is not None
    assert read_directly > 400  # the direct path was exercised, not only the fallback


def test_reply_xml_swaps_sender_and_escapes_cdata():
    msg = parse_xml(payload("wechatpy_text.xml"))
    xml = reply_xml(msg, "答复]]>后", now=1)
    back = parse_xml(xml)
    assert back["ToUserName"] == msg["FromUserName"]
    assert back["FromUserName"] == msg["ToUserName"]
    assert back["Content"] == "答复]]>后"


def test_replies_render_as_numbered_text():
    text = render_text(
        [
            Reply("您是不是想问："),
            Reply("请选择", choices=(Choice("1", "甲"), Choice("0", "都不是"))),
        ]
    )
    assert text == "您是不是想问：\n\n请选择\n1. 甲\n0. 都不是"
