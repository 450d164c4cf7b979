"""The colloquial-to-formal lexicon, against what citizens really write."""

import json
import os
from pathlib import Path

import pytest

from knowledge.lexicon import UNSEEN, colloquial_forms, formalize
from knowledge.normalize import normalize

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def messages() -> list[str]:
    path = DATA / "citizen-messages.jsonl"
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{path} missing - CI must run every test", pytrace=False)
        pytest.skip(f"{path} missing")
    rows = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    gov = DATA / "gov-para-dev" / "queries.jsonl"
    rows += [json.loads(line)["text"] for line in gov.open(encoding="utf-8")]
    return rows


@pytest.mark.parametrize(
    ("citizen", "formal"),
    [
        ("社保卡丢了咋补办", "社会保障卡丢失怎么补办"),
        ("我社保卡不见了咋整啊", "我社会保障卡丢失怎么办"),
        ("没单位社保咋交", "无单位社保怎么缴纳"),
        ("个体户怎么交养老保险", "个体工商户怎么缴纳养老保险"),
        ("公积金怎么提取", "住房公积金怎么提取"),
        ("啥时候能上坟", "什么时候能祭扫"),
    ],
)
def test_citizens_words_meet_the_entries_words(citizen, formal):
    assert normalize(citizen) == formal


def test_formal_text_is_left_as_it_is():
    for text in ["住房公积金提取", "老年人优待证", "居民身份证换领", "社会保障卡", "交通违法处理"]:
        assert formalize(text) == text, text
    # applying it twice changes nothing more (both sides of a match pass through it once)
    for citizen in colloquial_forms():
        once = formalize(citizen)
        assert formalize(once) == once, citizen


def test_words_that_only_look_alike_are_not_touched():
    assert formalize("交通罚款") == "交通罚款"  # 交 alone is not 缴
    assert formalize("公交卡") == "公交卡"
    assert formalize("手机号码") == "手机号码"


def test_every_colloquial_form_is_written_by_citizens():
    """A rule nobody needs is a rule that can only do harm: each colloquial form occurs in the
    citizens' messages to a government board or in citizens' rewordings of government entries."""
    texts = messages()
    unused = [form for form in colloquial_forms() if not any(form in t for t in texts)]
    assert set(unused) <= UNSEEN, set(unused) - UNSEEN


def test_the_lexicon_reaches_a_real_share_of_messages():
    texts = messages()
    touched = sum(1 for t in texts if formalize(t) != t)
    assert touched / len(texts) > 0.10
