"""PDF documents of the reports the units fill in or are scored by, in supervision.pdf's layout
(its styles, tables and numbered pages): a year's annual reports and a month's information-
submission bulletin (landscape: their tables are wide), and one account's annual report.
Rendering is synchronous: callers on the event loop run it in a thread."""

from __future__ import annotations

import datetime as dt
from typing import Any

from infra.clock import beijing_date
from supervision.annual import ENTERED, FIGURES, due_date
from supervision.bulletin import cn_date
from supervision.export import PLATFORM_LABELS
from supervision.models import ADOPTION_LEVELS, ANNUAL_STATUSES, Adoption, AnnualReport
from supervision.pdf import LANDSCAPE_WIDTH, _document, _p, _paras, _table, signature
from supervision.submissions import next_month


def _figure(value: Any) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _entered(r: AnnualReport, key: str) -> Any:
    """A figure the platform gave, else the one the unit entered."""
    value = r.figures.get(key)
    return value if value is not None else getattr(r, key)


def annual_title(year: int) -> str:
    return f"{year}年度政务新媒体年度报表"


def annual_list_pdf(
    year: int, rows: list[AnnualReport], counts: dict[str, int], office: str, today: dt.date
) -> bytes:
    """A year's annual reports as the reader may see them (a unit's staff: their unit's), one
    row per account with every figure, then each account's mechanisms."""
    name = annual_title(year)
    parts = "，".join(f"{label}{counts.get(s, 0)}份" for s, label in ANNUAL_STATUSES.items())
    story: list = [
        _p(name, "title"),
        _p(f"（公开期限{cn_date(due_date(year))}，统计截至{cn_date(today)}）", "subtitle"),
        _p(
            f"{year}年度共有政务新媒体账号年度报表{len(rows)}份，其中{parts}。发布信息不含经审核"
            "认定为广告或严重错误后删除的；留言按收到日期计入年度，答复天数自收到之日至答复之日；"
            "粉丝数和阅读量平台未提供的，由账号主办单位填报。"
        ),
        _p("一、各账号年度数据", "h1"),
        _table(
            ["单位", "账号", "平台", "状态", *FIGURES.values(), *ENTERED.values()],
            (
                [
                    r.unit.name,
                    r.account_name,
                    PLATFORM_LABELS.get(r.platform, r.platform),
                    ANNUAL_STATUSES.get(r.status, r.status),
                    *(_figure(r.figures.get(k)) for k in FIGURES),
                    *(_figure(_entered(r, k)) for k in ENTERED),
                ]
                for r in rows
            ),
            [3.4, 2.6, 1.7, 1.3] + [1.1] * len(FIGURES) + [1.5] * len(ENTERED),
            LANDSCAPE_WIDTH,
        ),
        _p("二、机制保障情况", "h1"),
        _table(
            ["单位", "账号", "机制保障情况"],
            ([r.unit.name, r.account_name, r.mechanisms] for r in rows if r.mechanisms.strip()),
            [3, 2.6, 10],
            LANDSCAPE_WIDTH,
        ),
        *signature(office, today),
    ]
    return _document(story, name, office, landscape=True)


