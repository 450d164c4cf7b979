"""错敏词 check of drafts and posts: wrong and sensitive wording (issue 14).

Inspections fail government accounts for wrong and sensitive wording more than for anything
else. Five lists, kept by admins in the database (``publishing.wording_rules``, table
``pub_wording_rule``) and seeded once with the built-in starter set ``STARTER_RULES`` below:

- ``misuse``: misused words and characters with their correction (登陆网站 → 登录, 截止2024年
  → 截至, 再接再励 → 再接再厉);
- ``style``: the office's house style, not errors by the dictionary (其它 → 其他, 做出决定 →
  作出决定); ordinary rules that admins switch off where their style guide says otherwise;
- ``outdated``: names of institutions and policies that no longer exist (市卫生计生委, 国土资源局,
  公安消防部门, 暂住证 …), not flagged where the text cites a document they issued
  ("国土资源部《土地登记办法》", "文化部令第26号"), calls them 原…, or tells of the reform;
- ``sensitive``: wording an official account must not use (蔑称, 低端人口, 炒作高考状元 …);
- ``leader``: the office's list of leaders, in their official order, each with the official
  title(s). A known leader's name next to a title that is not theirs is flagged, and so is a
  listing of several leaders (names joined by 、，和 及 与, each with its titles) out of order.
  There is no built-in list: ``DEMO_LEADERS`` is the fictional demo city's.

This module is plain Python over plain data, no database, like the ad screening
(``accounts.screening``): ``check_wording`` applies exactly the rules it is given (:class:`Rule`,
or an admin's row: kind, pattern, correction, note, whether the pattern is a regular
expression). Text is folded the way the ad screening folds it (full-width, case, zero-width
characters) and then traditional to simplified with OpenCC, while the evidence is cut from the
original text with the ad screening's quoting.

A finding is a reason for a reviewer to look: the reviewer may accept it as intended, with a note.

Measured on the 2,080 real answers of ``../shared/data/gov-qa.jsonl`` (``python -m
bench.wording_bench``: the starter set and the demo leaders), each finding inspected. Misused
words: 27 answers (1.3%; 登陆 for 登录 in 26, 做为 in 1). House style: 45 (2.2%; 其它 in 36, 做出
before 决定/处理/贡献 in 9). Outdated names: 37 answers, 41 findings (国土资源局/部/部门 in 26 of
them, 市卫生计生委, 公安消防部门, 地税部门, 市环保局 …); in 5 of these the sentence tells a past
event (“据北京市保监局最新统计”, “自2004年起由国土资源局办理”), where a reviewer accepts the
finding or writes 原…. Sensitive wording: 0. Leaders (the demo list): 0. In all 107 answers
(5.1%), 113 findings, none a false alarm in the sense of a right word taken for a wrong one; the
answers are a decade old, which is why the retired names are many. 1.7 s for all 2,080 (0.8 ms
an answer).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from accounts.screening import _evidence, _fold_indexed
from accounts.screening import fold as _screening_fold

KINDS = {
    "misuse": "错用词",
    "style": "文风",
    "outdated": "过时名称",
    "sensitive": "敏感表述",
    "leader": "领导姓名职务",
}


@dataclass(frozen=True)
class Rule:
    kind: str  # misuse | style | outdated | sensitive | leader
    # A word, or a regular expression when ``regex``; for a leader, the name.
    pattern: str
    # What to write instead; for a leader, the official title(s) joined by "、".
    correction: str = ""
    note: str = ""  # why, for people: "“登陆”指上岸，进入网站、系统用“登录”"
    regex: bool = False


@dataclass(frozen=True)
class WordingFinding:
    kind: str
    pattern: str
    evidence: str  # the place in the original text, with context
    correction: str
    where: str  # title | body
    note: str = ""
    found: str = ""  # the words matched, as written
    count: int = 1  # how many times the rule matched in title and body

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _word(kind: str, word: str, correction: str, note: str = "") -> Rule:
    return Rule(kind, word, correction, note)


def _rx(kind: str, pattern: str, correction: str, note: str = "") -> Rule:
    return Rule(kind, pattern, correction, note, regex=True)


# Misused words. Only forms that are wrong wherever they stand, or regular expressions that name
# the context in which they are wrong: 截止 is right in 截止日期 and 报名截止, 登陆 in 台风登陆.
_CLAUSE = r"[^，,。；;！!？?\n]"  # folded text has half-width , ; ! ?
MISUSE_RULES: list[Rule] = [
    _rx(
        "misuse",
        r"截止(?=\d{2,4}年|\d{1,2}月\d|\d{1,2}日|[一二三四五六七八九十〇零]{2,4}年"
        r"|目前|今年|本年|当年|去年|上年|今日|今天|昨日|昨天|本月|上月|当月|当前|现在|发稿|"
        r"年底|年末|月底|本周)",
        "截至",
        "“截至”后接时间，表示到某时为止；“截止”表示停止，不直接带时间（截止到、截止日期可用）",
    ),
    _rx(
        "misuse",
        r"截至(?=日期|期限|时间[为是:]|[，,。；;！!？?\n）)]|$)",
        "截止",
        "到期停止用“截止”（截止日期、报名截止）；“截至”后须接时间",
    ),
    _rx(
        "misuse",
        r"(?:注册|用户|扫码|账号|帐号|密码|短信|实名|号码|证书|模块|首次|重新|无法|自动)、?登陆"
        rf"|登陆(?={_CLAUSE}{{0,25}}?(?:网|系统|平台|页面|账号|账户|帐号|app|客户端|小程序|公众号"
        r"|邮箱|后台|门户|软件|http|www|模块|入口|界面|密码|方式|首都之窗))",
        "登录",
        "“登陆”指从水上到陆地；进入网站、系统、账号用“登录”",
    ),
    _rx(
        "misuse",
        r"必需(?=要|得|提供|携带|持有|到场|在|由|经过|具备|符合|进行|办理|填写|提交|遵守|保证|确保"
        r"|满足|通过|先|向|按照|依法|严格|本人|及时|按时|亲自|如实|缴纳|出具|取得|签订|具有|参加)",
        "必须",
        "“必须”是副词，表示一定要；“必需”表示不可缺少（生活必需品）",
    ),
    _word("misuse", "必须品", "必需品", "不可缺少的物品是“必需品”"),
    _rx("misuse", r"度过(?=难关|危机|困境|险关)", "渡过", "越过困难用“渡过”，经过时间用“度过”"),
    _rx(
        "misuse",
        r"渡过(?=[^，,。]{0,3}?(?:假期|时光|岁月|春节|晚年|童年|一生|节日|周末|寒假|暑假))",
        "度过",
        "经过一段时间用“度过”",
    ),
    _rx(
        "misuse",
        rf"向{_CLAUSE}{{1,15}}?反应(?=问题|情况|诉求|意见|建议|[，,。；;！!？?\n]|$)",
        "反映",
        "把情况、意见告诉上级或有关部门是“反映”",
    ),
    _rx("misuse", r"需知(?!识|道|晓|悉|情)", "须知", "“须知”指必须知道的事项（办事须知）"),
    _rx("misuse", r"签定(?=了?(?:合同|协议|条约|契约|协定))", "签订", "订立合同、协议是“签订”"),
    _rx("misuse", r"布署(?![名长])", "部署", ""),
    _rx("misuse", r"按装(?![修饰卸箱车订])", "安装", ""),
    _rx("misuse", r"重迭(?!代)", "重叠", ""),
    _rx("misuse", r"(?<!严)峻工", "竣工", ""),
    _rx("misuse", r"侯(?=车室|车厅|车区|诊)", "候", "等候是“候”"),
    _rx("misuse", r"松驰(?![骋援])", "松弛", ""),
    _rx("misuse", r"做为(?!民|人民|群众)", "作为", ""),
    # 既使…又… is right (既 + 使); 既使…也… for "even if" is the error.
    _rx("misuse", r"既使(?!用|得)(?![^。；;！!？?\n]*?又)", "即使", "表示假设让步用“即使”"),
    *[
        _word("misuse", wrong, right)
        for wrong, right in (
            ("再接再励", "再接再厉"),
            ("谈笑风声", "谈笑风生"),
            ("公布于众", "公之于众"),
            ("迫不急待", "迫不及待"),
            ("一愁莫展", "一筹莫展"),
            ("按步就班", "按部就班"),
            ("一如继往", "一如既往"),
            ("走头无路", "走投无路"),
            ("不径而走", "不胫而走"),
            ("甘败下风", "甘拜下风"),
            ("鼎立相助", "鼎力相助"),
            ("金榜提名", "金榜题名"),
            ("默守成规", "墨守成规"),
            ("声名雀起", "声名鹊起"),
            ("针贬时弊", "针砭时弊"),
            ("出奇不意", "出其不意"),
            ("穿流不息", "川流不息"),
            ("美仑美奂", "美轮美奂"),
            ("言简意骇", "言简意赅"),
            ("各行其事", "各行其是"),
            ("有持无恐", "有恃无恐"),
            ("直接了当", "直截了当"),
            ("蜂涌而至", "蜂拥而至"),
            ("世外桃园", "世外桃源"),
            ("矫柔造作", "矫揉造作"),
            ("一股作气", "一鼓作气"),
            ("既往不究", "既往不咎"),
            ("不可思义", "不可思议"),
            ("鬼鬼崇崇", "鬼鬼祟祟"),
            ("仗义直言", "仗义执言"),
            ("提纲携领", "提纲挈领"),
            ("出人投地", "出人头地"),
            ("震憾", "震撼"),
            ("防碍", "妨碍"),
            ("气慨", "气概"),
            ("幅射", "辐射"),
            ("渲泄", "宣泄"),
            ("发韧", "发轫"),
            ("身分证", "身份证"),
        )
    ],
]

# House style of government writing: not errors by the dictionary, but what the office's style
# guide asks for. Kept apart so that the figures tell them from real errors.
STYLE_RULES: list[Rule] = [
    _word("style", "其它", "其他", "文风：统一用“其他”"),
    _rx(
        "style",
        rf"做出(?={_CLAUSE}{{0,10}}?(?:决定|贡献|部署|规定|处罚|处理|承诺|答复|解释|判断|决策|批示"
        r"|认定|评价|安排))",
        "作出",
        "文风：作出决定、作出贡献、作出安排（法律法规和公文的写法）",
    ),
]

# Names retired by the institutional reforms (2008, 2013, 2018, 2023) and replaced policies.
# The corrections name the national body or the usual local name; the local one may differ.
_LOCAL = "本地现行机构名称以“三定”方案为准"
OUTDATED_RULES: list[Rule] = [
    _rx("outdated", r"国家工商行政管理总局|国家工商总局", "国家市场监督管理总局", "2018年机构改革"),
    _rx(
        "outdated",
        r"工商行政管理(?:局|分局|所|部门|机关)|工商(?:局|分局|所)(?!长)",
        "市场监督管理局（市场监管部门）",
        "2018年机构改革；" + _LOCAL,
    ),
    _rx(
        "outdated",
        r"国家质量监督检验检疫总局|国家质检总局|质量技术监督局|质监局",
        "市场监督管理部门（出入境检验检疫：海关）",
        "2018年机构改革",
    ),
    _rx(
        "outdated",
        r"国家食品药品监督管理总局|食品药品监督管理局|食药监局",
        "市场监督管理部门（药品：药品监督管理局）",
        "2018年机构改革",
    ),
    _rx(
        "outdated",
        r"卫生和计划生育委员会|卫生计生委|卫计委|卫生计生局|人口和计划生育委员会|人口计生委|计生委",
        "卫生健康委员会（卫生健康委）",
        "2018年机构改革",
    ),
    _rx(
        "outdated",
        r"(?<!国家)卫生局|(?<![公])卫生部(?!门)",
        "卫生健康委员会",
        "2013、2018年机构改革",
    ),
    _rx(
        "outdated",
        r"国土资源(?:主管|管理)?部门",
        "自然资源主管部门",
        "2018年机构改革",
    ),
    _rx("outdated", r"国土资源部(?!门)", "自然资源部", "2018年机构改革"),
    _rx(
        "outdated",
        r"国土资源局|国土局|国土分局",
        "自然资源局（北京：规划和自然资源委员会）",
        "2018年机构改革；" + _LOCAL,
    ),
    _rx("outdated", r"环境保护部|环保部(?!门)", "生态环境部", "2018年机构改革"),
    _rx("outdated", r"环境保护局|环保局", "生态环境局", "2018年机构改革；" + _LOCAL),
    _rx("outdated", r"文化部(?!门)", "文化和旅游部", "2018年机构改革"),
    _rx("outdated", r"国家旅游局", "文化和旅游部", "2018年机构改革"),
    _rx("outdated", r"农业部(?!门)", "农业农村部", "2018年机构改革"),
    _rx("outdated", r"(?<!城乡)建设部(?![门分署])", "住房和城乡建设部", "2008年机构改革"),
    _rx("outdated", r"铁道部", "国家铁路局、中国国家铁路集团有限公司", "2013年机构改革"),
    _rx("outdated", r"信息产业部", "工业和信息化部", "2008年机构改革"),
    _rx("outdated", r"(?<![纪检])监察部(?!门)", "国家监察委员会", "2018年机构改革"),
    _rx("outdated", r"国家林业局", "国家林业和草原局", "2018年机构改革"),
    _rx("outdated", r"国家新闻出版广电总局", "国家广播电视总局、国家新闻出版署", "2018年机构改革"),
    _rx("outdated", r"国务院法制办公室|国务院法制办", "司法部", "2018年机构改革"),
    _rx(
        "outdated",
        r"国家安全生产监督管理总局|安全生产监督管理局|安监(?:总局|局)",
        "应急管理部（应急管理局）",
        "2018年机构改革",
    ),
    _rx("outdated", r"公安消防", "消防救援机构", "2018年公安消防部队改制为消防救援队伍"),
    _rx(
        "outdated",
        r"地方税务局|地税(?:局|部门|机关)|国家税务局|国税(?:局|部门|机关)",
        "税务局（税务部门）",
        "2018年国税地税征管体制改革",
    ),
    _rx(
        "outdated",
        r"银保监会|银保监局|银监会|银监局|保监会|保监局",
        "国家金融监督管理总局（金融监管局）",
        "2018、2023年机构改革",
    ),
    _rx(
        "outdated",
        r"劳动和社会保障(?:部|厅|局)|劳动保障局|劳动局",
        "人力资源和社会保障部门",
        "2008年机构改革",
    ),
    _rx("outdated", r"扶贫办", "乡村振兴部门", "2021年扶贫机构重组为乡村振兴机构"),
    _word("outdated", "暂住证", "居住证", "《居住证暂行条例》（2016年施行）"),
    _rx("outdated", r"新农合|新型农村合作医疗", "城乡居民基本医疗保险", "城乡居民医保制度整合"),
    _word("outdated", "城镇居民基本医疗保险", "城乡居民基本医疗保险", "城乡居民医保制度整合"),
    _rx("outdated", r"营业税(?!改)", "增值税", "2016年全面营改增"),
    _rx("outdated", r"外国专家证|外国人就业证", "外国人工作许可证", "2017年外国人来华工作许可制度"),
]

# Wording an official account must not use. Each one is demeaning or banned by a national rule;
# contested words (农民工, 弱势群体) are left out.
_SLUR = "蔑称（新华社新闻信息报道中的禁用词）"
SENSITIVE_RULES: list[Rule] = [
    _word("sensitive", "吃瓜群众", "群众、网民", "网络戏谑语，贬损群众"),
    _word("sensitive", "屁民", "群众", "侮辱性称呼"),
    _word("sensitive", "刁民", "群众", "侮辱性称呼"),
    _word("sensitive", "低端人口", "（删除）", "歧视性说法"),
    _word("sensitive", "老赖", "失信被执行人", "口语贬称，正式文本用法定称谓"),
    _word("sensitive", "残废", "残疾", _SLUR),
    _rx("sensitive", r"瞎子(?!摸)", "盲人", _SLUR),
    _word("sensitive", "聋子", "聋人", _SLUR),
    _word("sensitive", "傻子", "智力障碍者", _SLUR),
    _word("sensitive", "瘸子", "肢体残疾人", _SLUR),
    _word("sensitive", "弱智", "智力障碍", _SLUR),
    _word("sensitive", "脑残", "（删除）", "侮辱性网络用语"),
    _rx("sensitive", r"[高中]考状元", "（删除）", "教育部严禁宣传炒作“高考状元”"),
    _word("sensitive", "台湾总统", "台湾地区领导人", "涉台用语"),
    _rx("sensitive", r"台湾政府(?!机构)", "台湾当局", "涉台用语"),
    _word("sensitive", "北朝鲜", "朝鲜", "新华社禁用词"),
]

STARTER_RULES: list[Rule] = [
    *MISUSE_RULES,
    *STYLE_RULES,
    *OUTDATED_RULES,
    *SENSITIVE_RULES,
]

# The fictional demo city's leaders, in their official order. Not a default: a real office keeps
# its own list, and made-up names must never be checked against a real city's text.
DEMO_LEADERS: list[Rule] = [
    Rule("leader", name, titles, "清源市（虚构演示数据）")
    for name, titles in (
        ("钟山岳", "市委书记"),
        ("赵明", "市委副书记、市长"),
        ("柯文远", "市人大常委会主任"),
        ("宁秋实", "市政协主席"),
        ("贺永川", "市委副书记"),
        ("景安澜", "常务副市长"),
        ("葛一帆", "副市长"),
    )
]

# Titles recognised next to a leader's name, besides the leaders' own. Longest match wins, so
# "副市长" is never read as "市长".
TITLES = (
    "市委书记",
    "市委副书记",
    "市委常委",
    "市长",
    "副市长",
    "常务副市长",
    "代市长",
    "市长助理",
    "秘书长",
    "副秘书长",
    "市人大常委会主任",
    "市人大常委会副主任",
    "市政协主席",
    "市政协副主席",
    "市纪委书记",
    "市监委主任",
    "书记",
    "副书记",
    "主任",
    "副主任",
    "主席",
    "副主席",
    "区委书记",
    "区长",
    "副区长",
    "县委书记",
    "县长",
    "副县长",
    "镇长",
    "乡长",
    "局长",
    "副局长",
    "部长",
    "副部长",
    "厅长",
    "副厅长",
)
# Said before a title that is otherwise the official one: 常务副市长 may be called 副市长,
# 市委书记 书记; but 市长 is not 常务副市长.
_TITLE_PREFIXES = ("常务", "市委", "市政府", "市人大常委会", "市人大", "市政协", "市")
# What may stand between two names of one listing.
_LIST_GAP = re.compile(r"\s*(?:同志)?\s*(?:[、，,]|以及|和|及|与)?\s*")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """The form rules and text are compared in: the ad screening's folding, then traditional
    characters to simplified."""
    return _t2s().convert(_screening_fold(text))


def _fold_wording(text: str) -> tuple[str, list[int]]:
    folded, index = _fold_indexed(text)
    converted = _t2s().convert(folded)
    if len(converted) == len(folded):
        return converted, index
    # A phrase converted to a different length: go character by character to keep the index.
    chars: list[str] = []
    where: list[int] = []
    for ch, i in zip(folded, index, strict=True):
        c = _t2s().convert(ch)
        chars.append(c)
        where.extend([i] * len(c))
    return "".join(chars), where


@lru_cache(maxsize=2048)
def compile_rule(pattern: str, regex: bool) -> re.Pattern[str] | None:
    """The regular expression of a rule; None when the pattern is empty or unusable."""
    if regex:
        try:
            # Not lower-cased like the text (that would turn \D into \d): matched ignoring case.
            rx = re.compile(_t2s().convert(unicodedata.normalize("NFKC", pattern)), re.IGNORECASE)
        except re.error:
            return None
        return rx if not rx.match("") else None
    word = fold(pattern).strip()
    return re.compile(re.escape(word)) if word else None


def _rules(rules: Iterable[Any]) -> list[Rule]:
    out: list[Rule] = []
    for r in rules:
        if isinstance(r, Rule):
            out.append(r)
            continue
        get = r.get if isinstance(r, dict) else lambda k, r=r: getattr(r, k, None)
        kind = str(get("kind"))
        # A leader's row keeps the titles in ``title``; the check reads them as the correction.
        correction = (get("title") if kind == "leader" else None) or get("correction")
        out.append(
            Rule(
                kind,
                str(get("pattern") or ""),
                str(correction or ""),
                str(get("note") or ""),
                bool(get("regex")),
            )
        )
    return out


_SENTENCE_END = "。！!？?；;\n"
# A mention of a retired body that is right as it stands: it issued the document cited.
_ISSUER = re.compile(r"[《〔\[]|令|第\d+号|\d+号|关于|发布|印发|下发|联合|制定|出台|颁布")
_REFORM = re.compile(
    r"更名|改名|改称|组建|划入|整合|合并|撤销|不再保留|机构改革|改革前|现为|现更名"
)
_FORMER = re.compile(r"原(?![则因来件有始告])(?:[\u4e00-\u9fff]{1,6}?[省市区县])?$")


def _legit_mention(text: str, start: int, end: int, correction: str) -> bool:
    """An outdated name that is right where it stands: called 原…, inside a document's title,
    named as the issuer of a cited document, or in a sentence about the reform or giving the
    current name."""
    if _FORMER.search(text, max(0, start - 8), start):
        return True
    before = text[max(0, start - 40) : start]
    if before.rfind("《") > before.rfind("》"):
        return True
    clause_end = end
    while (
        clause_end < len(text)
        and clause_end - end < 40
        and text[clause_end] not in "，,。；;！!？?\n"
    ):
        clause_end += 1
    if _ISSUER.search(text, end, clause_end):
        return True
    s = max((text.rfind(c, 0, start) for c in _SENTENCE_END), default=-1) + 1
    e = min((i for i in (text.find(c, end) for c in _SENTENCE_END) if i >= 0), default=len(text))
    sentence = text[s:e]
    current = correction.split("（")[0]
    return bool(_REFORM.search(sentence)) or bool(current and current in sentence)


def _check_leaders(
    leaders: list[Rule], texts: list[tuple[str, str, str, list[int]]]
) -> list[WordingFinding]:
    official: dict[str, tuple[int, list[str]]] = {}
    for rank, r in enumerate(leaders):
        name = fold(r.pattern).strip()
        if name and name not in official:
            official[name] = (
                rank,
                [fold(t).strip() for t in r.correction.split("、") if t.strip()],
            )
    if not official:
        return []
    titles = sorted(
        {*TITLES, *(t for _, ts in official.values() for t in ts)}, key=len, reverse=True
    )
    names = re.compile("|".join(re.escape(n) for n in sorted(official, key=len, reverse=True)))

    def title_before(text: str, pos: int) -> str | None:
        return next((t for t in titles if pos >= len(t) and text.startswith(t, pos - len(t))), None)

    def title_ok(title: str, theirs: list[str]) -> bool:
        return any(t == title or t in {p + title for p in _TITLE_PREFIXES} for t in theirs)

    findings: list[WordingFinding] = []
    seen: set[tuple[str, ...]] = set()
    for where, text, ftext, index in texts:
        mentions = []  # (name, start, end, extended start, extended end)
        for m in names.finditer(ftext):
            name = m.group(0)
            used: list[tuple[str, int]] = []  # the titles next to the name, with their start
            pos = m.start()
            while (t := title_before(ftext, pos)) is not None:
                pos -= len(t)
                used.append((t, pos))
                if not (pos > 0 and ftext[pos - 1] == "、" and title_before(ftext, pos - 1)):
                    break
                pos -= 1
            ext_start, ext_end = pos, m.end()
            after = next((t for t in titles if ftext.startswith(t, m.end())), None)
            if after:
                used.append((after, m.end()))
                ext_end += len(after)
            mentions.append((name, m.start(), m.end(), ext_start, ext_end))
            for title, at in used:
                rank, theirs = official[name]
                if title_ok(title, theirs) or ("leader", name, title) in seen:
                    continue
                seen.add(("leader", name, title))
                a, b = min(at, m.start()), max(at + len(title), m.end())
                findings.append(
                    WordingFinding(
                        "leader",
                        leaders[rank].pattern,
                        _evidence(text, index, a, b),
                        leaders[rank].correction,
                        where,
                        f"职务有误：文中为“{title}”，{leaders[rank].pattern}的职务是"
                        f"“{leaders[rank].correction}”",
                        text[index[a] : index[b - 1] + 1],
                    )
                )
        # Listings: runs of mentions with only a separator between them.
        run: list[tuple[str, int, int, int, int]] = []
        for mention in [*mentions, None]:
            if (
                mention is not None
                and run
                and _LIST_GAP.fullmatch(ftext, run[-1][4], mention[3]) is not None
            ):
                run.append(mention)
                continue
            listed = list(dict.fromkeys(n for n, *_ in run))
            ranks = [official[n][0] for n in listed]
            if len(listed) > 1 and ranks != sorted(ranks):
                right = "、".join(
                    leaders[official[n][0]].pattern
                    for n in sorted(listed, key=lambda n: official[n][0])
                )
                key = ("order", *listed)
                if key not in seen:
                    seen.add(key)
                    a, b = run[0][3], run[-1][4]
                    findings.append(
                        WordingFinding(
                            "leader",
                            "、".join(leaders[official[n][0]].pattern for n in listed),
                            _evidence(text, index, a, b),
                            right,
                            where,
                            "领导排序有误，应为：" + right,
                            text[index[a] : index[b - 1] + 1],
                        )
                    )
            run = [mention] if mention is not None else []
    return findings


def check_wording(title: str, body: str, rules: Iterable[Any]) -> list[WordingFinding]:
    """Wrong and sensitive wording in a draft or post, by the ``rules`` given and no others.

    ``rules`` are the active rows of the admins' lists (``publishing.wording_rules``), or
    :class:`Rule`, dicts or objects with kind, pattern, correction, note and optionally regex
    (a leader's titles in ``title`` or ``correction``); ``STARTER_RULES`` where no database is
    at hand. Leader rules are taken in the order given, which is the official order. One
    finding per rule (at its first match, with the number of matches), and one per wrong title
    or misordered listing of leaders.
    """
    all_rules = _rules(rules)
    texts = [
        (where, text, *_fold_wording(text))
        for where, text in (("title", title or ""), ("body", body or ""))
    ]
    findings: list[WordingFinding] = []
    seen: set[tuple[str, str, bool]] = set()
    for rule in all_rules:
        if rule.kind not in KINDS or rule.kind == "leader":
            continue
        key = (rule.kind, rule.pattern, rule.regex)
        rx = compile_rule(rule.pattern, rule.regex)
        if rx is None or key in seen:
            continue
        seen.add(key)
        first: tuple[str, str, list[int], int, int] | None = None
        count = 0
        for where, text, ftext, index in texts:
            for m in rx.finditer(ftext):
                if m.end() == m.start():
                    continue
                if rule.kind == "outdated" and _legit_mention(
                    ftext, m.start(), m.end(), fold(rule.correction)
                ):
                    continue
                count += 1
                if first is None:
                    first = (where, text, index, m.start(), m.end())
        if first is not None:
            where, text, index, a, b = first
            findings.append(
                WordingFinding(
                    rule.kind,
                    rule.pattern,
                    _evidence(text, index, a, b),
                    rule.correction,
                    where,
                    rule.note,
                    text[index[a] : index[b - 1] + 1],
                    count,
                )
            )
    findings.extend(_check_leaders([r for r in all_rules if r.kind == "leader"], texts))
    return findings
