"""Masking personal details in what is kept of citizens' questions (000 §34, 001 §25)."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

import knowledge.privacy as P
from knowledge.privacy import mask_personal


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("我的手机13812345678，请回电", "13812345678"),
        ("电话 138-1234-5678", "138-1234-5678"),
        ("+86 139 1234 5678 是我的号码", "139 1234 5678"),
        ("手机１３８１２３４５６７８", "１３８１２３４５６７８"),
        ("身份证110105194912310021怎么补办", "110105194912310021"),
        ("身份证号11010519491231002X", "11010519491231002X"),
        ("旧身份证130503670401001", "130503670401001"),
        ("请发到 zhang.san@example.com 谢谢", "zhang.san@example.com"),
        ("座机0591-87654321", "87654321"),
        ("银行卡6222021234567890123扣款了", "6222021234567890123"),
        ("我的QQ：12345678", "12345678"),
        ("微信号:wxid_abc123", "wxid_abc123"),
        ("车牌京A12345被贴了罚单", "京A12345"),
        ("粤B·D12345新能源车", "D12345"),
        ("我叫张三，想问居住证", "张三"),
        ("我叫欧阳娜娜想问一下", "欧阳娜娜"),
        ("我是王小明，住在幸福路", "王小明"),
        ("本人姓名赵云，咨询社保", "赵云"),
        ("住在幸福路12号3栋2单元501室", "501"),
        ("家在清源小区5栋1203室", "1203"),
        ("电话139.1234.9878请回电", "1234.9878"),
        ("手机 139·1234·9878", "1234"),
        ("我的电话是幺三九一二三四九八八零", "一二三四"),
        ("回电一三九 一二三四 九八八零", "九八八零"),
        ("号码139一二三四九八八零", "九八八零"),
        ("座机0591-8765-4321", "8765"),
        ("卡号6222 0212 3456 7890被冻结", "3456"),
        ("王小明的社保卡丢了怎么办", "王小明"),
        ("张伟，想问居住证", "张伟"),
        ("欧阳娜娜的医保怎么报销", "欧阳娜娜"),
        # the quick tests before the rules: labels in any case, plates and flats without 4 digits
        ("加我VX：lei_2020a", "lei_2020a"),
        ("WeChat号 zhangsan88", "zhangsan88"),
        ("Qq 号码是 abc12345", "abc12345"),
        ("V信：zhang_2021", "zhang_2021"),
        ("车牌闽AB123C违停", "AB123C"),
        ("A座12室漏水", "12室"),
        ("住3-2号楼", "3-2"),
    ],
)
def test_personal_details_are_masked(text, secret):
    masked = mask_personal(text)
    assert secret not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "text",
    [
        "拨打12345热线咨询",
        "2026年11月23日的政策",
        "地铁1号线几点停运",
        "国办发〔2018〕123号文件怎么理解",
        "我是退休职工，怎么领养老金",
        "公积金每月最多提取1500元吗",
        "怎么办理居住证？",
        "时间的问题怎么解决",
        "项目，什么时候开工",
        "高新区的规划什么时候公布",
        "张家界的门票能报销吗",
        "周末的办事大厅开门吗",
        "陈市长，您好",
        "每月电费500-1000元",
        "2020-2021学年的补助",
        "2022.11.18去办的",
        "第一二三条怎么理解",
        "一九九八年参加工作",
    ],
)
def test_ordinary_questions_keep_their_meaning(text):
    assert mask_personal(text) == text


def test_masking_is_idempotent_and_keeps_no_long_digit_run():
    text = "我叫李雷，手机13912345678，身份证110105194912310021，住幸福路8号2栋301室"
    once = mask_personal(text)
    assert mask_personal(once) == once
    assert not re.search(r"\d{5,}", once)
    assert "李雷" not in once and "想" not in once


# What counts as phone- or ID-like when auditing the masks, independently of them: mobile and
# landline numbers however grouped (spaces, hyphens, dots, middle dots) and in spoken Chinese
# digits, and 15/18-character ID numbers.
_SPOKEN = str.maketrans("〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖", "0012345678912123456789")
_SEP = r"[\s.\-·－—]"
_PHONE_OR_ID = [
    re.compile(rf"(?<!\d)1[3-9]\d(?:{_SEP}?\d){{8}}(?!\d)"),
    re.compile(rf"(?<!\d)0\d{{2,3}}{_SEP}{{0,2}}[)）]?{_SEP}?[2-9]\d{{2,3}}{_SEP}?\d{{4}}(?!\d)"),
    re.compile(r"(?<!\d)[2-9]\d{6,7}(?!\d)"),
    re.compile(rf"(?<![0-9A-Za-z])\d{{6}}{_SEP}?\d{{8}}{_SEP}?\d{{3}}[\dXx](?![0-9A-Za-z])"),
    re.compile(r"(?<!\d)\d{15}(?!\d)"),
]


def phone_or_id_like(text: str) -> list[str]:
    view = text.translate(_SPOKEN)  # same length: spoken digits read as digits
    return [m.group() for p in _PHONE_OR_ID for m in p.finditer(view)]


@pytest.fixture(scope="module")
def citizen_messages() -> list[str]:
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "citizen-messages.jsonl"
    if not path.exists():
        pytest.fail(f"{path} missing", pytrace=False)
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def test_no_phone_or_id_like_string_survives_in_real_messages(citizen_messages):
    before = sum(len(phone_or_id_like(t)) for t in citizen_messages)
    survivors = [(s, t[:60]) for t in citizen_messages for s in phone_or_id_like(mask_personal(t))]
    print(
        f"\nmasking {len(citizen_messages)} real messages: {before} phone/ID-like strings, "
        f"{len(survivors)} survive"
    )
    assert before > 0  # the audit finds what it looks for
    assert survivors == []


def test_a_sample_of_real_messages_keeps_its_meaning(citizen_messages):
    sample = citizen_messages[::10]
    unchanged = 0
    for text in sample:
        masked = mask_personal(text)
        if masked == text:
            unchanged += 1
            continue
        ops = difflib.SequenceMatcher(None, text, masked, autojunk=False).get_opcodes()
        for tag, i1, i2, _, _ in ops:
            removed = text[i1:i2]
            if tag == "equal" or re.search(r"[0-9A-Za-z@〇零一二三四五六七八九幺两]", removed):
                continue
            # Only a name is masked without a digit in it: two to four characters.
            assert len(removed.strip()) <= 4, (removed, text[:80])
    print(f"\nsample of {len(sample)} real messages: {unchanged} unchanged by masking")
    assert unchanged >= 0.9 * len(sample)


def _every_rule_in_order(text: str) -> str:
    """mask_personal as it was before its quick tests: every rule over the whole text."""
    out = P._fold(text)
    out = P._EMAIL.sub(P.MASK, out)
    out = P._IM_ID.sub(lambda m: m.group(1) + P.MASK, out)
    out = P._SPOKEN.sub(P._spoken, out)
    for rule in (
        P._ID_CARD,
        P._CARD,
        P._MOBILE,
        P._LANDLINE_GROUPED,
        P._PLATE,
        P._LANDLINE,
        P._HOUSE,
        P._DIGITS,
    ):
        out = rule.sub(P.MASK, out)
    return P._bare_name(P._INTRO.sub(P._name, out))


def test_the_quick_tests_skip_only_rules_that_would_change_nothing(citizen_messages):
    """The digit, label and house-word tests let mask_personal skip rules (most of its time on a
    citizen's message): over every real message, it masks exactly as every rule would."""
    texts = [*citizen_messages, "手机13812345678", "A座12室", "VX:abc_123", "京A12345 a@b.cn"]
    differing = [t[:60] for t in texts if mask_personal(t) != _every_rule_in_order(t)]
    assert differing == []
