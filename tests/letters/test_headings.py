"""How a letter without a title is listed: its first line that is more than a greeting."""

from __future__ import annotations

import pytest

from letters.service import HEADING_CHARS, first_line, heading_of


@pytest.mark.parametrize(
    ("content", "line"),
    [("尊敬的领导：\n\n  我是清源花园的业主，小区路灯坏了", "我是清源花园的业主，小区路灯坏了"),
     ("市长您好！\n路灯坏了三个月", "路灯坏了三个月"),
     ("各位领导们好：\n路灯坏了", "路灯坏了"),
     ("工作人员你好，\n请问公租房怎么申请", "请问公租房怎么申请"),
     ("我要找社区主任\n他一直不接电话", "我要找社区主任"),  # a request, not a greeting
     ("请问市长信箱怎么用？", "请问市长信箱怎么用？"),
     ("您好", "您好"),  # nothing but a greeting: that is what it says
     ("社保卡丢了  怎么补办", "社保卡丢了 怎么补办")],
)  # fmt: skip
def test_the_first_line_past_a_greeting(content, line):
    assert first_line(content) == line


def test_the_heading_is_the_title_or_the_first_line_cut():
    assert heading_of("  菜市场占道经营 ", "早晚高峰车辆无法通行。") == "菜市场占道经营"
    long = "我家楼下烧烤店每天晚上油烟很大，还吵到半夜，请问该找哪个部门管？"
    heading = heading_of("", f"尊敬的领导：\n{long}")
    assert len(heading) == HEADING_CHARS and heading == long[: HEADING_CHARS - 1] + "…"
    assert heading_of("", "路灯坏了") == "路灯坏了"
