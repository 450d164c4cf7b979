"""Normalisation: citizens' spellings of one question meet in one canonical form."""

import json
from pathlib import Path

import pytest

from knowledge.normalize import normalize, pos_tag, words


def test_traditional_full_width_and_politeness_meet_the_plain_question():
    plain = normalize("社保卡怎么办理")
    assert plain == "社会保障卡怎么办理"  # the lexicon's formal name
    assert normalize("您好，請問社保卡怎麼辦理？謝謝！") == plain
    assert normalize("我想问一下社保卡怎么办理啊？在线等，急急急") == plain
    assert normalize("社保卡怎么办理呢😀😀") == plain


def test_full_width_letters_and_digits_become_half_width_lowercase():
    assert normalize("ＡＢＣ１２３怎么查") == "abc123怎么查"
    assert normalize("WiFi密码") == "wifi密码"


def test_meaning_words_are_kept():
    # a particle character that is part of a noun stays
    assert normalize("去网吧吧") == "去网吧"
    assert normalize("附近有酒吧吗") == "附近有酒吧吗"
    # the yes-no particle 吗 decides the question type: kept
    assert normalize("可以提取公积金吗？") == "可以提取住房公积金吗"
    # negation and the action word survive
    assert normalize("如何注销营业执照") == "如何注销营业执照"
    assert normalize("为什么不能注销") == "为什么不能注销"
    # "谢谢" inside a question about thanking is not a closing formula
    assert "谢谢" in normalize("谢谢用英语怎么说")


def test_a_greeting_alone_still_matches_a_greeting():
    assert normalize("你好") == "你好"
    assert normalize("您好！") == "您好"
    assert normalize("") == ""
    assert normalize("？？？ 😀") == ""


def test_words_and_tags():
    assert words("公积金怎么提取") == ["公积金", "怎么", "提取"]
    assert pos_tag("提取") == "v"
    assert pos_tag("2024") == "m"
    assert pos_tag("wifi") == "eng"


DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.skipif(not (DATA / "match-dev").exists(), reason="needs ../shared/data")
def test_words_are_jiebas_without_hmm():
    """words() is a faster jieba.lcut(text, HMM=False): the same words, on every question of
    the data sets, normalised and as written, and on what jieba treats apart."""
    import jieba

    texts = [
        "",
        "a b  c\r\nd",
        "Wi-Fi 密码 ½ ①②",
        "ABC123怎么查",
        "日本語のテキスト",
        "社保 丢了abc-1.5%",
    ]
    for name in ("match-dev/kb.jsonl", "gov-para-dev/queries.jsonl"):
        with (DATA / name).open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                texts.append(row.get("question") or row.get("text") or "")
    for text in texts:
        assert words(text) == jieba.lcut(text, HMM=False), text
        norm = normalize(text)
        assert words(norm) == jieba.lcut(norm, HMM=False), norm
