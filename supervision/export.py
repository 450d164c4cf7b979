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


def _accounts_sheet(wb, title: str, posts: str, accounts: list[dict[str, Any]]) -> None:
    """The accounts' scores, with their vetoes and deductions (``posts``: the period's name of
    the posts column)."""
    _sheet(
        wb,
        title,
        ["单位", "账号", "平台", posts, "单项否决", "扣分项", "得分", "是否合格"],
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
            for r in accounts
        ],
        [24, 20, 12, 10, 30, 48, 8, 10],
    )


def _units_sheet(wb, units: list[dict[str, Any]], chart_title: str):
    """The units ranked, with a bar chart of their scores beside them. The chart is returned
    (None without units) for the report's own axis settings."""
    from openpyxl.chart import BarChart, Reference

    ws = _sheet(
        wb,
        "单位排名",
        ["排名", "单位", "账号数", "合格", "单项否决", "得分"],
        [
            [u["rank"], u["unit_name"], u["accounts"], u["passed"], u["vetoed"], u["score"]]
            for u in units
        ],
        [8, 28, 10, 8, 10, 8],
    )
    if not units:
        return None
    chart = BarChart()
    chart.type = "bar"
    chart.title = chart_title
    n = len(units) + 1
    chart.add_data(Reference(ws, min_col=6, min_row=1, max_row=n), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=n))
    chart.height = max(7.5, 0.6 * n)
    ws.add_chart(chart, "H2")
    return chart


