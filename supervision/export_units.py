"""XLSX of the reports the units fill in or are scored by: a year's annual reports and a
month's information-submission table. The sheets are built with supervision.export's helper:
a frozen header row, column widths, a native chart where one helps."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from infra.clock import SHANGHAI
from supervision.annual import ENTERED, FIGURES, due_date
from supervision.export import PLATFORM_LABELS, _sheet
from supervision.models import ADOPTION_LEVELS, ANNUAL_STATUSES, Adoption, AnnualReport


def annual_xlsx(year: int, rows: list[AnnualReport], counts: dict[str, int]) -> bytes:
    """A year's annual reports (004 §13(五)) as the reader may see them, one row per account."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    _sheet(
        wb,
        "概况",
        ["项目", "数值"],
        [["年度", year], ["公开期限", due_date(year).isoformat()], ["报表数", len(rows)]]
        + [[label, counts.get(status, 0)] for status, label in ANNUAL_STATUSES.items()],
        [18, 20],
    )

    def entered(r, key: str):
        value = r.figures.get(key)
        return value if value is not None else getattr(r, key)

    _sheet(
        wb,
        "年度报表",
        [
            "单位",
            "账号",
            "平台",
            "状态",
            *FIGURES.values(),
            *ENTERED.values(),
            "机制保障",
            "公开时间",
        ],
        [
            [
                r.unit.name,
                r.account_name,
                PLATFORM_LABELS.get(r.platform, r.platform),
                ANNUAL_STATUSES.get(r.status, r.status),
                *(r.figures.get(k) for k in FIGURES),
                *(entered(r, k) for k in ENTERED),
                r.mechanisms,
                r.published_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
                if r.published_at
                else "",
            ]
            for r in rows
        ],
        [24, 20, 12, 8] + [10] * len(FIGURES) + [12] * len(ENTERED) + [48, 17],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def monthly_submissions_xlsx(
    month: dt.date, table: list[dict[str, Any]], adoptions: list[Adoption], points: dict[str, float]
) -> bytes:
    """The month's information-submission scores (002 §21): the units ranked with the year's
    running totals and a native bar chart, and the adoptions the reader may see."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    wb = Workbook()
    wb.remove(wb.active)
    _sheet(
        wb,
        "概况",
        ["项目", "数值"],
        [["月份", f"{month.year}年{month.month}月"]]
        + [[f"{label}采用分值", points[level]] for level, label in ADOPTION_LEVELS.items()]
        + [
            ["报送信息", sum(r["submitted"] for r in table)],
            ["采用信息", sum(r["adopted"] for r in table)],
        ],
        [18, 16],
    )
    ranked = _sheet(
        wb,
        "单位排名",
        [
            "排名",
            "单位",
            "报送",
            "采用",
            *(f"{v}采用" for v in ADOPTION_LEVELS.values()),
            "本月得分",
            "本年报送",
            "本年采用",
            "本年累计得分",
        ],
        [
            [
                r["rank"],
                r["unit_name"],
                r["submitted"],
                r["adopted"],
                *(r[level] for level in ADOPTION_LEVELS),
                r["points"],
                r["year_submitted"],
                r["year_adopted"],
                r["year_points"],
            ]
            for r in table
        ],
        [8, 28, 8, 8, 10, 10, 10, 10, 10, 10, 12],
    )
    if table:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "本月得分"
        n = len(table) + 1
        points_col = 5 + len(ADOPTION_LEVELS)
        chart.add_data(
            Reference(ranked, min_col=points_col, min_row=1, max_row=n), titles_from_data=True
        )
        chart.set_categories(Reference(ranked, min_col=2, min_row=2, max_row=n))
        chart.height = max(7.5, 0.6 * n)
        ranked.add_chart(chart, "M2")
    _sheet(
        wb,
        "采用明细",
        ["采用日期", "单位", "标题", "级别", "得分", "说明", "报送时间"],
        [
            [
                a.adopted_on.isoformat(),
                a.submission.unit.name,
                a.submission.title,
                ADOPTION_LEVELS.get(a.level, a.level),
                a.points,
                a.note,
                a.submission.submitted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            ]
            for a in adoptions
        ],
        [12, 28, 40, 8, 8, 30, 17],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