def annual_report_pdf(r: AnnualReport, today: dt.date) -> bytes:
    """One account's annual report as its unit makes it public: the account, the figures
    counted from the records, those the unit entered, and its mechanisms. Signed by the unit
    on the day published; one not yet published says so on every page."""
    name = f"{r.year}年度政务新媒体工作年度报表"
    platform = PLATFORM_LABELS.get(r.platform, r.platform)
    published = r.status == "published" and r.published_at is not None
    story: list = [
        _p(name, "title"),
        _p(f"（{r.account_name} · {platform}）", "subtitle"),
        _p("一、基本情况", "h1"),
        _table(
            ["账号名称", r.account_name, "平台", platform],
            [
                ["主办单位", r.unit.name, "状态", ANNUAL_STATUSES.get(r.status, r.status)],
                ["报表年度", f"{r.year}年", "公开期限", cn_date(due_date(r.year))],
            ],
            [1.2, 3, 1.2, 2],
        ),
        _p("二、信息发布与互动回应", "h1"),
        _p(
            f"按系统记录统计，截至{cn_date(beijing_date(r.figures_at))}；发布信息不含认定为广告"
            "或严重错误后删除的，留言按收到日期计入年度。",
            "note",
        ),
        _table(
            ["项目", "数值"],
            [[label, _figure(r.figures.get(k))] for k, label in FIGURES.items()],
            [3, 1],
        ),
        _p("三、传播发展", "h1"),
        _table(
            ["项目", "数值", "来源"],
            [
                [
                    label,
                    _figure(_entered(r, key)),
                    "平台数据" if r.figures.get(key) is not None else "单位填报",
                ]
                for key, label in ENTERED.items()
            ],
            [2, 1.5, 1],
        ),
        _p("四、机制保障情况", "h1"),
        *(_paras(r.mechanisms) or [_p("未填报。")]),
    ]
    story += signature(r.unit.name, beijing_date(r.published_at) if published else today)
    marker = "" if published else f"未公开（{ANNUAL_STATUSES.get(r.status, r.status)}）"
    return _document(story, f"{r.account_name}{name}", r.unit.name, marker)


def submissions_title(month: dt.date) -> str:
    return f"{month.year}年{month.month}月政务信息报送情况通报"


def submissions_pdf(
    month: dt.date,
    table: list[dict[str, Any]],
    adoptions: list[Adoption],
    points: dict[str, float],
    office: str,
    today: dt.date,
) -> bytes:
    """The month's information-submission bulletin (002 §21): the totals, every unit ranked
    with the year's running totals, and the adoptions the reader may see."""
    name = submissions_title(month)
    end = min(next_month(month) - dt.timedelta(days=1), today)  # so far, in the month itself
    submitted = sum(r["submitted"] for r in table)
    adopted = sum(r["adopted"] for r in table)
    by_level = "、".join(
        f"{label}{sum(r[level] for r in table)}条" for level, label in ADOPTION_LEVELS.items()
    )
    scale = "、".join(
        f"{label}采用每条{points[level]:g}分" for level, label in ADOPTION_LEVELS.items()
    )
    story: list = [
        _p(name, "title"),
        _p(f"（{month.year}年{month.month}月1日至{end.month}月{end.day}日）", "subtitle"),
        _p("各有关单位：", "to"),
        _p(
            f"{month.year}年{month.month}月，各单位共报送政务信息{submitted}条，被采用{adopted}条"
            f"（采用{by_level}）。计分标准：{scale}，同一信息被多级采用的分别计分。现将各单位"
            "报送及采用情况通报如下。"
        ),
        _p("一、各单位得分及排名", "h1"),
        _table(
            [
                *("排名", "单位", "报送", "采用"),
                *(f"{v}采用" for v in ADOPTION_LEVELS.values()),
                *("本月得分", "本年报送", "本年采用", "本年累计得分"),
            ],
            (
                [r["rank"], r["unit_name"], r["submitted"], r["adopted"]]
                + [r[level] for level in ADOPTION_LEVELS]
                + [f"{r['points']:g}", r["year_submitted"], r["year_adopted"]]
                + [f"{r['year_points']:g}"]
                for r in table
            ),
            [1.2, 5.5, 1.3, 1.3, 1.3, 1.3, 1.3, 1.6, 1.6, 1.6, 1.8],
            LANDSCAPE_WIDTH,
        ),
        _p("二、采用信息明细", "h1"),
        _table(
            ["采用日期", "单位", "标题", "级别", "得分", "说明"],
            (
                [
                    a.adopted_on.isoformat(),
                    a.submission.unit.name,
                    a.submission.title,
                    ADOPTION_LEVELS.get(a.level, a.level),
                    f"{a.points:g}",
                    a.note,
                ]
                for a in adoptions
            ),
            [2.2, 4.5, 6.5, 1.2, 1.2, 4],
            LANDSCAPE_WIDTH,
        ),
        *signature(office, today),
    ]
    return _document(story, name, office, landscape=True)
