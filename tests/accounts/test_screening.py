"""Ad screening of post text and links (002 §11, 004 §6(五)): plain Python, no database."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from accounts.screening import Rule, normalize_domain, screen_text

GOV_QA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-qa.jsonl"


def kinds(findings) -> set[tuple[str, str]]:
    return {(f.kind, f.pattern) for f in findings}


def test_ad_wording_is_found_with_its_context():
    findings = screen_text("今日好物", "本店年末大促，限时抢购进行中，先到先得", [])
    [f] = [f for f in findings if f.pattern == "限时抢购"]
    assert f.kind == "word" and f.where == "body"
    assert "限时抢购" in f.evidence and "大促" in f.evidence and "进行中" in f.evidence


def test_lure_is_found():
    findings = screen_text("福利", "扫描下方二维码即可领取新人红包", [])
    lures = [f for f in findings if f.kind == "lure"]
    assert lures and "二维码即可领取" in lures[0].evidence


def test_ad_domain_in_the_links_is_found():
    findings = screen_text("通知", "", ["https://item.m.jd.com/product/100012.html"])
    assert ("domain", "jd.com") in kinds(findings)
    assert any(f.evidence.startswith("https://item.m.jd.com") for f in findings)


def test_full_width_case_and_traditional_forms_are_folded_but_evidence_is_original():
    findings = screen_text(
        "限時搶購", "加ＶＸ咨询，全網最低", ["https://ＷＷＷ．ＴＭＡＬＬ．ＣＯＭ/x"]
    )
    found = kinds(findings)
    assert {("word", "限时抢购"), ("word", "加vx"), ("word", "全网最低")} <= found
    assert ("domain", "tmall.com") in found
    title_hit = next(f for f in findings if f.pattern == "限时抢购")
    assert title_hit.where == "title" and title_hit.evidence == "限時搶購"


def test_words_spaced_out_to_dodge_the_list_are_found():
    findings = screen_text("", "有意者加 微 信，全国包-邮", [])
    assert {("word", "加微信"), ("word", "包邮")} <= kinds(findings)


@pytest.mark.parametrize(
    "url",
    [
        "https://jd.com/",
        "http://www.jd.com/a",
        "https://item.m.jd.com/1.html",
        "HTTPS://Mall.JD.COM:8443/x",
        "http://gov.cn@pinduoduo.com/x",  # the real host is after the @
        "mobile.yangkeduo.com/goods.html",  # no scheme
        "https://s.click.taobao.com/t?e=abc",
    ],
)
def test_ad_hosts_and_their_subdomains_match(url):
    findings = screen_text("", "", [url])
    assert [f.kind for f in findings if f.kind == "domain"], url


@pytest.mark.parametrize(
    "url",
    [
        "https://notjd.com/",
        "https://jd.com.example.org/",
        "https://myjd.com.cn/",
        "http://taobao.com.gov.cn.example/",
        "https://www.beijing.gov.cn/?from=taobao.com",  # a query string is not a host
        "https://rsj.qingyuan.gov.cn/taobao.com/index.html",
    ],
)
def test_other_hosts_that_merely_contain_an_ad_domain_do_not_match(url):
    assert not [f for f in screen_text("", "", [url]) if f.kind == "domain"], url


def test_hosts_written_in_the_body_are_checked_too():
    findings = screen_text("", "详情请登录jd.com购买，或访问 https://m.tb.cn/h.abc 查看", [])
    assert {("domain", "jd.com"), ("domain", "tb.cn")} <= kinds(findings)
    jd = next(f for f in findings if f.pattern == "jd.com")
    assert jd.where == "body" and "jd.com" in jd.evidence and "登录" in jd.evidence
    clean = screen_text("", "详见 notjd.com 与 http://rsj.beijing.gov.cn/csibiz/第二步", [])
    assert not [f for f in clean if f.kind == "domain"]


def test_admin_rules_come_as_rows_and_add_to_the_defaults():
    rules = [
        SimpleNamespace(kind="word", pattern="特惠套餐", note=""),
        {"kind": "domain", "pattern": "shop.example.cn"},
        ("lure", r"私聊.{0,4}价格"),
    ]
    text = "特惠套餐私聊了解价格，m.shop.example.cn 下单，另有秒杀"
    found = kinds(screen_text("", text, [], rules))
    assert {
        ("word", "特惠套餐"),
        ("domain", "shop.example.cn"),
        ("lure", r"私聊.{0,4}价格"),
        ("word", "秒杀"),
    } <= found
    assert ("word", "秒杀") not in kinds(screen_text("", text, [], rules, defaults=False))


def test_a_broken_rule_is_skipped_not_fatal():
    findings = screen_text("", "包邮", [], [Rule("lure", "([未闭合"), Rule("domain", "")])
    assert kinds(findings) == {("word", "包邮")}


def test_domain_patterns_are_normalised():
    assert normalize_domain("https://Shop.Example.COM/path?q=1") == "shop.example.com"
    assert normalize_domain("*.example.com") == "example.com"
    assert normalize_domain("ｔａｏｂａｏ．ｃｏｍ") == "taobao.com"


def test_real_government_answers_are_not_flagged():
    lines = GOV_QA.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(lines[i]) for i in range(0, 2000, 100)]  # 20 real answers
    assert len(sample) == 20
    flagged = [e["id"] for e in sample if screen_text(e["question"], e["answer"], [])]
    assert len(flagged) <= 1, flagged


def test_government_links_are_not_ad_links():
    urls = [
        "http://rsj.beijing.gov.cn/csibiz/",
        "https://fw.ybj.beijing.gov.cn/hallEnter/#/Index",
        "https://mp.weixin.qq.com/s/abc",
        "https://www.gov.cn/zhengce/",
    ]
    assert screen_text("关于社保待遇调整的通知", "", urls) == []


# Issue 13 item 13: a finding quoted "时抢购！", cut in the middle of a word. These sentences are
# long enough that the old fixed eight characters each side cut a word at one end.
LONG_AD = (
    "年终岁末，为答谢广大客户长期以来的支持与厚爱，本公司特别推出年货大礼包限时抢购活动，"
    "数量有限先到先得，详情请咨询门店工作人员"
)
LONG_WARNING = (
    "市人社局提醒近期有不法分子冒充社保工作人员推销所谓社保卡套声称限时抢购扫码领取优惠券"
    "请广大市民提高警惕谨防上当受骗"
)


def _finding(findings, pattern):
    return next(f for f in findings if f.pattern == pattern)


def test_evidence_quotes_whole_words_and_marks_the_cuts():
    f = _finding(screen_text("", LONG_AD), "限时抢购")
    # Before: "别推出年货大礼包限时抢购活动，数量有限先" (half of 特别).
    assert f.evidence == "…本公司特别推出年货大礼包限时抢购活动，数量有限先到先得…"
    f = _finding(screen_text("", LONG_WARNING), "优惠券")
    # Before: "限时抢购扫码领取优惠券请广大市民提高警" (half of 提高警惕).
    assert f.evidence == "…限时抢购扫码领取优惠券请广大市民提高警惕…"


def test_evidence_ends_at_a_nearby_full_stop_and_keeps_it():
    text = "近日我市开展了冬季送温暖活动。商家现场推出限时抢购，欢迎市民参与。活动持续到本月底结束"
    f = _finding(screen_text("", text), "限时抢购")
    assert f.evidence == "…商家现场推出限时抢购，欢迎市民参与。…"


def test_evidence_of_a_short_text_is_the_whole_text():
    assert _finding(screen_text("限时抢购！扫码领取社保卡套", ""), "扫码领取").evidence == (
        "限时抢购！扫码领取社保卡套"
    )
    text = "为回馈广大居民现推出限时抢购活动名额有限请尽快报名参加"
    assert _finding(screen_text("", text), "限时抢购").evidence == text


def test_evidence_keeps_links_and_latin_words_whole():
    text = "本店福利多多详情请访问 https://m.tb.cn/h.abc 查看并下单购买，更多好物等你来"
    f = _finding(screen_text("", text), "tb.cn")
    assert f.evidence == "…https://m.tb.cn/h.abc 查看并下单购买…"
    assert not f.evidence.startswith(("…ttps", "…tps", "…ps", "…s:"))
    # Only "…" is added: what is quoted is what was written.
    for f in screen_text("", LONG_AD + text):
        assert f.evidence.strip("…") in LONG_AD + text