def weekly_xlsx(report: Report, data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

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
    _accounts_sheet(wb, "账号", "本周发布", data["accounts"])
    chart = _units_sheet(wb, data["units"], "单位得分")
    if chart is not None:
        chart.y_axis.title = "得分"
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


def rectification_xlsx(
    report: Report, views: list[dict[str, Any]], counts: list[dict[str, Any]], today
) -> bytes:
    """A month's rectification list: its figures, the units' counts, the items (carried ones
    included) and the evidence of each, as the reader may see them."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    month = report.period_start
    total = {k: sum(c[k] for c in counts) for k in ("total", "new", "carried", "overdue")}
    _sheet(
        wb,
        "概况",
        ["项目", "数值"],
        [
            ["整改月份", f"{month.year}年{month.month}月"],
            ["评分细则版本", report.rubric_version],
            ["整改事项", total["total"]],
            ["本月新增", total["new"]],
            ["往月结转", total["carried"]],
            ["逾期", total["overdue"]],
            ["统计日期", today.isoformat()],
        ],
        [18, 30],
    )
    keys = ("total", "new", "carried", "open", "submitted", "overdue", "done", "done_late")
    names = ["单位", "事项", "本月新增", "往月结转", "待整改", "待核验", "逾期", "按期整改"]
    _sheet(
        wb,
        "单位",
        [*names, "逾期整改"],
        [[c["unit_name"], *(c[k] for k in keys)] for c in counts],
        [28, 8, 10, 10, 10, 10, 8, 10, 10],
    )
    header = ["编号", "单位", "账号", "问题", "类别", "数量", "扣分", "发现月份", "整改期限"]
    header += ["状态", "是否逾期", "整改情况", "上报日期", "退回次数"]
    _sheet(
        wb,
        "整改清单",
        header,
        [_rectify_row(v) for v in views],
        [8, 24, 20, 26, 10, 6, 6, 10, 12, 8, 8, 40, 12, 8],
    )
    _sheet(
        wb,
        "问题依据",
        ["编号", "单位", "账号", "问题", "依据", "引用", "日期"],
        [
            [v["id"], v["unit_name"], v["account_name"], v["label"], e["label"], e["ref"], e["at"]]
            for v in views
            for e in v["evidence"]
        ],
        [8, 24, 20, 26, 40, 14, 12],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rectify_row(v: dict[str, Any]) -> list[Any]:
    late = ("逾期整改" if v["status"] == "done" else "逾期") if v["overdue"] else ""
    return [
        v["id"],
        v["unit_name"],
        v["account_name"],
        v["label"],
        "单项否决" if v["kind"] == "veto" else "扣分",
        v["count"],
        v["points"],
        v["month_label"],
        v["due_on"].isoformat(),
        v["status_label"],
        late,
        v["note"],
        v["answered_on"].isoformat() if v["answered_on"] else "",
        v["returns"],
    ]


def _percent(value: float | None) -> float | None:
    """A rate kept in the data as 92.5 becomes 0.925, shown by Excel as 92.5%."""
    return None if value is None else round(value / 100, 4)


def _percent_column(ws, column: int) -> None:
    for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
        cell.number_format = "0.0%"


def bulletin_xlsx(report: Report, data: dict[str, Any]) -> bytes:
    """The quarterly bulletin's tables: the figures, units ranked (with a bar chart), accounts,
    vetoes, problems, letters per unit (with the total), and the two trends (with a line and a
    bar chart)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference

    wb = Workbook()
    wb.remove(wb.active)
    t = data["letters"]["total"]
    rect = data.get("rectification")
    _sheet(
        wb,
        "概况",
        ["项目", "数值"],
        [
            ["通报", f"{data['year']}年第{data['quarter']}季度"],
            ["检查期间", f"{report.period_start} 至 {report.period_end}"],
            ["状态", "已印发" if report.status == "issued" else "草稿"],
            ["评分细则版本", report.rubric_version],
            ["检查账号数", data["checked"]],
            ["合格账号数", data["passed"]],
            ["合格率", _percent(data["pass_rate"])],
            ["单项否决账号数", data["vetoed"]],
            ["收到留言", t["received"]],
            ["按期答复", t["on_time"]],
            ["逾期答复", t["late"]],
            ["逾期未答复", t["overdue"]],
            ["按期答复率", _percent(t["on_time_rate"])],
            ["往期逾期未答复", t["earlier_overdue"]],
            ["群众评价", t["rated"]],
            ["满意率", _percent(t["satisfaction"])],
            ["到期整改事项", rect["due"] if rect else "未纳入统计"],
            ["按期完成整改", rect["on_time"] if rect else None],
            ["按期整改率", _percent(rect["on_time_rate"]) if rect else None],
        ],
        [18, 30],
    )
    ws = wb["概况"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in ("合格率", "按期答复率", "满意率", "按期整改率"):
            row[1].number_format = "0.0%"
    chart = _units_sheet(wb, data["units"], "各单位得分")
    if chart is not None:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.x_axis.scaling.orientation = "maxMin"  # the first ranked at the top
    accounts = sorted(data["accounts"], key=lambda r: (r["passed"], r["score"]))
    _accounts_sheet(wb, "账号得分", "季度发布", accounts)
    _sheet(
        wb,
        "单项否决",
        ["单位", "账号", "平台", "问题", "依据"],
        [
            [
                v["unit_name"],
                v["name"],
                PLATFORM_LABELS.get(v["platform"], v["platform"]),
                "；".join(v["problems"]),
                "；".join(f"{e['label']} {e['ref']}".strip() for e in v["evidence"]),
            ]
            for v in data["vetoes"]
        ],
        [24, 20, 12, 30, 48],
    )
    _sheet(
        wb,
        "扣分问题",
        ["单位", "账号", "平台", "问题", "数量", "扣分"],
        [
            [
                p["unit_name"],
                p["name"],
                PLATFORM_LABELS.get(p["platform"], p["platform"]),
                p["label"],
                p["count"],
                p["points"],
            ]
            for p in data["problems"]
        ],
        [24, 20, 12, 24, 8, 8],
    )
    if rect:
        fixes = _sheet(
            wb,
            "整改落实",
            ["单位", "到期事项", "按期完成", "逾期完成", "尚未完成", "按期整改率"],
            [
                [
                    u["unit_name"],
                    u["due"],
                    u["on_time"],
                    u["late"],
                    u["open"],
                    _percent(u["on_time_rate"]),
                ]
                for u in [*rect["units"], {**rect, "unit_name": "合计"}]
            ],
            [28, 10, 10, 10, 10, 12],
        )
        _percent_column(fixes, 6)
    columns = [
        "received",
        "on_time",
        "late",
        "overdue",
        "pending",
        "declined",
        "earlier_overdue",
        "rated",
        "satisfied",
    ]
    letters = _sheet(
        wb,
        "留言办理",
        [
            "单位",
            "收到",
            "按期答复",
            "逾期答复",
            "逾期未答复",
            "办理中",
            "不予受理",
            "往期逾期未答复",
            "评价",
            "满意",
            "按期答复率",
            "满意率",
        ],
        [
            [
                u["unit_name"],
                *(u[c] for c in columns),
                _percent(u["on_time_rate"]),
                _percent(u["satisfaction"]),
            ]
            for u in [*data["letters"]["units"], {**t, "unit_name": "合计"}]
        ],
        [28, 8, 10, 10, 12, 8, 10, 14, 8, 8, 12, 10],
    )
    _percent_column(letters, 11)
    _percent_column(letters, 12)
    trend = _sheet(
        wb,
        "发布趋势",
        ["周（周一）", "发布条数", "有更新的账号"],
        [[w["week"], w["posts"], w["active"]] for w in data["activity"]],
        [14, 10, 14],
    )
    if data["activity"]:
        line = LineChart()
        line.title = f"近 {len(data['activity'])} 周发布情况"
        n = len(data["activity"]) + 1
        line.add_data(
            Reference(trend, min_col=2, max_col=3, min_row=1, max_row=n), titles_from_data=True
        )
        line.set_categories(Reference(trend, min_col=1, min_row=2, max_row=n))
        trend.add_chart(line, "E2")
    quarters = _sheet(
        wb,
        "留言按期趋势",
        ["季度", "收到", "按期答复", "逾期答复", "逾期未答复", "按期答复率"],
        [
            [q["label"], q["received"], q["on_time"], q["late"], q["overdue"], _percent(q["rate"])]
            for q in data["letters_trend"]
        ],
        [16, 8, 10, 10, 12, 12],
    )
    _percent_column(quarters, 6)
    if data["letters_trend"]:
        bars = BarChart()
        bars.type = "col"
        bars.grouping = "stacked"
        bars.overlap = 100
        bars.title = "近四个季度留言按期答复情况"
        n = len(data["letters_trend"]) + 1
        bars.add_data(
            Reference(quarters, min_col=3, max_col=5, min_row=1, max_row=n), titles_from_data=True
        )
        bars.set_categories(Reference(quarters, min_col=1, min_row=2, max_row=n))
        quarters.add_chart(bars, "H2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
