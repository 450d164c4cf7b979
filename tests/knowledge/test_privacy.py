"""Masking personal details in what is kept of citizens' questions (000 §34, 001 §25)."""

from __future__ import annotations

import re

import pytest

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
