"""The sentences of an answer that say what a follow-up asks: 多少钱 after the answer on the
residence permit gets 材料齐全的，15个工作日内发证，办理不收费。 On a phone the whole answer again
buries the one line the citizen asked for (bot/engine.py shows it under the entry's question)."""

from __future__ import annotations

import re

# (words of the follow-up, a pattern of what says it in the answer's sentences)
_ASPECTS = (
    (("材料", "资料", "证件", "证明", "手续", "带"),
     "材料|资料|身份证|户口簿|户口本|证明|照片|复印件|证件|申请表|营业执照|携带|凭"),
    (("哪里", "哪儿", "在哪", "去哪", "地点", "地方", "地址", "窗口", "网上", "线上", "手机"),
     "窗口|地址|网点|大厅|公众号|网上|线上|小程序|派出所|警务室|柜台|服务站"),
    # how long it takes, not by when the citizen must act (有效期满前30日内, 离职后60日内)
    (("多久", "多长时间", "几天", "时间", "时候"),
     r"工作日|(?<![前后\d])\d+[天日]内|小时|当场|即时|次月|每月|寄出|到账"),
    (("多少钱", "费用", "收费", "免费", "钱"), "元|免费|收费|工本费"),
    (("条件", "要求", "标准", "资格"), "条件|年满|符合|(?<!期)满|的，可|均可"),
)  # fmt: skip
_SAYS = tuple((cues, re.compile(said)) for cues, said in _ASPECTS)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?\n]*")
# An excerpt longer than this share of the answer is the answer: it is shown whole.
_MOST = 0.6


def excerpt(answer: str, asked: str) -> str | None:
    """The sentences of ``answer`` that say what ``asked`` (an aspect: 要带什么材料, 去哪里办,
    要多久, 多少钱, 什么条件) asks, in order; None when ``asked`` names no such aspect, when no
    sentence says it, or when they make up most of the answer."""
    groups = [said for cues, said in _SAYS if any(w in asked for w in cues)]
    if not groups:
        return None
    sentences = [s for s in _SENTENCE.findall(answer) if s.strip()]
    picked = [s for s in sentences if any(said.search(s) for said in groups)]
    text = "".join(picked).strip()
    if not text or len(text) > _MOST * len(answer.strip()):
        return None
    return text
