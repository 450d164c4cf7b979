"""Reports as XLSX: one sheet per table, a frozen header row, column widths, and a native
Excel chart where one helps. The same figures as the page; evidence by reference, never a
letter writer's identity."""

from __future__ import annotations

import io
from typing import Any

from supervision.models import Report

PLATFORM_LABELS = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "telegram": "Telegram",
    "app": "客户端",
}


def _sheet(wb, title: str, header: list[str], rows: list[list[Any]], widths: list[int]):
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F2F4F7")
        cell.alignment = Alignment(vertical="center")
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    return ws


def weekly_xlsx(report: Report, data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    wb = Workbook()
    wb.remove(wb.active)
    period = f"{report.period_start} 至 {report.period_end}"
    _sheet(
        wb,
        "概况",
        ["项目", "数值"],
        [
            ["巡查周期", period],
            ["评分细则版本", report.rubric_version],
            ["检查账号数", data["checked"]],
            ["合格账号数", data["passed"]],
            ["单项否决账号数", data["vetoed"]],
        ],
        [18, 30],
    )
    _sheet(
        wb,
        "账号",
        ["单位", "账号", "平台", "本周发布", "单项否决", "扣分项", "得分", "是否合格"],
        [
            [
                r["unit_name"],
                r["name"],
                PLATFORM_LABELS.get(r["platform"], r["platform"]),
                r["posts"],
                "；".join(v["label"] for v in r["vetoes"]),
                "；".join(
                    f"{d['label']} {d['count']} 项 -{d['points']:g}" for d in r["deductions"]
                ),
                r["score"],
                "合格" if r["passed"] else "不合格",
            ]
            for r in data["accounts"]
        ],
        [24, 20, 12, 10, 30, 48, 8, 10],
    )
    units = _sheet(
        wb,
        "单位排名",
        ["排名", "单位", "账号数", "合格", "单项否决", "得分"],
        [
            [u["rank"], u["unit_name"], u["accounts"], u["passed"], u["vetoed"], u["score"]]
            for u in data["units"]
        ],
        [8, 28, 10, 8, 10, 8],
    )
    if data["units"]:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "单位得分"
        chart.y_axis.title = "得分"
        n = len(data["units"]) + 1
        chart.add_data(Reference(units, min_col=6, min_row=1, max_row=n), titles_from_data=True)
        chart.set_categories(Reference(units, min_col=2, min_row=2, max_row=n))
        chart.height = max(7.5, 0.6 * n)
        units.add_chart(chart, "H2")
    _sheet(
        wb,
        "扣分依据",
        ["单位", "账号", "类别", "项目", "依据", "编号", "日期"],
        [
            [r["unit_name"], r["name"], kind, f["label"], e["label"], e["ref"], e["at"]]
            for r in data["accounts"]
            for kind, items in (("单项否决", r["vetoes"]), ("扣分", r["deductions"]))
            for f in items
            for e in f["evidence"]
        ],
        [24, 20, 10, 22, 40, 14, 12],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
